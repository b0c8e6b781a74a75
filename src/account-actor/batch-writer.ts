import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../domain/backoff.js';
import { mergeMessage } from '../domain/merge.js';
import { DISPLAY_NAME_RANK } from '../domain/records.js';
import { coalescingKey, type CoalescedKind, type Mutation } from '../domain/mutations.js';
import { TransientStoreError, WasyncError, serializeError } from '../domain/errors.js';
import { emptyApplyResult, type ApplyResult, type Store } from '../store/port.js';
import type { Logger } from '../logging/logger.js';

export interface BatchWriterOptions {
  store: Store;
  accountId: string;
  /** Flush when this many operations are buffered (runbook: 500, Firestore's batch limit). */
  maxOps: number;
  /** Flush a partial batch after this delay. */
  flushMs: number;
  /** `WHATSAPP_HISTORY_SYNC_DRY_RUN`: history submissions are counted, never written. */
  dryRun: boolean;
  /**
   * Backoff of transient failures (store busy or unreachable). `attempts` defaults to no limit: an
   * outage of the store must lose nothing, so a batch waits it out (health reports it as degraded);
   * only `close()` ends the retries, when its own deadline has passed.
   */
  retry?: { attempts: number; baseMs: number; maxMs: number };
  logger?: Logger;
  /** Called after every committed batch (metrics). */
  onFlush?: (stats: FlushStats) => void;
}

export interface FlushStats {
  ops: number;
  durationMs: number;
  attempts: number;
  result: ApplyResult;
  failed: boolean;
}

/** What happened to one submission's mutations, once every one of them is settled. */
export interface SubmitOutcome {
  /** Message upserts committed (or, in a dry run, that would have been). */
  saved: number;
  /**
   * Of `saved`, the messages the store did not hold before (`ApplyResult.insertedIds`): the rest were
   * already there (a replay, a second sighting) and merged. 0 in a dry run.
   */
  inserted: number;
  /** Mutations folded into an identical pending one (same message twice in a batch window). */
  duplicates: number;
  /** Mutations that could not be written after retries. */
  errors: number;
  /** Everything committed for this submission (or nothing, in a dry run). */
  committed: Mutation[];
  dryRun: boolean;
  firstError?: string;
}

interface Submission {
  remaining: number;
  outcome: SubmitOutcome;
  resolve: (o: SubmitOutcome) => void;
}

interface Entry {
  mutation: Mutation;
  owner: Submission;
  /** When it was queued (performance.now()): the age of the oldest pending write. */
  at: number;
  /** The index holding it while it is buffered, under `key` (coalescible kinds only). */
  index: Map<string, Entry> | null;
  key: string;
}

/** How the writer is doing, for health (`/health` degraded) and metrics. */
export interface WriteState {
  /** Operations buffered or in flight, not yet committed. */
  pending: number;
  /** Age of the oldest of them (0 when none). */
  oldestPendingMs: number;
  /** The batch in flight failed transiently and waits for its next attempt. */
  retrying: boolean;
  /** How long the batch in flight has been trying (0 when none). */
  inFlightMs: number;
  /** Transient failures retried since the writer started. */
  retries: number;
}

/** Taken entries kept at the front of the queue before it is compacted (amortised: at most one copy per entry). */
const COMPACT_AFTER = 4_096;

const DEFAULT_RETRY = { attempts: Number.POSITIVE_INFINITY, baseMs: 50, maxMs: 2_000 };

/**
 * One per account: coalesces mutations, writes them in batches of at most `maxOps`, one batch in
 * flight at a time (so a receipt never overtakes the message it is about across batches), retries
 * transient failures with exponential backoff and full jitter, isolates a poison mutation by
 * bisecting a batch that fails for a non-transient reason, and tells each submitter what became of
 * its mutations once they are committed — the actor emits data events only after that.
 */
