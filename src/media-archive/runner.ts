import type { Logger } from '../logging/logger.js';
import type { MediaJob, MediaJobLease } from '../store/media-queue.js';
import type { Store } from '../store/port.js';
import { archiveMessageMedia, NothingToArchiveError, type MediaDownload } from './archiver.js';
import type { ArchivedMedia, MediaArchive } from './port.js';
import { archiveRetryDelay, nextArchiveStep } from './retry.js';
import { ConcurrencyLimit } from './limit.js';

export type RunnerStore = Pick<
  Store,
  'getMessage' | 'claimMediaJobs' | 'renewMediaJob' | 'completeMediaJob' | 'retryMediaJob' | 'failMediaJob'
>;

export type JobOutcome =
  | { result: 'stored' | 'already'; media: ArchivedMedia }
  | { result: 'retry'; error: string; at: number }
  | { result: 'failed'; error: string };

/** A final outcome, which the message record keeps (`recordOutcome`). */
export type FinalOutcome = Exclude<JobOutcome, { result: 'retry' }>;

export interface MediaArchiveRunnerOptions {
  accountId: string;
  store: RunnerStore;
  archive: MediaArchive;
  download: MediaDownload;
  /** Lease holder name (the instance id). */
  holder: string;
  /** At most this many of this account's files at once (MEDIA_ARCHIVE_CONCURRENCY). */
  concurrency: number;
  /** Shared by every account's runner: the per-instance limit. Default: a limit of `concurrency` of its own. */
  limit?: ConcurrencyLimit;
  /** MEDIA_ARCHIVE_MAX_BYTES */
  maxBytes: number;
  /** MEDIA_ARCHIVE_MAX_ATTEMPTS */
  maxAttempts: number;
  /** A job's lease; renewed every third of it while the job runs. */
  leaseMs?: number;
  /** How often an idle runner looks again (retries coming due, jobs enqueued without `notify`). */
  idleMs?: number;
  logger: Logger;
  now?: () => number;
  /**
   * Writes a final outcome where it must be seen (the message's archive fields) before the job is
   * settled in the queue, so a crash in between leaves the job to run again rather than a done job
   * whose message does not say so. If it throws, the job is retried.
   */
  recordOutcome?: (job: MediaJob, outcome: FinalOutcome) => Promise<void>;
  /** Every settled job, once its outcome is in the store (metrics, events). */
  onSettled?: (job: MediaJob, outcome: JobOutcome) => void;
}

const DEFAULT_LEASE_MS = 10 * 60_000;
const DEFAULT_IDLE_MS = 30_000;

/**
 * Works one account's media queue: claims due jobs (never more than `concurrency` in flight),
 * archives each, and records the outcome (done, retry with backoff, failed). The queue lives in the
 * store, so stopping or crashing loses nothing: a job a dead runner held comes back when its lease
 * expires. Everything is I/O (streams), so the runner can share a thread with a live socket.
 */
export class MediaArchiveRunner {
  private readonly o: MediaArchiveRunnerOptions;
  private readonly now: () => number;
  private readonly leaseMs: number;
  private readonly inflight = new Set<Promise<void>>();
  private readonly limit: ConcurrencyLimit;
  private running: Promise<void> | null = null;
  private stopped = false;
  private abort = new AbortController();
  private wake: (() => void) | null = null;

  constructor(o: MediaArchiveRunnerOptions) {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new RangeError('concurrency must be an integer ≥ 1');
    this.o = o;
    this.now = o.now ?? Date.now;
    this.leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
    this.limit = o.limit ?? new ConcurrencyLimit(o.concurrency);
  }

  start(): void {
    if (this.running !== null) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.running = this.loop();
  }

  /** New jobs were enqueued: look now instead of at the next idle tick. */
  notify(): void {
    this.wake?.();
  }

