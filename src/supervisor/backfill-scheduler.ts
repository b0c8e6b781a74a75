import type { Config } from '../config/index.js';
import type { ConnectionStatus, HistorySyncStatus } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import { AutoBackfillJob, type AutoBackfillOutcome, type AutoBackfillSettings, type BackfillRunner } from './auto-backfill-job.js';
import type { AutoBackfillPlan } from './backfill-eligibility.js';
import { RecentSyncJob, type RecentSyncSettings } from './recent-sync-job.js';

export type { AutoBackfillSettings, AutoBackfillTrigger, BackfillRunner } from './auto-backfill-job.js';
export type { RecentSyncSettings } from './recent-sync-job.js';

/**
 * Server-side backfill without anyone asking (README, Automatic backfill and recent sync), in the
 * main thread, one scheduler per process:
 * - auto backfill: on connect and every `AUTO_BACKFILL_INTERVAL_MS`, deepens the history of eligible
 *   accounts (`backfill-eligibility.ts`) under the account's `autoBackfill` lease;
 * - recent sync: every `RECENT_SYNC_INTERVAL_MS`, re-fetches each connected account's recent window
 *   under its `recentSync` lease, filling gaps a disconnect left.
 * The leases make several instances on one store safe: whoever acquires runs, the others skip.
 */

export interface BackfillSchedulerOptions {
  store: Store;
  logger: Logger;
  /** Lease holder and log field. */
  instanceId: string;
  /** null: disabled. */
  autoBackfill: AutoBackfillSettings | null;
  /** null: disabled. */
  recentSync: RecentSyncSettings | null;
  /** Accounts whose actor reports the connection `open`, as the supervisor knows it right now. */
  connectedAccounts: () => readonly string[];
  /** `passive` while the process drains: no tick starts anything. */
  mode: () => 'active' | 'passive';
  /** How each auto-backfill attempt ended (metrics). */
  onAutoBackfill?: (outcome: AutoBackfillOutcome) => void;
  run: BackfillRunner;
  now?: () => number;
  /**
   * From caught up to the account counting as connected for both jobs, and to its on-connect run: the
   * history sync WhatsApp sends right after a pairing lands first, so the backfill anchors below it.
   * Default: 10 s, or the shortest enabled tick interval when shorter.
   */
  connectDelayMs?: number;
  /** Start an auto backfill when an account connects instead of waiting for the next tick. Default true. */
  runOnConnect?: boolean;
  /** An account open this long without `receivedPendingNotifications` counts as caught up. Default 60 s. */
  caughtUpTimeoutMs?: number;
  /**
   * After `connectDelayMs`, an account whose history sync is still under way (`waiting` for its first
   * chunk after a pairing, or `running`) settles only when the sync is no longer so, or after this
   * long at most (a sync that stalls must not keep the account from backfilling). Default 60 s.
   */
  historySyncWaitMs?: number;
}

const AUTO = 'wa-auto-backfill';
const RECENT = 'recent-sync';
const DEFAULT_CONNECT_DELAY_MS = 10_000;
const DEFAULT_CAUGHT_UP_TIMEOUT_MS = 60_000;
const DEFAULT_HISTORY_SYNC_WAIT_MS = 60_000;
/** History-sync states in which the stored threads are still filling from the phone's sync. */
const SYNC_UNDER_WAY: ReadonlySet<HistorySyncStatus> = new Set(['waiting', 'running']);

/** The scheduler's settings from the parsed configuration. */
export function backfillSchedulerSettings(config: Config): Pick<BackfillSchedulerOptions, 'instanceId' | 'autoBackfill' | 'recentSync'> {
  return {
    instanceId: config.INSTANCE_ID,
    autoBackfill: config.AUTO_BACKFILL_ENABLED
      ? {
          intervalMs: config.AUTO_BACKFILL_INTERVAL_MS,
          cooldownSuccessMs: config.AUTO_BACKFILL_COOLDOWN_SUCCESS_MS,
          attemptBackoffMs: config.AUTO_BACKFILL_ATTEMPT_BACKOFF_MS,
          leaseMs: config.AUTO_BACKFILL_LEASE_MS,
          maxAccountsPerTick: config.AUTO_BACKFILL_MAX_ACCOUNTS_PER_TICK,
          maxConcurrency: config.AUTO_BACKFILL_MAX_CONCURRENCY,
          threads: config.WHATSAPP_BACKFILL_THREADS,
          count: config.WHATSAPP_BACKFILL_COUNT,
        }
      : null,
    recentSync: config.RECENT_SYNC_ENABLED
      ? {
          intervalMs: config.RECENT_SYNC_INTERVAL_MS,
          leaseMs: config.RECENT_SYNC_LEASE_MS,
          maxThreads: config.RECENT_SYNC_MAX_THREADS,
          maxMessagesPerThread: config.RECENT_SYNC_MAX_MESSAGES_PER_THREAD,
        }
      : null,
  };
}

