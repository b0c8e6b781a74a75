import { type ApiAccount, PROGRESS_SYNC_TYPES } from '../api/types.js';
import { formatNumber } from '../ui/format.js';

/**
 * The history sync in words, from the account's fields (README, Data model, "History sync"): pure, so
 * the accounts list, the sync view and the tests read it the same way.
 */

/** The status as a badge: the stall flag first (it is orthogonal to the status), then the status. */
export function historySyncSummary(a: ApiAccount): { tone: 'ok' | 'warn' | 'bad' | 'idle'; text: string } {
  if (a.historySyncStalled) return { tone: 'bad', text: 'stalled' };
  switch (a.historySyncStatus) {
    case 'complete':
      return { tone: 'ok', text: 'complete' };
    case 'running':
      return { tone: 'warn', text: 'running' };
    case 'paused':
      return { tone: 'warn', text: 'paused' };
    case 'waiting':
      return { tone: 'idle', text: 'waiting for the phone' };
    default:
      break;
  }
  // A server older than the history-sync status: what the counters say.
  if ((a.historySyncCount ?? 0) > 0 || a.lastHistorySyncAt) return { tone: 'ok', text: 'received' };
  return { tone: 'idle', text: 'nothing yet' };
}

/**
 * `historySyncProgress` per sync type, RECENT then FULL, for the types that reported one: "RECENT 100 %,
 * FULL 40 %". Empty before the first RECENT chunk.
 */
export function historySyncProgressText(a: Pick<ApiAccount, 'historySyncProgress'>): string {
  const p = a.historySyncProgress;
  if (!p) return '';
  return PROGRESS_SYNC_TYPES.flatMap((t) => {
    const v = p[t];
    return typeof v === 'number' && Number.isFinite(v) ? [`${t} ${Math.round(v)} %`] : [];
  }).join(', ');
}

/** The order WhatsApp sends a new device its sync types in; others (rarer ones) follow by name. */
const SENT_ORDER = ['INITIAL_BOOTSTRAP', 'INITIAL_STATUS_V3', 'PUSH_NAME', 'RECENT', 'FULL'];

/**
 * Chunks per sync type, in the order WhatsApp sends them: "INITIAL_BOOTSTRAP 1, PUSH_NAME 1, RECENT 4".
 * Sorted here because a stored map's key order is not part of the contract (Firestore sorts them).
 */
export function historySyncChunksText(a: Pick<ApiAccount, 'historySyncChunks'>): string {
  const rank = (t: string): number => {
    const i = SENT_ORDER.indexOf(t);
    return i === -1 ? SENT_ORDER.length : i;
  };
  return Object.entries(a.historySyncChunks ?? {})
    .sort(([x], [y]) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0))
    .map(([t, n]) => `${t} ${formatNumber(n)}`)
    .join(', ');
}

/** The last chunk's time: the status's own field, else the older counter's. */
export function lastChunkAt(a: ApiAccount): string | null {
  return a.historySyncLastChunkAt ?? a.lastHistorySyncAt ?? null;
}