export class BatchWriter {
  private readonly opts: BatchWriterOptions;
  private readonly retry: { attempts: number; baseMs: number; maxMs: number };
  /**
   * Buffered entries in arrival order, from `head` on; coalescible ones are indexed by key until they
   * are taken. Batches are taken by moving `head` (compacting now and then), not by `splice(0, n)`:
   * a history sync queues tens of thousands of entries at once, and shifting all of them for every
   * batch of 500 cost a visible share of ingest (docs/benchmarks.md).
   */
  private queue: Entry[] = [];
  private head = 0;
  /** Coalescible entries by kind and `coalescingKey` id, until they are taken. */
  private readonly indexes: Record<CoalescedKind, Map<string, Entry>> = { message: new Map(), thread: new Map(), 'jid-mapping': new Map() };
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private closed = false;
  /** Set when `close()` ran out of time: transient failures are no longer retried. */
  private givenUp = false;
  /** Enqueue time of the oldest entry of the batch in flight, and when that batch started. */
  private inFlight: { oldestAt: number; startedAt: number; ops: number } | null = null;
  private retrying = false;
  private retries = 0;

  constructor(opts: BatchWriterOptions) {
    this.opts = opts;
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  /** Operations buffered and not yet committed. */
  get pending(): number {
    return this.queued + (this.inFlight?.ops ?? 0);
  }

  state(now = performance.now()): WriteState {
    const oldest = Math.min(this.inFlight?.oldestAt ?? Number.POSITIVE_INFINITY, this.queue[this.head]?.at ?? Number.POSITIVE_INFINITY);
    return {
      pending: this.pending,
      oldestPendingMs: Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0,
      retrying: this.retrying,
      inFlightMs: this.inFlight ? Math.max(0, now - this.inFlight.startedAt) : 0,
      retries: this.retries,
    };
  }

  /**
   * Queues mutations. The promise settles when all of them are committed or failed — never rejects,
   * so a caller can always report counts.
   */
  submit(mutations: readonly Mutation[], opts: { history: boolean }): Promise<SubmitOutcome> {
    const outcome: SubmitOutcome = { saved: 0, inserted: 0, duplicates: 0, errors: 0, committed: [], dryRun: false };
    if (this.closed) {
      outcome.errors = mutations.length;
      outcome.firstError = 'batch writer is closed';
      return Promise.resolve(outcome);
    }
    if (opts.history && this.opts.dryRun) {
      outcome.dryRun = true;
      outcome.saved = countDistinctMessages(mutations);
      outcome.duplicates = mutations.filter((m) => m.kind === 'message').length - outcome.saved;
      return Promise.resolve(outcome);
    }
    if (mutations.length === 0) return Promise.resolve(outcome);
    return new Promise<SubmitOutcome>((resolve) => {
      const sub: Submission = { remaining: mutations.length, outcome, resolve };
      const at = performance.now();
      for (const m of mutations) this.enqueue(m, sub, at);
      if (sub.remaining === 0) resolve(outcome);
      this.schedule();
    });
  }

  /** Writes everything buffered now. */
  async flush(): Promise<void> {
    this.clearTimer();
    while (this.queued > 0 || this.flushing !== null) {
      if (this.flushing !== null) {
        await this.flushing;
        continue;
      }
      this.flushing = this.flushOnce().finally(() => {
        this.flushing = null;
      });
    }
  }

  /** Flushes what it holds, bounded by `timeoutMs`; refuses new work. */
  async close(timeoutMs: number): Promise<{ flushed: boolean; pending: number }> {
    this.closed = true;
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timeout = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const res = await Promise.race([this.flush().then(() => 'done' as const), timedOut]);
    clearTimeout(timeout);
    if (res !== 'done') this.givenUp = true;
    return { flushed: res === 'done', pending: this.pending };
  }

  private get queued(): number {
    return this.queue.length - this.head;
  }

  private enqueue(m: Mutation, owner: Submission, at: number): void {
    const c = coalescingKey(m);
    const index = c ? this.indexes[c.kind] : null;
    const key = c?.id ?? '';
    if (index !== null) {
      const existing = index.get(key);
      if (existing) {
        existing.mutation = coalesce(existing.mutation, m);
        owner.outcome.duplicates += 1;
        owner.remaining -= 1;
        return;
      }
      const entry: Entry = { mutation: m, owner, at, index, key };
      index.set(key, entry);
      this.queue.push(entry);
      return;
    }
    this.queue.push({ mutation: m, owner, at, index: null, key });
  }

  private schedule(): void {
    if (this.flushing !== null) return; // the running flush loop picks up what is queued
    if (this.queued >= this.opts.maxOps) {
      this.clearTimer();
      void this.flush();
      return;
    }
    if (this.queued > 0 && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.opts.flushMs);
      this.timer.unref?.();
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private async flushOnce(): Promise<void> {
    const batch = this.queue.slice(this.head, this.head + this.opts.maxOps);
    this.head += batch.length;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    for (const e of batch) e.index?.delete(e.key);
    if (batch.length === 0) return;
    this.inFlight = { oldestAt: Math.min(...batch.map((e) => e.at)), startedAt: performance.now(), ops: batch.length };
    try {
      await this.writeEntries(batch);
    } finally {
      this.inFlight = null;
      this.retrying = false;
    }
  }

  private async writeEntries(batch: Entry[]): Promise<void> {
    const started = performance.now();
    const mutations = batch.map((e) => e.mutation);
    let attempts = 0;
    for (;;) {
      attempts += 1;
      try {
        const result = await this.opts.store.applyMutations(this.opts.accountId, mutations);
        this.retrying = false;
        if (attempts > 1) this.opts.logger?.info({ attempts, ops: batch.length }, 'batch write succeeded after retries');
        this.settle(batch, null, new Set(result.insertedIds));
        this.opts.onFlush?.({ ops: batch.length, durationMs: performance.now() - started, attempts, result, failed: false });
        return;
      } catch (err) {
        const transient = err instanceof TransientStoreError;
        if (transient && attempts < this.retry.attempts && !this.givenUp) {
          // One line per outage rather than one per attempt: the attempts go on for as long as it lasts.
          if (attempts === 1 || attempts % 20 === 0) {
            this.opts.logger?.warn({ err: serializeError(err), attempts, ops: batch.length }, 'batch write failed, retrying');
          }
          this.retrying = true;
          this.retries += 1;
          await sleep(backoffDelay(attempts, { ...this.retry, jitter: 'full' }));
          continue;
        }
        this.retrying = false;
        if (!transient && batch.length > 1) {
          // A data-dependent failure: split to find the mutation that causes it and keep the rest.
          const mid = Math.ceil(batch.length / 2);
          await this.writeEntries(batch.slice(0, mid));
          await this.writeEntries(batch.slice(mid));
          return;
        }
        this.opts.logger?.error({ err: serializeError(err), attempts, ops: batch.length }, 'batch write failed');
        this.settle(batch, err, null);
        this.opts.onFlush?.({
          ops: batch.length,
          durationMs: performance.now() - started,
          attempts,
          result: emptyApplyResult(),
          failed: true,
        });
        return;
      }
    }
  }

  private settle(batch: Entry[], err: unknown, inserted: ReadonlySet<string> | null): void {
    for (const e of batch) {
      const o = e.owner.outcome;
      if (err === null) {
        o.committed.push(e.mutation);
        if (e.mutation.kind === 'message') {
          o.saved += 1;
          if (inserted?.has(e.mutation.record.id)) o.inserted += 1;
        }
      } else {
        o.errors += 1;
        o.firstError ??= err instanceof WasyncError || err instanceof Error ? err.message : String(err);
      }
      e.owner.remaining -= 1;
      if (e.owner.remaining === 0) e.owner.resolve(o);
    }
  }
}

function coalesce(a: Mutation, b: Mutation): Mutation {
  if (a.kind === 'message' && b.kind === 'message') return { kind: 'message', record: mergeMessage(a.record, b.record) };
  if (a.kind === 'thread' && b.kind === 'thread') {
    // Keep the higher-ranked name; at equal rank the later one (a rename).
    return DISPLAY_NAME_RANK[b.source] >= DISPLAY_NAME_RANK[a.source] ? b : a;
  }
  return b;
}

function countDistinctMessages(mutations: readonly Mutation[]): number {
  const ids = new Set<string>();
  for (const m of mutations) if (m.kind === 'message') ids.add(m.record.id);
  return ids.size;
}
