import type { BackfillCommand } from '../account-actor/protocol.js';
import type { Config } from '../config/index.js';
import { serializeError } from '../domain/errors.js';
import type { AccountRecord, BackfillResult, ConnectionStatus } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import { countSkips, planAutoBackfill, type AutoBackfillPlan, type AutoBackfillPolicy, type SkipReason } from './backfill-eligibility.js';
import { withLease } from './leased-run.js';

/**
 * Server-side backfill without anyone asking (seed 003), in the main thread, one scheduler per
 * process:
 * - auto backfill: on connect and every `AUTO_BACKFILL_INTERVAL_MS`, deepens the history of eligible
 *   accounts (`backfill-eligibility.ts`) under the account's `autoBackfill` lease;
 * - recent sync: every `RECENT_SYNC_INTERVAL_MS`, re-fetches each connected account's recent window
 *   under its `recentSync` lease, filling gaps a disconnect left.
 * The leases make several instances on one store safe: whoever acquires runs, the others skip.
 */

/** Runs one backfill on the account's actor; the scheduler only decides when and records how it went. */
export type BackfillRunner = (accountId: string, cmd: Required<BackfillCommand>) => Promise<BackfillResult>;

export interface AutoBackfillSettings extends AutoBackfillPolicy {
  intervalMs: number;
  leaseMs: number;
  /** Threads and messages per thread of each run (`WHATSAPP_BACKFILL_THREADS` / `_COUNT`). */
  threads: number;
  count: number;
}

export interface RecentSyncSettings {
  intervalMs: number;
  leaseMs: number;
  maxThreads: number;
  maxMessagesPerThread: number;
}

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
}

export type AutoBackfillTrigger = 'tick' | 'connect' | 'slot';

const AUTO = 'wa-auto-backfill';
const RECENT = 'recent-sync';
const DEFAULT_CONNECT_DELAY_MS = 10_000;
const DEFAULT_CAUGHT_UP_TIMEOUT_MS = 60_000;
/** Skips that a freed slot or the next tick can lift; the others wait for the next connect or tick. */
const LIMITS: ReadonlySet<SkipReason> = new Set(['tick_limit', 'concurrency_limit']);

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

export class BackfillScheduler {
  private readonly o: BackfillSchedulerOptions;
  private readonly now: () => number;
  private readonly autoLog: Logger;
  private readonly recentLog: Logger;
  private readonly connectDelayMs: number;
  private readonly caughtUpTimeoutMs: number;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Connected, caught up and settled (`connectDelayMs`), as the actors' events tell. */
  private readonly ready = new Set<string>();
  private readonly connectTimers = new Map<string, NodeJS.Timeout>();
  /** Connected accounts waiting for their on-connect run (a limit held them back). */
  private readonly wanted = new Set<string>();
  private readonly autoRuns = new Map<string, Promise<void>>();
  private readonly recentRuns = new Map<string, Promise<void>>();
  /** Plans are made one at a time: two overlapping ones could both start the same account. */
  private planning: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(opts: BackfillSchedulerOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.autoLog = opts.logger.child({ component: AUTO, instanceId: opts.instanceId });
    this.recentLog = opts.logger.child({ component: RECENT, instanceId: opts.instanceId });
    this.connectDelayMs =
      opts.connectDelayMs ??
      Math.min(DEFAULT_CONNECT_DELAY_MS, opts.autoBackfill?.intervalMs ?? Infinity, opts.recentSync?.intervalMs ?? Infinity);
    this.caughtUpTimeoutMs = opts.caughtUpTimeoutMs ?? DEFAULT_CAUGHT_UP_TIMEOUT_MS;
  }

