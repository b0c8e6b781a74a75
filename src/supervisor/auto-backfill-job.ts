import type { BackfillCommand } from '../account-actor/protocol.js';
import { serializeError } from '../domain/errors.js';
import type { AccountRecord, BackfillResult } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import { type AutoBackfillPlan, type AutoBackfillPolicy, type SkipReason, countSkips, planAutoBackfill } from './backfill-eligibility.js';
import { withJobLease } from './leased-run.js';

/** Runs one backfill on the account's actor; the jobs only decide when and record how it went. */
export type BackfillRunner = (accountId: string, cmd: Required<BackfillCommand>) => Promise<BackfillResult>;

export interface AutoBackfillSettings extends AutoBackfillPolicy {
  intervalMs: number;
  leaseMs: number;
  /** Threads and messages per thread of each run (`WHATSAPP_BACKFILL_THREADS` / `_COUNT`). */
  threads: number;
  count: number;
}

export type AutoBackfillTrigger = 'tick' | 'connect' | 'slot';

/**
 * How one auto-backfill attempt ended (the `wasync_auto_backfill_runs_total{outcome}` metric): `ok`,
 * `error` (recorded on the account), `lease_held` (another instance runs it), `lease_error` (the
 * lease could not be asked for).
 */
export type AutoBackfillOutcome = 'ok' | 'error' | 'lease_held' | 'lease_error';

/** What the scheduler gives each of its jobs. */
export interface BackfillJobContext {
  store: Store;
  log: Logger;
  /** Lease holder. */
  instanceId: string;
  run: BackfillRunner;
  now: () => number;
  /** Connected, caught up and settled: the accounts a backfill can reach now. */
  ready: () => ReadonlySet<string>;
  /** `passive` while the process drains: nothing starts. */
  idle: () => boolean;
  /** Whether the scheduler has stopped (a failure recorded then says the run was interrupted). */
  stopped: () => boolean;
}

export interface AutoBackfillJobOptions extends BackfillJobContext {
  settings: AutoBackfillSettings;
  /** Told how every attempt ended (metrics). */
  onOutcome?: (outcome: AutoBackfillOutcome) => void;
}

/** Skips that a freed slot or the next tick can lift; the others wait for the next connect or tick. */
const LIMITS: ReadonlySet<SkipReason> = new Set(['tick_limit', 'concurrency_limit']);

/**
 * Auto backfill (README, Automatic backfill): on connect and every `AUTO_BACKFILL_INTERVAL_MS`,
 * deepens the history of eligible accounts (`backfill-eligibility.ts`) under the account's
 * `autoBackfill` lease, recording status, attempt and outcome on the account.
 */
export class AutoBackfillJob {
  private readonly o: AutoBackfillJobOptions;
  /** Accounts that connected and wait for their on-connect run (a limit held them back). */
  private readonly wanted = new Set<string>();
  private readonly runs = new Map<string, Promise<void>>();
  /** Plans are made one at a time: two overlapping ones could both start the same account. */
  private planning: Promise<unknown> = Promise.resolve();

  constructor(opts: AutoBackfillJobOptions) {
    this.o = opts;
  }

  get inFlight(): Iterable<Promise<void>> {
    return this.runs.values();
  }

  /** The account connected and settled: run for it as soon as a slot allows. */
  want(accountId: string): void {
    this.wanted.add(accountId);
    void this.plan('connect');
  }

  forget(accountId: string): void {
    this.wanted.delete(accountId);
  }

  clearWanted(): void {
    this.wanted.clear();
  }

  /** One periodic tick. Resolves with the plan once the runs have started. */
  tick(): Promise<AutoBackfillPlan | null> {
    return this.plan('tick');
  }

  private plan(trigger: AutoBackfillTrigger): Promise<AutoBackfillPlan | null> {
    const next = this.planning.then(() => this.planNow(trigger));
    this.planning = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      this.o.log.warn({ trigger, err: serializeError(err) }, 'auto backfill tick failed');
      return null;
    });
  }

  private async planNow(trigger: AutoBackfillTrigger): Promise<AutoBackfillPlan | null> {
    if (this.o.stopped()) return null;
    if (this.o.idle()) {
      this.o.log.info({ trigger }, 'auto backfill tick skipped: passive mode');
      return null;
    }
    if (trigger !== 'tick' && this.wanted.size === 0) return null;
    const accounts = trigger === 'tick' ? await this.o.store.listAccounts() : await this.wantedAccounts();
    if (this.o.stopped() || this.o.idle()) return null;
    const ready = this.o.ready();
    const plan = planAutoBackfill(
      { accounts, isReady: (id) => ready.has(id), runningHere: new Set(this.runs.keys()), now: this.o.now() },
      this.o.settings,
    );
    for (const skip of plan.skipped) if (!LIMITS.has(skip.reason)) this.wanted.delete(skip.accountId);
    for (const accountId of plan.start) {
      this.wanted.delete(accountId);
      this.launch(accountId, trigger);
    }
    if (trigger === 'tick' || plan.start.length > 0) {
      this.o.log.info(
        {
          trigger,
          accounts: accounts.length,
          started: plan.start.length,
          skipped: countSkips(plan.skipped),
          running: this.runs.size,
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

  private launch(accountId: string, trigger: AutoBackfillTrigger): void {
    const run = this.runOne(accountId, trigger).finally(() => {
      this.runs.delete(accountId);
      // A freed slot goes to an account that connected while every slot was taken.
      if (!this.o.stopped() && this.wanted.size > 0) void this.plan('slot');
    });
    this.runs.set(accountId, run);
  }

  private async runOne(accountId: string, trigger: AutoBackfillTrigger): Promise<void> {
    const { log, store, settings: s } = this.o;
    try {
      const outcome = await withJobLease(
        { store, accountId, name: 'autoBackfill', holder: this.o.instanceId, ttlMs: s.leaseMs, now: this.o.now, log, job: 'auto backfill' },
        () => this.recorded(accountId, trigger),
      );
      if (!outcome.acquired) {
        log.info({ accountId, trigger }, 'auto backfill skipped: another instance holds the lease');
        this.o.onOutcome?.('lease_held');
      }
    } catch (err) {
      this.o.onOutcome?.('lease_error');
      // The lease could not even be asked for (store unreachable): nothing was started or recorded.
      log.warn({ accountId, trigger, err: serializeError(err) }, 'auto backfill could not take the lease');
    }
  }

  /** One run with its account fields: `running` before, `ok` with the result or `error` after. */
  private async recorded(accountId: string, trigger: AutoBackfillTrigger): Promise<void> {
    const { log, store, settings: s } = this.o;
    const startedAt = this.o.now();
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
      const finishedAt = this.o.now();
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
      this.o.onOutcome?.('ok');
    } catch (err) {
      this.o.onOutcome?.('error');
      const durationMs = this.o.now() - startedAt;
      const e = serializeError(err);
      const error = this.o.stopped() ? `interrupted by shutdown: ${e.code}: ${e.message}` : `${e.code}: ${e.message}`;
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
  }
}
