import type { WASocket } from '@whiskeysockets/baileys';
import { downloadStoredMedia, hasDownloadableMedia, httpStatusOf, isExpiredMediaError } from '../connectors/baileys/media.js';
import { NotFoundError, RangeNotSatisfiableError, WasyncError } from '../domain/errors.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import type { MediaRange, MediaStream } from './service.js';

/**
 * The bytes to serve for a requested range, `end` inclusive; null means the whole file (200).
 * Without a known size only an explicit `start-end` can be honoured: an open or suffix range then gets
 * the whole file, which HTTP allows (a server may ignore `Range`) and every client handles.
 */
export function resolveRange(range: MediaRange | undefined, size: number | null): { start: number; end: number } | null {
  if (!range) return null;
  if (size === null) {
    if ('suffix' in range || range.end === undefined) return null;
    return { start: range.start, end: range.end };
  }
  if ('suffix' in range) {
    if (range.suffix === 0 || size === 0)
      throw new RangeNotSatisfiableError(`range asks for the last ${range.suffix} bytes of a ${size}-byte file`, size);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) throw new RangeNotSatisfiableError(`range starts at byte ${range.start} but the file has ${size} bytes`, size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

export interface OpenMediaOptions {
  store: Store;
  logger: Logger;
  accountId: string;
  messageId: string;
  range?: MediaRange | undefined;
  /** Connector of accounts stored without one (they predate the field): the process's own. */
  defaultConnector: string;
  /**
   * Asks the phone to re-upload expired media. The supervisor passes a proxy to the account actor's
   * command (the live socket is in the actor's thread); route tests pass a socket double.
   */
  socket: Pick<WASocket, 'updateMediaMessage'>;
}

/**
 * Opens a stored message's media for the HTTP side: the download and decryption run in the calling
 * thread and stream straight to the response, so only the re-upload request crosses to the actor.
 *
 * A refreshed reference (after a re-upload) lives only as long as this download: the store keeps the
 * original one, and a later download that finds it expired again asks the phone again. Writing it
 * back would mean a second writer of message rows next to the actor's batch writer, for a saving
 * (one re-upload round trip) that only matters to media fetched repeatedly.
 */
export async function openStoredMedia(o: OpenMediaOptions): Promise<MediaStream> {
  const account = await o.store.getAccount(o.accountId);
  if (!account) throw new NotFoundError(`account ${o.accountId} not found`);
  const record = await o.store.getMessage(o.accountId, o.messageId);
  if (!record) throw new NotFoundError(`message ${o.messageId} not found`);
  if ((account.connector ?? o.defaultConnector) === 'sim') {
    throw new WasyncError(
      'MEDIA_UNAVAILABLE',
      `account ${o.accountId} runs on the simulated phone, which holds no media files: its media references point to nothing`,
    );
  }
  if (!hasDownloadableMedia(record)) {
    throw new WasyncError('MEDIA_UNAVAILABLE', `message ${o.messageId} has no downloadable media (it is a ${record.messageType} message)`);
  }
  const size = record.media?.fileLength ?? record.mediaSize ?? null;
  const range = resolveRange(o.range, size);
  try {
    const media = await downloadStoredMedia(o.socket, record, o.logger, range ? { startByte: range.start, endByte: range.end + 1 } : {});
    return { stream: media.stream, mimetype: media.mimetype, fileName: media.fileName, size, range };
  } catch (err) {
    throw asMediaError(err, o);
  }
}

/** CDN failures get their own codes; the actor's errors (typed) and bugs (500) pass through. */
function asMediaError(err: unknown, o: OpenMediaOptions): unknown {
  if (err instanceof WasyncError) return err;
  const status = httpStatusOf(err);
  const fetchFailed = err instanceof TypeError && err.message === 'fetch failed';
  if (status === null && !fetchFailed) return err;
  o.logger.warn({ err, accountId: o.accountId, messageId: o.messageId }, 'media download failed');
  if (isExpiredMediaError(err)) {
    // downloadStoredMedia already asked the phone for a new copy: this is the new copy failing too.
    return new WasyncError(
      'MEDIA_UNAVAILABLE',
      `the media expired on WhatsApp's media server and its re-uploaded copy could not be fetched (HTTP ${status})`,
    );
  }
  // Neither message includes the URL: it carries the CDN's access tokens.
  return new WasyncError(
    'MEDIA_DOWNLOAD_FAILED',
    status === null ? "could not reach WhatsApp's media server" : `WhatsApp's media server answered HTTP ${status}`,
  );
}
