import { Readable } from 'node:stream';
import type { MessageScanKey, Store } from '../store/port.js';
import { CSV_HEADER, csvRecord, exportLine, jsonLine, type ExportFormat } from './export-format.js';

export interface ExportRequest {
  accountId: string;
  format: ExportFormat;
  threadId: string | null;
  since: number | null;
}

/**
 * Messages per store read. A SQLite page is read synchronously on the HTTP thread (about 10-30 µs a
 * message): 200 keeps each read to a few milliseconds, so other requests are not held up behind an export.
 */
export const EXPORT_PAGE = 200;

export type ExportResult = 'complete' | 'aborted' | 'failed';

export interface ExportObserver {
  /** After each page is handed to the response: the rows it held. */
  rows(count: number): void;
  /** Once, when the export ends: read to the end, stopped (client gone), or failed. */
  finished(result: ExportResult, rows: number, err?: unknown): void;
}

/**
 * The export's body as a byte stream over `Store.scanMessages`: one keyset page (`EXPORT_PAGE` messages) read,
 * encoded and handed on at a time. Pulled, never pushed: the next page is read only when the consumer
 * (the Responder, paused while uWS reports backpressure) wants more, so a slow client holds about one
 * page in memory however large the account. Destroying the stream (the client went away) ends the
 * generator at its next step: no page is read after that.
 */
export function exportStream(store: Store, req: ExportRequest, observer: ExportObserver, pageSize = EXPORT_PAGE): Readable {
  const encode = req.format === 'csv' ? csvRecord : jsonLine;
  let rows = 0;
  let result: ExportResult = 'aborted';
  let failure: unknown;
  async function* lines(): AsyncGenerator<string> {
    try {
      if (req.format === 'csv') yield CSV_HEADER;
      let after: MessageScanKey | null = null;
      do {
        const page = await store.scanMessages(req.accountId, { threadId: req.threadId, since: req.since, after, limit: pageSize });
        if (page.items.length > 0) {
          let chunk = '';
          for (const { threadId, message } of page.items) chunk += encode(exportLine(threadId, message));
          rows += page.items.length;
          observer.rows(page.items.length);
          yield chunk;
        }
        after = page.next;
      } while (after !== null);
      result = 'complete';
    } catch (err) {
      result = 'failed';
      failure = err;
      throw err;
    } finally {
      observer.finished(result, rows, failure);
    }
  }
  // Byte mode with the default high-water mark: a page (~0.2 MB) is over it, so the stream holds at
  // most the page being written and the next one.
  return Readable.from(lines(), { objectMode: false });
}
