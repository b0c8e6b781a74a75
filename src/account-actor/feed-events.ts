import { proto } from '@whiskeysockets/baileys';
import type { BackfillProgress, ChangeEvent, HistorySyncProgress } from '../domain/change-events.js';
import type { BackfillResult, HistorySyncResult } from '../domain/records.js';
import type { BackfillCommand, BackfillRecord } from './protocol.js';

/**
 * The change-log events the actor adds itself (the store derives message, thread and account events
 * from what it writes): history-sync progress and backfill progress. Each is written in the same
 * transaction as the account fields it accompanies (`recordHistorySync`, `patchAccount`), or on its
 * own when there are none (`appendChanges`).
 */

export function syncTypeName(syncType: number | null | undefined): string | null {
  if (syncType === null || syncType === undefined) return null;
  return proto.HistorySync.HistorySyncType[syncType] ?? String(syncType);
}

/** One history chunk stored (`messaging-history.set`). */
export function historyChunkEvent(syncType: number | null, progress: number | null, chunk: HistorySyncResult): ChangeEvent {
  const data: HistorySyncProgress = { syncType: syncTypeName(syncType), progress, status: 'chunk', explicit: null, chunk };
  return { type: 'history-sync.progress', data };
}

/** Baileys' `messaging-history.status`: a sync phase completed, or stalled (`paused`). */
export function historyStatusEvent(syncType: number, status: 'complete' | 'paused', explicit: boolean): ChangeEvent {
  const data: HistorySyncProgress = {
    syncType: syncTypeName(syncType),
    progress: status === 'complete' && explicit ? 100 : null,
    status,
    explicit,
    chunk: null,
  };
  return { type: 'history-sync.progress', data };
}

export function backfillProgressEvent(
  cmd: Pick<Required<BackfillCommand>, 'reason' | 'record'>,
  thread: { threadId: string; messages: number; error?: string },
  threadsDone: number,
  threadsTotal: number,
): ChangeEvent {
  const data: BackfillProgress = {
    reason: cmd.reason,
    kind: cmd.record,
    threadId: thread.threadId,
    messages: thread.messages,
    error: thread.error ?? null,
    threadsDone,
    threadsTotal,
  };
  return { type: 'backfill.progress', data };
}

export function backfillCompletedEvent(
  reason: BackfillCommand['reason'],
  kind: BackfillRecord,
  result: BackfillResult,
  completedAt: number,
): ChangeEvent {
  return { type: 'backfill.completed', data: { reason, kind, result, completedAt } };
}