/**
 * When the two jobs run: their ticks, and which accounts are ready for them, as the actors' events
 * tell (connected, caught up with what WhatsApp queued while away, then `connectDelayMs` for the
 * history sync that follows a pairing). The jobs themselves (`AutoBackfillJob`, `RecentSyncJob`)
 * decide what to run and record how it went.
 */
export class BackfillScheduler {
  private readonly o: BackfillSchedulerOptions;
  private readonly connectDelayMs: number;
  private readonly caughtUpTimeoutMs: number;
  private readonly historySyncWaitMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Connected, caught up and settled (`connectDelayMs`), as the actors' events tell. */
  private readonly settledAccounts = new Set<string>();
  private readonly connectTimers = new Map<string, NodeJS.Timeout>();
  /** Each account's history-sync status as its actor last reported it (absent: not reported). */
  private readonly historySync = new Map<string, HistorySyncStatus>();
  /** Accounts past `connectDelayMs` that wait for their history sync to end before they settle. */
  private readonly awaitingSync = new Set<string>();
  private readonly auto: AutoBackfillJob | null;
  private readonly recent: RecentSyncJob | null;
  private readonly autoLog: Logger;
  private readonly recentLog: Logger;
  private stopped = false;

  constructor(opts: BackfillSchedulerOptions) {
    this.o = opts;
    const now = opts.now ?? Date.now;
    this.connectDelayMs =
      opts.connectDelayMs ??
      Math.min(DEFAULT_CONNECT_DELAY_MS, opts.autoBackfill?.intervalMs ?? Infinity, opts.recentSync?.intervalMs ?? Infinity);
    this.caughtUpTimeoutMs = opts.caughtUpTimeoutMs ?? DEFAULT_CAUGHT_UP_TIMEOUT_MS;
    this.historySyncWaitMs = opts.historySyncWaitMs ?? DEFAULT_HISTORY_SYNC_WAIT_MS;
    const shared = {
      store: opts.store,
      instanceId: opts.instanceId,
      run: opts.run,
      now,
      ready: () => this.readyAccounts(),
      idle: () => opts.mode() === 'passive',
      stopped: () => this.stopped,
    };
    this.autoLog = opts.logger.child({ component: AUTO, instanceId: opts.instanceId });
    this.recentLog = opts.logger.child({ component: RECENT, instanceId: opts.instanceId });
    this.auto = opts.autoBackfill
      ? new AutoBackfillJob({ ...shared, settings: opts.autoBackfill, log: this.autoLog, onOutcome: opts.onAutoBackfill })
      : null;
    this.recent = opts.recentSync ? new RecentSyncJob({ ...shared, settings: opts.recentSync, log: this.recentLog }) : null;
  }

  /** Starts the periodic ticks; the on-connect runs follow the actors' events from construction on. */
  start(): void {
    const { autoBackfill, recentSync } = this.o;
    if (autoBackfill && this.auto) {
      this.every(autoBackfill.intervalMs, () => this.tickAutoBackfill());
      this.autoLog.info(
        {
          intervalMs: autoBackfill.intervalMs,
          cooldownSuccessMs: autoBackfill.cooldownSuccessMs,
          maxConcurrency: autoBackfill.maxConcurrency,
        },
        'auto backfill scheduler started',
      );
    }
    if (recentSync && this.recent) {
      this.every(recentSync.intervalMs, () => this.tickRecentSync());
      this.recentLog.info({ intervalMs: recentSync.intervalMs, maxThreads: recentSync.maxThreads }, 'recent sync scheduler started');
    }
  }

