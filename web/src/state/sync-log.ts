import { type ApiAccount, PROGRESS_SYNC_TYPES } from '../api/types.js';
import type { LiveEvent } from '../live/events.js';
import { formatNumber } from '../ui/format.js';

export interface LogLine {
  at: number;
  text: string;
}

const KEPT = 50;

/**
 * The sync view's event list, per account, newest first, since the page opened. Filled from the
 * account's own fields (every move of the history-sync counter, of its progress per sync type, of its
 * status and stall flag, every new backfill or recent-sync run with its result), which works with
 * polling and with the feed alike, and from the feed's sync events when there is a feed.
 */
export function logFromAccount(prev: ApiAccount | undefined, next: ApiAccount): string[] {
  if (!prev) return [];
  const out: string[] = [];
  const added = (next.historySyncCount ?? 0) - (prev.historySyncCount ?? 0);
  if (added > 0) {
    const last = next.lastHistorySyncResult;
    out.push(
      `History sync: +${formatNumber(added)} messages` +
        (last
          ? ` (last chunk: ${formatNumber(last.saved)} saved, ${formatNumber(last.skipped)} skipped of ${formatNumber(last.total)})`
          : ''),
    );
  }
  for (const t of PROGRESS_SYNC_TYPES) {
    const was = prev.historySyncProgress?.[t] ?? null;
    const now = next.historySyncProgress?.[t] ?? null;
    // A new pairing resets the progress to null: that is the status line's news, not a progress line.
    if (now !== null && now !== was) out.push(`History sync ${t}: ${Math.round(now)} %`);
  }
  if (next.historySyncStatus && prev.historySyncStatus && next.historySyncStatus !== prev.historySyncStatus) {
    out.push(`History sync ${next.historySyncStatus}`);
  }
  if (next.historySyncStalled && !prev.historySyncStalled) out.push('History sync stalled: no chunk for a while');
  const r = next.lastBackfillResult;
  if (next.lastBackfillAt && next.lastBackfillAt !== prev.lastBackfillAt && r) {
    out.push(`Backfill: ${formatNumber(r.messages)} messages in ${formatNumber(r.threads)} threads, ${formatNumber(r.errors)} errors`);
  }
  if (next.lastRecentSyncAt && next.lastRecentSyncAt !== prev.lastRecentSyncAt && next.lastRecentSyncResult) {
    out.push(`Recent sync: ${formatNumber(next.lastRecentSyncResult.messages)} messages`);
  }
  return out;
}

/** A feed's sync event as one line; null for the events the log does not list. */
export function logFromEvent(e: LiveEvent): string | null {
  if (e.event !== 'history-sync.progress' && e.event !== 'backfill.progress' && e.event !== 'backfill.completed') return null;
  const parts: string[] = [];
  for (const key of ['syncType', 'progress', 'chunkOrder', 'saved', 'messages', 'threads', 'errors', 'status']) {
    const v = e.data[key];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') parts.push(`${key} ${v}`);
  }
  const label = e.event === 'history-sync.progress' ? 'History chunk' : e.event === 'backfill.completed' ? 'Backfill done' : 'Backfill';
  return parts.length ? `${label}: ${parts.join(', ')}` : label;
}

export function appendLog(
  log: ReadonlyMap<string, readonly LogLine[]>,
  accountId: string,
  texts: readonly string[],
  at = Date.now(),
): ReadonlyMap<string, readonly LogLine[]> {
  if (texts.length === 0) return log;
  const lines = [...texts.map((text) => ({ at, text })).reverse(), ...(log.get(accountId) ?? [])].slice(0, KEPT);
  return new Map(log).set(accountId, lines);
}
