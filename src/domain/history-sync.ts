import type { AccountPatch, AccountRecord, HistorySyncProgress, HistorySyncStatus } from './records.js';

export { HISTORY_SYNC_STATUSES, type HistorySyncProgress, type HistorySyncStatus } from './records.js';

/**
 * The history sync an operator can watch (README, Data model: "History sync"): what WhatsApp sends
 * a newly linked device, in chunks by sync type (INITIAL_BOOTSTRAP, PUSH_NAME, RECENT with progress,
 * then FULL with progress when the full history was asked for). Pure state and transitions; the actor's
 * `HistorySyncTracker` feeds them and writes the result on the account.
 *
 * - `waiting`: a device was linked (or the account never synced) and no chunk has arrived yet.
 * - `running`: chunks arrive and RECENT (or FULL, once started) has not reached 100 %.
 * - `paused`: Baileys saw no RECENT chunk for 120 s before RECENT completed (`messaging-history.status`
 *   `paused`); a later chunk makes it `running` again.
 * - `complete`: RECENT reached 100 % (its chunk's progress, or Baileys' `complete` for RECENT) and FULL
 *   either did not start or reached 100 %. A FULL chunk after that reopens it (`running`) until FULL
 *   reaches 100 %: WhatsApp sends FULL after RECENT, and only when the full history was asked for.
 *
 * `stalled` is ours, orthogonal to the status: no chunk for `HISTORY_SYNC_STALL_MS` while connected
 * and not complete. It is cleared by the next chunk.
 */

export interface HistorySyncState {
  status: HistorySyncStatus;
  progress: HistorySyncProgress;
  /** Chunks received per sync type name (`INITIAL_BOOTSTRAP`, `PUSH_NAME`, `RECENT`, `FULL`, …), on-demand ones excluded. */
  chunks: Record<string, number>;
  /** Messages this sync stored that were not stored before. */
  messagesSaved: number;
  startedAt: number | null;
  updatedAt: number | null;
  lastChunkAt: number | null;
  completedAt: number | null;
  stalled: boolean;
  stalledAt: number | null;
}

/** What metrics count per account: its status and stall flag. */
export interface HistorySyncSummary {
  status: HistorySyncStatus;
  stalled: boolean;
}

export interface HistoryChunkInfo {
  /** Sync type name; ON_DEMAND chunks are backfill answers and never reach the tracker. */
  syncType: string;
  /** The chunk's `progress` (RECENT and FULL carry one), else null. */
  progress: number | null;
  /** Messages of the chunk newly stored. */
  saved: number;
}

export interface HistoryPhaseStatus {
  syncType: string;
  status: 'complete' | 'paused';
}

const PROGRESS_PHASES = ['RECENT', 'FULL'] as const;

export function emptyHistorySync(status: HistorySyncStatus, now: number | null): HistorySyncState {
  return {
    status,
    progress: { RECENT: null, FULL: null },
    chunks: {},
    messagesSaved: 0,
    startedAt: null,
    updatedAt: now,
    lastChunkAt: null,
    completedAt: null,
    stalled: false,
    stalledAt: null,
  };
}

/**
 * The state stored on an account. An account without the fields (created before this version) is
 * `complete` when it has synced before, so that a long-synced account is never reported as stalled.
 */
export function historySyncOf(a: AccountRecord): HistorySyncState {
  if (!a.historySyncStatus) {
    const synced = a.lastHistorySyncAt != null;
    return { ...emptyHistorySync(synced ? 'complete' : 'waiting', a.lastHistorySyncAt ?? null), completedAt: a.lastHistorySyncAt ?? null };
  }
  return {
    status: a.historySyncStatus,
    progress: { RECENT: a.historySyncProgress?.RECENT ?? null, FULL: a.historySyncProgress?.FULL ?? null },
    chunks: { ...(a.historySyncChunks ?? {}) },
    messagesSaved: a.historySyncMessagesSaved ?? 0,
    startedAt: a.historySyncStartedAt ?? null,
    updatedAt: a.historySyncUpdatedAt ?? null,
    lastChunkAt: a.historySyncLastChunkAt ?? null,
    completedAt: a.historySyncCompletedAt ?? null,
    stalled: a.historySyncStalled ?? false,
    stalledAt: a.historySyncStalledAt ?? null,
  };
}

