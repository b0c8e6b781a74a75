import { EventEmitter } from 'node:events';
import type { Config } from '../config/index.js';
import { serializeError } from '../domain/errors.js';
import type { MediaArchiveFields, MediaRef, MessageRecord } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { MediaDownload } from '../media-archive/archiver.js';
import { ConcurrencyLimit } from '../media-archive/limit.js';
import type { MediaArchive } from '../media-archive/port.js';
import { MediaArchiveRunner, type FinalOutcome, type JobOutcome } from '../media-archive/runner.js';
import { emptyMediaJobCounts, MEDIA_JOB_STATES, type MediaJob, type MediaJobCounts } from '../store/media-queue.js';
import type { Store } from '../store/port.js';
import { openConnectorMedia } from './media.js';

export interface MediaArchiveServiceOptions {
  archive: MediaArchive;
  store: Store;
  config: Pick<
    Config,
    'MEDIA_ARCHIVE_CONCURRENCY' | 'MEDIA_ARCHIVE_MAX_BYTES' | 'MEDIA_ARCHIVE_MAX_ATTEMPTS' | 'INSTANCE_ID' | 'WA_CONNECTOR'
  >;
  logger: Logger;
  /** Asks the account's actor to have the phone re-upload a message's expired media (as the media route does). */
  reupload: (accountId: string, messageId: string) => Promise<MediaRef>;
  /** An idle runner looks again this often (retries coming due). Default 30 s. */
  idleMs?: number;
  /** Job counts per state are read from the store this often for the metrics. Default 30 s. */
  countsEveryMs?: number;
  now?: () => number;
}

/** After a job settles, its account's counts are read again this much later (one read for a burst). */
const COUNTS_SETTLE_MS = 2_000;

/** One settled job, for metrics. */
export interface MediaArchiveSettled {
  accountId: string;
  outcome: JobOutcome;
}

/**
 * Runs the media archive in this process (docs/media-archive.md): one `MediaArchiveRunner` per account
 * whose actor runs here (the phone behind that actor is what can re-upload media the CDN dropped), all
 * of them under one `MEDIA_ARCHIVE_CONCURRENCY` limit. Downloads run on this thread, like the media
 * route's, as streams straight from the CDN through the verifier into the archive. Each final outcome
 * is written on the message before its job settles. Emits `settled` (MediaArchiveSettled) per job.
 */
export class MediaArchiveService extends EventEmitter {
  private readonly o: MediaArchiveServiceOptions;
  private readonly limit: ConcurrencyLimit;
  private readonly runners = new Map<string, MediaArchiveRunner>();
  private readonly counts = new Map<string, MediaJobCounts>();
  private readonly now: () => number;
  private countsTimer: NodeJS.Timeout | null = null;
  private readonly countsDue = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(o: MediaArchiveServiceOptions) {
    super();
    this.o = o;
    this.now = o.now ?? Date.now;
    this.limit = new ConcurrencyLimit(o.config.MEDIA_ARCHIVE_CONCURRENCY);
    this.countsTimer = setInterval(() => void this.refreshCounts(), o.countsEveryMs ?? 30_000);
    this.countsTimer.unref();
  }

  get archive(): MediaArchive {
    return this.o.archive;
  }

  /** Files being downloaded and stored now, across accounts. */
  get inFlight(): number {
    return this.limit.inUse;
  }

  /** Jobs per state over the accounts running here, as last read from the store. */
  jobCounts(): MediaJobCounts {
    const total = emptyMediaJobCounts();
    for (const c of this.counts.values()) for (const state of MEDIA_JOB_STATES) total[state] += c[state];
    return total;
  }

  /** Starts (once) the runner of an account whose actor runs here. */
  startAccount(accountId: string): void {
    if (this.closed || this.runners.has(accountId)) return;
    const runner = new MediaArchiveRunner({
      accountId,
      store: this.o.store,
      archive: this.o.archive,
      download: this.download(accountId),
      holder: this.o.config.INSTANCE_ID,
      concurrency: this.o.config.MEDIA_ARCHIVE_CONCURRENCY,
      limit: this.limit,
      maxBytes: this.o.config.MEDIA_ARCHIVE_MAX_BYTES,
      maxAttempts: this.o.config.MEDIA_ARCHIVE_MAX_ATTEMPTS,
      logger: this.o.logger.child({ accountId, component: 'media-archive' }),
      now: this.now,
      recordOutcome: (job, outcome) => this.record(job, outcome),
      onSettled: (job, outcome) => {
        this.emit('settled', { accountId: job.accountId, outcome } satisfies MediaArchiveSettled);
        this.countsSoon(job.accountId);
      },
      ...(this.o.idleMs !== undefined ? { idleMs: this.o.idleMs } : {}),
    });
    this.runners.set(accountId, runner);
    runner.start();
    void this.refreshCounts(accountId);
  }

  /** Stops an account's runner (its actor stopped or it was removed); jobs in flight finish first. */
  async stopAccount(accountId: string): Promise<void> {
    const runner = this.runners.get(accountId);
    if (!runner) return;
    this.runners.delete(accountId);
    this.counts.delete(accountId);
    await runner.stop();
  }

  /** New jobs were written for the account: its runner looks now rather than at its next idle tick. */
  notify(accountId: string): void {
    this.runners.get(accountId)?.notify();
  }

  /** Stops every runner, waiting for the files in flight (the caller bounds the wait: unfinished jobs resume elsewhere). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.countsTimer) clearInterval(this.countsTimer);
    for (const t of this.countsDue.values()) clearTimeout(t);
    this.countsDue.clear();
    this.countsTimer = null;
    await Promise.allSettled([...this.runners.keys()].map((id) => this.stopAccount(id)));
  }

  // ---------------------------------------------------------------------------------------------

  private download(accountId: string): MediaDownload {
    return async (record: MessageRecord) => {
      const account = await this.o.store.getAccount(accountId);
      return openConnectorMedia({
        logger: this.o.logger,
        connector: account?.connector ?? this.o.config.WA_CONNECTOR,
        record,
        range: null,
        reupload: () => this.o.reupload(accountId, record.id),
      });
    };
  }

  private async record(job: MediaJob, outcome: FinalOutcome): Promise<void> {
    const fields: MediaArchiveFields =
      outcome.result === 'failed'
        ? { mediaArchivedAt: null, mediaSha256: null, mediaArchiveKey: null, mediaArchiveError: outcome.error }
        : { mediaArchivedAt: this.now(), mediaSha256: outcome.media.sha256, mediaArchiveKey: outcome.media.key, mediaArchiveError: null };
    // False when the message is gone (its account purged meanwhile): nothing left to record it on.
    await this.o.store.recordMediaArchive(job.accountId, job.messageId, job.clientJid, fields);
  }

  /** The job counts move as jobs settle: read again, at most every few seconds per account. */
  private countsSoon(accountId: string): void {
    if (this.countsDue.has(accountId)) return;
    const timer = setTimeout(() => {
      this.countsDue.delete(accountId);
      void this.refreshCounts(accountId);
    }, COUNTS_SETTLE_MS);
    timer.unref();
    this.countsDue.set(accountId, timer);
  }

  private async refreshCounts(only?: string): Promise<void> {
    const ids = only ? [only] : [...this.runners.keys()];
    for (const id of ids) {
      try {
        const counts = await this.o.store.countMediaJobs(id);
        if (this.runners.has(id)) this.counts.set(id, counts);
      } catch (err) {
        this.o.logger.warn({ accountId: id, err: serializeError(err) }, 'media archive: could not count jobs');
      }
    }
  }
}
