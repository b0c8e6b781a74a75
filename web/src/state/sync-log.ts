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

/** A feed's sync event as one line (README, Live events: the `data` of each); null for the events the log does not list. */
export function logFromEvent(e: LiveEvent): string | null {
  const d = e.data as Record<string, unknown>;
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null);
  switch (e.event) {
    case 'history-sync.progress': {
      // { status: "chunk", syncType, progress, chunk: { saved, skipped, errors, total } },
      // or { status: "complete" | "paused", syncType, explicit }
      const type = str(d.syncType) ?? 'history';
      if (d.status === 'complete' || d.status === 'paused') {
        return `History sync ${type} ${d.status}${d.explicit === false ? ' (inferred by Baileys)' : ''}`;
      }
      const parts: string[] = [];
      const progress = num(d.progress);
      if (progress !== null) parts.push(`${progress} %`);
      const chunk = obj(d.chunk);
      if (chunk) {
        parts.push(`${formatNumber(num(chunk.saved) ?? 0)} saved`, `${formatNumber(num(chunk.skipped) ?? 0)} skipped`);
        if ((num(chunk.errors) ?? 0) > 0) parts.push(`${formatNumber(num(chunk.errors) ?? 0)} errors`);
      }
      return `History chunk ${type}${parts.length ? `: ${parts.join(', ')}` : ''}`;
    }
    case 'backfill.progress': {
      // { reason, kind, threadId, messages, error, threadsDone, threadsTotal }
      const what = d.kind === 'recentSync' ? 'Recent sync' : 'Backfill';
      const parts = [`${formatNumber(num(d.messages) ?? 0)} messages`];
      const done = num(d.threadsDone);
      const total = num(d.threadsTotal);
      if (done !== null && total !== null) parts.push(`thread ${formatNumber(done)} of ${formatNumber(total)}`);
      const error = str(d.error);
      if (error) parts.push(`error ${error}`);
      return `${what} (${str(d.reason) ?? 'manual'}): ${parts.join(', ')}`;
    }
    case 'backfill.completed': {
      // { reason, kind, result: { threads, messages, errors }, completedAt }
      const what = d.kind === 'recentSync' ? 'Recent sync done' : 'Backfill done';
      const r = obj(d.result);
      if (!r) return `${what} (${str(d.reason) ?? 'manual'})`;
      return (
        `${what} (${str(d.reason) ?? 'manual'}): ${formatNumber(num(r.messages) ?? 0)} messages in ` +
        `${formatNumber(num(r.threads) ?? 0)} threads, ${formatNumber(num(r.errors) ?? 0)} errors`
      );
    }
    default:
      return null;
  }
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