  /**
   * No new run starts after this. Runs in flight go on until their actor stops (the supervisor stops
   * them next); `settled` waits for their status and lease to be written.
   */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    for (const t of this.connectTimers.values()) clearTimeout(t);
    this.connectTimers.clear();
    this.auto?.clearWanted();
  }

  /** Resolves when every run in flight has recorded its outcome and released its lease, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<boolean> {
    const all = Promise.allSettled([...(this.auto?.inFlight ?? []), ...(this.recent?.inFlight ?? [])]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([all, late]);
    clearTimeout(timer);
    return done;
  }

  /** One auto backfill tick (also called by tests). Resolves with the plan once the runs have started. */
  tickAutoBackfill(): Promise<AutoBackfillPlan | null> {
    return this.auto?.tick() ?? Promise.resolve(null);
  }

  /** One recent sync tick (also called by tests): the accounts a recent sync was started for. */
  tickRecentSync(): Promise<string[] | null> {
    return this.recent?.tick() ?? Promise.resolve(null);
  }

  // ---- actor events ----------------------------------------------------------------------------

  onConnection(accountId: string, connection: ConnectionStatus): void {
    this.forget(accountId);
    if (connection !== 'open' || this.stopped) return;
    // A connection that never reports its offline backlog delivered must not keep the account out for good.
    this.arm(accountId, this.caughtUpTimeoutMs, () => this.onCaughtUp(accountId));
  }

  /**
   * What WhatsApp queued while the device was away has arrived: once the history sync that follows a
   * pairing has had `connectDelayMs` to land, the stored threads are as complete as they get without
   * asking, and a backfill anchors where it should.
   */
  onCaughtUp(accountId: string): void {
    if (this.stopped) return;
    const timer = this.connectTimers.get(accountId);
    if (timer) clearTimeout(timer);
    this.connectTimers.delete(accountId);
    if (this.connectDelayMs <= 0) this.settleAfterSync(accountId);
    else this.arm(accountId, this.connectDelayMs, () => this.settleAfterSync(accountId));
  }

  /**
   * The account's history-sync status (`HistorySyncTracker` via its actor). The on-connect backfill
   * anchors below the oldest stored message of each thread, so it starts once the sync that a pairing
   * brings has landed, not while its chunks are still being written (it would then fetch what the
   * sync is about to deliver).
   */
  onHistorySync(accountId: string, status: HistorySyncStatus): void {
    this.historySync.set(accountId, status);
    if (SYNC_UNDER_WAY.has(status) || !this.awaitingSync.has(accountId) || this.stopped) return;
    this.awaitingSync.delete(accountId);
    const timer = this.connectTimers.get(accountId);
    if (timer) clearTimeout(timer);
    this.connectTimers.delete(accountId);
    this.settle(accountId);
  }

  /** The actor exited or the account was removed: nothing to backfill until it connects again. */
  onActorGone(accountId: string): void {
    this.forget(accountId);
    this.historySync.delete(accountId);
  }

  // ---- internals -------------------------------------------------------------------------------

  private settleAfterSync(accountId: string): void {
    const status = this.historySync.get(accountId);
    if (status === undefined || !SYNC_UNDER_WAY.has(status)) {
      this.settle(accountId);
      return;
    }
    this.awaitingSync.add(accountId);
    this.arm(accountId, this.historySyncWaitMs, () => {
      this.awaitingSync.delete(accountId);
      this.settle(accountId);
    });
  }

  private settle(accountId: string): void {
    this.settledAccounts.add(accountId);
    if (this.auto && this.o.runOnConnect !== false) this.auto.want(accountId);
  }

  /** Connected as the supervisor knows it right now, and settled as the events told. */
  private readyAccounts(): ReadonlySet<string> {
    return new Set(this.o.connectedAccounts().filter((id) => this.settledAccounts.has(id)));
  }

  private every(ms: number, tick: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      if (!this.stopped) void tick();
    }, ms);
    // The HTTP server keeps the process alive; these timers must not keep a stopping one alive.
    timer.unref();
    this.timers.push(timer);
  }

  private arm(accountId: string, ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.connectTimers.delete(accountId);
      if (!this.stopped) fn();
    }, ms);
    timer.unref();
    this.connectTimers.set(accountId, timer);
  }

  private forget(accountId: string): void {
    this.settledAccounts.delete(accountId);
    this.awaitingSync.delete(accountId);
    this.auto?.forget(accountId);
    const timer = this.connectTimers.get(accountId);
    if (timer) clearTimeout(timer);
    this.connectTimers.delete(accountId);
  }
}
