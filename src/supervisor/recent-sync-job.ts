import { serializeError } from '../domain/errors.js';
import type { BackfillJobContext } from './auto-backfill-job.js';
import { withJobLease } from './leased-run.js';

export interface RecentSyncSettings {
  intervalMs: number;
  leaseMs: number;
  maxThreads: number;
  maxMessagesPerThread: number;
}

export interface RecentSyncJobOptions extends BackfillJobContext {
  settings: RecentSyncSettings;
}

/**
 * Recent sync (README, Automatic backfill): every `RECENT_SYNC_INTERVAL_MS`, re-fetches each ready
 * account's recent window (anchored at its newest messages) under the account's `recentSync` lease,
 * filling gaps a disconnect left. Its outcome lands in `lastRecentSyncAt` / `lastRecentSyncResult`
 * (written by the actor's run).
 */
export class RecentSyncJob {
  private readonly o: RecentSyncJobOptions;
  private readonly runs = new Map<string, Promise<void>>();

  constructor(opts: RecentSyncJobOptions) {
    this.o = opts;
  }

  get inFlight(): Iterable<Promise<void>> {
    return this.runs.values();
  }

  /** One periodic tick: the accounts a recent sync was started for. */
  async tick(): Promise<string[] | null> {
    if (this.o.stopped()) return null;
    if (this.o.idle()) {
      this.o.log.info('recent sync tick skipped: passive mode');
      return null;
    }
    const ready = [...this.o.ready()];
    // Each account's actor works through its own backfills in turn: one run per account, all accounts at once.
    const started = ready.filter((id) => !this.runs.has(id));
    for (const accountId of started) {
      const run = this.runOne(accountId).finally(() => this.runs.delete(accountId));
      this.runs.set(accountId, run);
    }
    this.o.log.info(
      { connected: ready.length, started: started.length, stillRunning: ready.length - started.length },
      `recent sync tick: ${started.length} started`,
    );
    return started;
  }

  private async runOne(accountId: string): Promise<void> {
    const { log, settings: s } = this.o;
    const startedAt = this.o.now();
    try {
      const outcome = await withJobLease(
        {
          store: this.o.store,
          accountId,
          name: 'recentSync',
          holder: this.o.instanceId,
          ttlMs: s.leaseMs,
          now: this.o.now,
          log,
          job: 'recent sync',
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
      const fields = { accountId, threads: r.threads, messages: r.messages, errors: r.errors, durationMs: this.o.now() - startedAt };
      // Every two minutes per account: only runs that found something make the info log.
      if (r.messages > 0 || r.errors > 0) log.info(fields, 'recent sync finished');
      else log.debug(fields, 'recent sync finished');
    } catch (err) {
      log.warn({ accountId, err: serializeError(err), interrupted: this.o.stopped() }, 'recent sync failed');
    }
  }
}