  /** Starts the periodic ticks; the on-connect runs follow the actors' events from construction on. */
  start(): void {
    const { autoBackfill, recentSync } = this.o;
    if (autoBackfill) {
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
    if (recentSync) {
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
    this.wanted.clear();
  }

  /** Resolves when every run in flight has recorded its outcome and released its lease, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<boolean> {
    const all = Promise.allSettled([...this.autoRuns.values(), ...this.recentRuns.values()]).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([all, late]);
    clearTimeout(timer);
    return done;
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
    if (this.connectDelayMs <= 0) this.settle(accountId);
    else this.arm(accountId, this.connectDelayMs, () => this.settle(accountId));
  }

  /** The actor exited or the account was removed: nothing to backfill until it connects again. */
  onActorGone(accountId: string): void {
    this.forget(accountId);
  }

  private settle(accountId: string): void {
    this.ready.add(accountId);
    if (!this.o.autoBackfill || this.o.runOnConnect === false) return;
    this.wanted.add(accountId);
    void this.planAutoBackfill('connect');
  }

  // ---- auto backfill ---------------------------------------------------------------------------

  /** One periodic tick (also called by tests). Resolves with the plan once the runs have started. */
  tickAutoBackfill(): Promise<AutoBackfillPlan | null> {
    return this.planAutoBackfill('tick');
  }

  private planAutoBackfill(trigger: AutoBackfillTrigger): Promise<AutoBackfillPlan | null> {
    const next = this.planning.then(() => this.planNow(trigger));
    this.planning = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      this.autoLog.warn({ trigger, err: serializeError(err) }, 'auto backfill tick failed');
      return null;
    });
  }

  private async planNow(trigger: AutoBackfillTrigger): Promise<AutoBackfillPlan | null> {
    const settings = this.o.autoBackfill;
    if (!settings || this.stopped) return null;
    if (this.o.mode() === 'passive') {
      this.autoLog.info({ trigger }, 'auto backfill tick skipped: passive mode');
      return null;
    }
    if (trigger !== 'tick' && this.wanted.size === 0) return null;
    const accounts = trigger === 'tick' ? await this.o.store.listAccounts() : await this.wantedAccounts();
    if (this.stopped || this.o.mode() === 'passive') return null;
    const connected = new Set(this.o.connectedAccounts());
    const plan = planAutoBackfill(
      {
        accounts,
        isReady: (id) => connected.has(id) && this.ready.has(id),
        runningHere: new Set(this.autoRuns.keys()),
        now: this.now(),
      },
      settings,
    );
    for (const skip of plan.skipped) if (!LIMITS.has(skip.reason)) this.wanted.delete(skip.accountId);
    for (const accountId of plan.start) {
      this.wanted.delete(accountId);
      this.launchAuto(accountId, settings, trigger);
    }
    if (trigger === 'tick' || plan.start.length > 0) {
      this.autoLog.info(
        {
          trigger,
          accounts: accounts.length,
          started: plan.start.length,
          skipped: countSkips(plan.skipped),
          running: this.autoRuns.size,
          waiting: this.wanted.size,
        },
        `auto backfill ${trigger}: ${plan.start.length} started`,
      );
    }
    return plan;
  }

  private async wantedAccounts(): Promise<AccountRecord[]> {
    const found = await Promise.all([...this.wanted].map((id) => this.o.store.getAccount(id)));
    const accounts = found.filter((a): a is AccountRecord => a !== null);
    const present = new Set(accounts.map((a) => a.id));
    for (const id of this.wanted) if (!present.has(id)) this.wanted.delete(id);
    return accounts;
  }

  private launchAuto(accountId: string, settings: AutoBackfillSettings, trigger: AutoBackfillTrigger): void {
    const run = this.runAuto(accountId, settings, trigger).finally(() => {
      this.autoRuns.delete(accountId);
      // A freed slot goes to an account that connected while every slot was taken.
      if (!this.stopped && this.wanted.size > 0) void this.planAutoBackfill('slot');
    });
    this.autoRuns.set(accountId, run);
  }