  /** Stops claiming and waits for the jobs in flight to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.running;
    this.running = null;
    await Promise.allSettled([...this.inflight]);
  }

  get busy(): number {
    return this.inflight.size;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const free = this.o.concurrency - this.inflight.size;
      if (free <= 0) {
        await this.idle();
        continue;
      }
      // One permit, waited for (first come, first served among the accounts), then as many more as are free now.
      const first = await this.limit.acquire(this.abort.signal);
      if (!first) break;
      const permits = [first];
      while (permits.length < free) {
        const more = this.limit.tryAcquire();
        if (!more) break;
        permits.push(more);
      }
      let claimed = 0;
      try {
        const jobs = await this.o.store.claimMediaJobs(this.o.accountId, {
          holder: this.o.holder,
          limit: permits.length,
          leaseMs: this.leaseMs,
          now: this.now(),
          maxAttempts: this.o.maxAttempts,
        });
        claimed = jobs.length;
        jobs.forEach((job, i) => {
          const release = permits[i]!;
          this.track(this.run(job).finally(release));
        });
      } catch (err) {
        this.o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'media archive: could not claim jobs');
      }
      for (const unused of permits.slice(claimed)) unused();
      // A full claim may have left more behind; otherwise wait for a slot, a notify or the idle tick.
      if (claimed === permits.length && claimed > 0 && this.inflight.size < this.o.concurrency) continue;
      await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.o.idleMs ?? DEFAULT_IDLE_MS);
      this.wake = done;
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.wake === done) self.wake = null;
        resolve();
      }
    });
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      this.wake?.();
    });
  }

  private async run(job: MediaJob): Promise<void> {
    const lease: MediaJobLease = { accountId: job.accountId, messageId: job.messageId, leaseId: job.leaseId! };
    const renew = setInterval(
      () => {
        this.o.store
          .renewMediaJob(lease, this.leaseMs, this.now())
          .catch((err: unknown) =>
            this.o.logger.warn(
              { err: err instanceof Error ? err.message : String(err), messageId: job.messageId },
              'media archive: could not renew a lease',
            ),
          );
      },
      Math.max(1_000, Math.floor(this.leaseMs / 3)),
    );
    renew.unref();
    let outcome: JobOutcome;
    try {
      const record = await this.o.store.getMessage(job.accountId, job.messageId, job.clientJid);
      if (!record) throw new NothingToArchiveError(`message ${job.messageId} is no longer stored`);
      const done = await archiveMessageMedia({ record, archive: this.o.archive, download: this.o.download, maxBytes: this.o.maxBytes });
      outcome = { result: done.status, media: done.media };
      await this.o.recordOutcome?.(job, outcome);
      await this.o.store.completeMediaJob(lease, { sha256: done.media.sha256, size: done.media.size, key: done.media.key }, this.now());
    } catch (err) {
      let step = nextArchiveStep(err, job.attempts, this.o.maxAttempts, this.now());
      if (step.action === 'fail' && this.o.recordOutcome) {
        try {
          await this.o.recordOutcome(job, { result: 'failed', error: step.error });
        } catch (recordErr) {
          // The failure must reach the message: the job runs again rather than failing unseen.
          const why = recordErr instanceof Error ? recordErr.message : String(recordErr);
          step = { action: 'retry', at: this.now() + archiveRetryDelay(1), error: `${step.error} (not recorded on the message: ${why})` };
        }
      }
      try {
        if (step.action === 'retry') await this.o.store.retryMediaJob(lease, step.error, step.at, this.now());
        else await this.o.store.failMediaJob(lease, step.error, this.now());
      } catch (storeErr) {
        // The lease expires and the job runs again: nothing is lost.
        this.o.logger.warn(
          { err: storeErr instanceof Error ? storeErr.message : String(storeErr), messageId: job.messageId },
          'media archive: could not record an outcome',
        );
      }
      outcome = step.action === 'retry' ? { result: 'retry', error: step.error, at: step.at } : { result: 'failed', error: step.error };
      this.o.logger[step.action === 'retry' ? 'info' : 'warn'](
        { messageId: job.messageId, attempts: job.attempts, error: step.error },
        `media archive: ${step.action === 'retry' ? 'will retry' : 'gave up on'} a file`,
      );
    } finally {
      clearInterval(renew);
    }
    this.o.onSettled?.(job, outcome);
  }
}