/** Every history-sync field of the account, as one patch (a snapshot replaces the stored maps whole). */
export function historySyncPatch(s: HistorySyncState): AccountPatch {
  return {
    historySyncStatus: s.status,
    historySyncProgress: { ...s.progress },
    historySyncChunks: { ...s.chunks },
    historySyncMessagesSaved: s.messagesSaved,
    historySyncStartedAt: s.startedAt,
    historySyncUpdatedAt: s.updatedAt,
    historySyncLastChunkAt: s.lastChunkAt,
    historySyncCompletedAt: s.completedAt,
    historySyncStalled: s.stalled,
    historySyncStalledAt: s.stalledAt,
  };
}

/** A device was linked: WhatsApp will send it a new history sync. */
export function onNewLogin(_s: HistorySyncState, now: number): HistorySyncState {
  return emptyHistorySync('waiting', now);
}

export function onChunk(s: HistorySyncState, chunk: HistoryChunkInfo, now: number): HistorySyncState {
  const progress = { ...s.progress };
  const phase = PROGRESS_PHASES.find((p) => p === chunk.syncType);
  if (phase && chunk.progress !== null && Number.isFinite(chunk.progress)) {
    const pct = Math.max(0, Math.min(100, Math.round(chunk.progress)));
    // Chunks can be delivered out of order (a replayed one after a restart): progress never goes back.
    progress[phase] = Math.max(progress[phase] ?? 0, pct);
  }
  const next: HistorySyncState = {
    ...s,
    progress,
    chunks: { ...s.chunks, [chunk.syncType]: (s.chunks[chunk.syncType] ?? 0) + 1 },
    messagesSaved: s.messagesSaved + Math.max(0, chunk.saved),
    startedAt: s.startedAt ?? now,
    updatedAt: now,
    lastChunkAt: now,
    stalled: false,
    stalledAt: null,
  };
  return settle(next, now, progress.RECENT !== s.progress.RECENT || progress.FULL !== s.progress.FULL);
}

/** Baileys' `messaging-history.status`: `complete` per phase, or RECENT `paused` after 120 s without a chunk. */
export function onPhaseStatus(s: HistorySyncState, e: HistoryPhaseStatus, now: number): HistorySyncState {
  if (e.syncType !== 'RECENT') return s;
  if (e.status === 'complete') {
    return settle({ ...s, progress: { ...s.progress, RECENT: 100 }, updatedAt: now }, now, s.progress.RECENT !== 100);
  }
  if (s.status === 'complete') return s;
  return { ...s, status: 'paused', updatedAt: now };
}

/**
 * Flags a sync that stopped moving: not complete, connected since `connectedAt`, and no chunk (or,
 * while waiting, nothing at all) since `stallMs`. Returns the same object when nothing changes.
 */
export function checkStall(s: HistorySyncState, o: { now: number; connectedAt: number | null; stallMs: number }): HistorySyncState {
  if (s.status === 'complete' || s.stalled || o.connectedAt === null) return s;
  const quietSince = Math.max(s.lastChunkAt ?? s.updatedAt ?? 0, o.connectedAt);
  if (o.now - quietSince < o.stallMs) return s;
  return { ...s, stalled: true, stalledAt: o.now, updatedAt: o.now };
}

/** When the stall check would next fire, for the tracker's timer; null when it cannot. */
export function stallDueAt(s: HistorySyncState, o: { connectedAt: number | null; stallMs: number }): number | null {
  if (s.status === 'complete' || s.stalled || o.connectedAt === null) return null;
  return Math.max(s.lastChunkAt ?? s.updatedAt ?? 0, o.connectedAt) + o.stallMs;
}

/** `completedAt` is when the last phase reached 100 %: a FULL that completes after RECENT moves it; a replayed chunk does not. */
function settle(s: HistorySyncState, now: number, progressed: boolean): HistorySyncState {
  const recentDone = s.progress.RECENT === 100;
  const fullOpen = s.progress.FULL !== null && s.progress.FULL < 100;
  if (recentDone && !fullOpen) {
    const completedAt = s.completedAt === null || progressed ? now : s.completedAt;
    return { ...s, status: 'complete', completedAt, stalled: false, stalledAt: null };
  }
  // A paused RECENT stays paused until a chunk arrives (onChunk clears it by coming here with a chunk).
  return { ...s, status: 'running', completedAt: null };
}