  private async runAuto(accountId: string, s: AutoBackfillSettings, trigger: AutoBackfillTrigger): Promise<void> {
    const log = this.autoLog;
    const store = this.o.store;
    try {
      const outcome = await withLease(
        {
          store,
          accountId,
          name: 'autoBackfill',
          holder: this.o.instanceId,
          ttlMs: s.leaseMs,
          now: this.now,
          onLost: () => log.warn({ accountId }, 'auto backfill lease lost to another instance; finishing the run anyway'),
          onError: (err, context) => log.warn({ accountId, context, err: serializeError(err) }, 'auto backfill lease write failed'),
        },
        async () => {
          const startedAt = this.now();
          try {
            await store.patchAccount(accountId, {
              lastAutoBackfillStatus: 'running',
              lastAutoBackfillAttemptAt: startedAt,
              lastAutoBackfillAt: startedAt,
            });
            log.info({ accountId, trigger, threads: s.threads, count: s.count }, 'auto backfill started');
            const result = await this.o.run(accountId, {
              threads: s.threads,
              count: s.count,
              reason: 'auto',
              anchor: 'oldest',
              record: 'backfill',
            });
            const finishedAt = this.now();
            const durationMs = finishedAt - startedAt;
            await store.patchAccount(accountId, {
              lastAutoBackfillStatus: 'ok',
              lastAutoBackfillSuccessAt: finishedAt,
              lastAutoBackfillResult: { ...result, durationMs },
            });
            log.info(
              { accountId, trigger, threads: result.threads, messages: result.messages, errors: result.errors, durationMs },
              'auto backfill finished',
            );
          } catch (err) {
            const durationMs = this.now() - startedAt;
            const e = serializeError(err);
            const error = this.stopped ? `interrupted by shutdown: ${e.code}: ${e.message}` : `${e.code}: ${e.message}`;
            log.warn({ accountId, trigger, err: e, durationMs }, 'auto backfill failed');
            await store
              .patchAccount(accountId, {
                lastAutoBackfillStatus: 'error',
                lastAutoBackfillResult: { threads: 0, messages: 0, errors: 1, threadResults: [], durationMs, error },
              })
              .catch((patchErr: unknown) =>
                log.error({ accountId, err: serializeError(patchErr) }, 'could not record the auto backfill failure'),
              );
          }
        },
      );
      if (!outcome.acquired) log.info({ accountId, trigger }, 'auto backfill skipped: another instance holds the lease');
    } catch (err) {
      // The lease could not even be asked for (store unreachable): nothing was started or recorded.
      log.warn({ accountId, trigger, err: serializeError(err) }, 'auto backfill could not take the lease');
    }
  }

  // ---- recent sync -----------------------------------------------------------------------------

  /** One periodic tick (also called by tests): the accounts a recent sync was started for. */
  async tickRecentSync(): Promise<string[] | null> {
    const settings = this.o.recentSync;
    if (!settings || this.stopped) return null;
    if (this.o.mode() === 'passive') {
      this.recentLog.info('recent sync tick skipped: passive mode');
      return null;
    }
    const ready = this.o.connectedAccounts().filter((id) => this.ready.has(id));
    // Each account's actor works through its own backfills in turn: one run per account, all accounts at once.
    const started = ready.filter((id) => !this.recentRuns.has(id));
    for (const accountId of started) {
      const run = this.runRecent(accountId, settings).finally(() => this.recentRuns.delete(accountId));
      this.recentRuns.set(accountId, run);
    }
    this.recentLog.info(
      { connected: ready.length, started: started.length, stillRunning: ready.length - started.length },
      `recent sync tick: ${started.length} started`,
    );
    return started;
  }

  private async runRecent(accountId: string, s: RecentSyncSettings): Promise<void> {
    const log = this.recentLog;
    const startedAt = this.now();
    try {
      const outcome = await withLease(
        {
          store: this.o.store,
          accountId,
          name: 'recentSync',
          holder: this.o.instanceId,
          ttlMs: s.leaseMs,
          now: this.now,
          onLost: () => log.warn({ accountId }, 'recent sync lease lost to another instance; finishing the run anyway'),
          onError: (err, context) => log.warn({ accountId, context, err: serializeError(err) }, 'recent sync lease write failed'),
        },
        () =>
          this.o.run(accountId, {
            threads: s.maxThreads,
            count: s.maxMessagesPerThread,
            reason: 'recent',
            anchor: 'newest',
            record: 'recentSync',
          }),
      );
      if (!outcome.acquired) {
        log.debug({ accountId }, 'recent sync skipped: another instance holds the lease');
        return;
      }
      const r = outcome.value;
      const fields = { accountId, threads: r.threads, messages: r.messages, errors: r.errors, durationMs: this.now() - startedAt };
      // Every two minutes per account: only runs that found something make the info log.
      if (r.messages > 0 || r.errors > 0) log.info(fields, 'recent sync finished');
      else log.debug(fields, 'recent sync finished');
    } catch (err) {
      const e = serializeError(err);
      log.warn({ accountId, err: e, interrupted: this.stopped }, 'recent sync failed');
    }
  }

  // ---- internals -------------------------------------------------------------------------------

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
    this.ready.delete(accountId);
    this.wanted.delete(accountId);
    const timer = this.connectTimers.get(accountId);
    if (timer) clearTimeout(timer);
    this.connectTimers.delete(accountId);
  }
}
