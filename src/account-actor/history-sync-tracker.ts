import {
  checkStall,
  historySyncOf,
  historySyncPatch,
  onChunk,
  onNewLogin,
  onPhaseStatus,
  stallDueAt,
  type HistoryChunkInfo,
  type HistoryPhaseStatus,
  type HistorySyncState,
} from '../domain/history-sync.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import { ThrottledPatch } from './throttled-patch.js';

export interface HistorySyncTrackerDeps {
  accountId: string;
  store: Pick<Store, 'getAccount' | 'patchAccount'>;
  logger: Logger;
  /** HISTORY_SYNC_STALL_MS */
  stallMs: number;
  now?: () => number;
  /** Progress is written at most this often; status changes (complete, paused, stalled…) at once. */
  writeIntervalMs?: number;
  /** Every change of the state, after it is queued for writing (the actor turns it into an event). */
  onChange?: (state: HistorySyncState) => void;
  onError: (err: unknown, context: string) => void;
}

const DEFAULT_WRITE_INTERVAL_MS = 1_000;

/**
 * The account's history sync as an operator sees it (src/domain/history-sync.ts): fed by the actor
 * with the connection's lifecycle, each committed history chunk and Baileys' `messaging-history.status`,
 * it keeps the state in memory (one actor per account), writes it on the account, logs the transitions,
 * and flags a sync that stopped moving (once, until the next chunk). Kept apart from the actor so the
 * rules and their timers are tested on their own.
 */
export class HistorySyncTracker {
  private readonly d: HistorySyncTrackerDeps;
  private readonly now: () => number;
  private readonly writer: ThrottledPatch;
  private state: HistorySyncState | null = null;
  private connectedAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(deps: HistorySyncTrackerDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
    this.writer = new ThrottledPatch(
      (p) => deps.store.patchAccount(deps.accountId, p),
      deps.writeIntervalMs ?? DEFAULT_WRITE_INTERVAL_MS,
      (err) => deps.onError(err, 'history sync status'),
    );
  }

  /** The stored state (after a restart the sync goes on where it was). */
  async load(): Promise<void> {
    const account = await this.d.store.getAccount(this.d.accountId);
    this.state = account ? historySyncOf(account) : historySyncOf({ id: this.d.accountId });
    this.stopped = false;
  }

  snapshot(): HistorySyncState | null {
    return this.state;
  }

  /** A device was linked (`isNewLogin`): WhatsApp sends it a new history. */
  onNewLogin(): void {
    this.update((s) => onNewLogin(s, this.now()), true);
    this.d.logger.info('history sync: waiting for the phone to send the history');
  }

  onConnected(): void {
    this.connectedAt = this.now();
    this.schedule();
  }

  onDisconnected(): void {
    this.connectedAt = null;
    this.clearTimer();
  }

  /** A committed chunk (ON_DEMAND ones are backfill answers and do not come here). */
  onChunk(chunk: HistoryChunkInfo): void {
    const before = this.state;
    const after = this.update((s) => onChunk(s, chunk, this.now()), false);
    if (!before || !after) return;
    if (before.stalled) this.d.logger.info({ syncType: chunk.syncType }, 'history sync resumed');
    if (before.startedAt === null) this.d.logger.info({ syncType: chunk.syncType }, 'history sync started');
    this.afterTransition(before, after);
  }

  onPhaseStatus(e: HistoryPhaseStatus): void {
    const before = this.state;
    const after = this.update((s) => onPhaseStatus(s, e, this.now()), false);
    if (!before || !after) return;
    if (e.status === 'paused' && before.status !== 'paused' && after.status === 'paused') {
      this.d.logger.warn({ progress: after.progress }, 'history sync paused: WhatsApp sent no RECENT chunk for 120 s');
    }
    this.afterTransition(before, after);
  }

  /** Writes what is pending (shutdown, tests). */
  async flush(): Promise<void> {
    await this.writer.flush();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.writer.flush();
  }

  // ---------------------------------------------------------------------------------------------

  private afterTransition(before: HistorySyncState, after: HistorySyncState): void {
    if (after.status === 'complete' && before.status !== 'complete') {
      this.d.logger.info({ chunks: after.chunks, messagesSaved: after.messagesSaved, progress: after.progress }, 'history sync complete');
    }
    // Status changes are what operators watch: written at once rather than with the next progress write.
    if (after.status !== before.status) void this.writer.flush();
  }

  private update(fn: (s: HistorySyncState) => HistorySyncState, writeNow: boolean): HistorySyncState | null {
    if (!this.state || this.stopped) return null;
    const next = fn(this.state);
    if (next === this.state) return next;
    this.state = next;
    this.writer.patch(historySyncPatch(next));
    if (writeNow) void this.writer.flush();
    this.d.onChange?.(next);
    this.schedule();
    return next;
  }

  private schedule(): void {
    this.clearTimer();
    if (!this.state || this.stopped) return;
    const due = stallDueAt(this.state, { connectedAt: this.connectedAt, stallMs: this.d.stallMs });
    if (due === null) return;
    this.timer = setTimeout(() => this.checkStall(), Math.max(0, due - this.now()));
    this.timer.unref?.();
  }

  private checkStall(): void {
    this.timer = null;
    const before = this.state;
    const after = this.update((s) => checkStall(s, { now: this.now(), connectedAt: this.connectedAt, stallMs: this.d.stallMs }), true);
    if (before && after?.stalled && !before.stalled) {
      // Logged once per stall: the flag stays until a chunk arrives, and the check does not fire again meanwhile.
      this.d.logger.warn(
        { status: after.status, progress: after.progress, lastChunkAt: after.lastChunkAt, stallMs: this.d.stallMs },
        `history sync stalled: no chunk for ${Math.round(this.d.stallMs / 1000)} s`,
      );
    } else if (!after?.stalled) {
      this.schedule();
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
