import type { BaileysEventMap } from '@whiskeysockets/baileys';
import { BatchWriter } from '../src/account-actor/batch-writer.js';
import type { MessageRecord } from '../src/domain/records.js';
import { applyJidMappings, mapHistorySet, mapResolver, type IngestContext } from '../src/ingest/index.js';
import type { Store } from '../src/store/port.js';

/** What the ingest benchmarks share: history chunks through mapping alone, or through the whole pipeline into a store. */
export type HistoryChunk = BaileysEventMap['messaging-history.set'];

function ctxFor(accountId: string, lidToPn: Map<string, string>, chunk: HistoryChunk): IngestContext {
  return { accountId, now: Date.now(), source: 'history_sync', syncType: chunk.syncType ?? null, resolver: mapResolver(lidToPn) };
}

/** Maps every chunk as the actor does (LID pairings carried across chunks) and keeps the message records. */
export function mapHistory(accountId: string, chunks: readonly HistoryChunk[]): { records: MessageRecord[]; seconds: number } {
  const lidToPn = new Map<string, string>();
  const records: MessageRecord[] = [];
  const started = performance.now();
  for (const chunk of chunks) {
    const batch = mapHistorySet(chunk, ctxFor(accountId, lidToPn, chunk));
    applyJidMappings(lidToPn, batch.mutations);
    for (const m of batch.mutations) if (m.kind === 'message') records.push(m.record);
  }
  return { records, seconds: (performance.now() - started) / 1000 };
}

/**
 * Mapping + the batch writer + `store`, the way the actor feeds them: every chunk submitted as it is
 * mapped, timed until the last submission has committed. Throws when any write failed.
 */
export async function ingestHistory(
  store: Store,
  accountId: string,
  chunks: readonly HistoryChunk[],
  label: string,
): Promise<{ seconds: number; transactions: number }> {
  let transactions = 0;
  const writer = new BatchWriter({
    store,
    accountId,
    maxOps: 500,
    flushMs: 5,
    dryRun: false,
    onFlush: () => {
      transactions += 1;
    },
  });
  const lidToPn = new Map<string, string>();
  const started = performance.now();
  const pending = chunks.map((chunk) => {
    const batch = mapHistorySet(chunk, ctxFor(accountId, lidToPn, chunk));
    applyJidMappings(lidToPn, batch.mutations);
    return writer.submit(batch.mutations, { history: true });
  });
  const outcomes = await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  await writer.close(10_000);
  const errors = outcomes.reduce((n, o) => n + o.errors, 0);
  if (errors > 0)
    throw new Error(`${label}: the pipeline reported ${errors} errors (${outcomes.find((o) => o.firstError)?.firstError ?? ''})`);
  return { seconds, transactions };
}
