import { setTimeout as sleepMs } from 'node:timers/promises';
import {
  DocumentReference,
  FieldValue,
  GeoPoint,
  Timestamp,
  type DocumentData,
  type Firestore,
  type WriteBatch,
} from 'firebase-admin/firestore';
import type { Logger } from '../../logging/logger.js';
import { backoffDelay } from '../../domain/backoff.js';
import type { ChangeEvent } from '../../domain/change-events.js';
import { StoreError } from '../../domain/errors.js';
import { GRPC_DEADLINE_EXCEEDED, GRPC_RESOURCE_EXHAUSTED, grpcCodeOf, isTransientFirestoreError, toStoreError } from './errors.js';

/**
 * How writes reach Firestore: grouped, cut into commits that respect both of Firestore's commit
 * limits (500 writes, 10 MiB), paced by a token bucket that follows Google's 500/50/5 ramp-up rule,
 * spread with jitter, and retried with backoff on the gRPC codes Google documents as transient.
 */

// ------------------------------------------------------------------ write operations

export type WriteOp =
  | { type: 'set'; ref: DocumentReference; data: DocumentData; merge: boolean }
  /** Fails the whole commit when the document exists (the change log's batch numbers). */
  | { type: 'create'; ref: DocumentReference; data: DocumentData }
  | { type: 'update'; ref: DocumentReference; data: DocumentData }
  | { type: 'delete'; ref: DocumentReference };

/** Operations that must land in the same commit (a message and its index entry, a move's delete and set). */
export type WriteGroup = readonly WriteOp[];

/** A group with the change-log events its writes cause: they go in the same commit (change-log.ts). */
export interface LoggedGroup {
  ops: WriteGroup;
  events: readonly ChangeEvent[];
}

/** What the committer needs of the change log: the commit runs inside `append`, with the log's documents added. */
export interface ChangeLogWriter {
  append(accountId: string, events: readonly ChangeEvent[], run: (feedOps: WriteOp[]) => Promise<void>): Promise<void>;
}

export interface CommitLimits {
  maxOps: number;
  maxBytes: number;
}

/**
 * Firestore refuses a commit of more than 500 writes or 10 MiB. Estimates below are close but not
 * exact (request framing, field masks), so commits are cut at 9 MiB to keep a margin.
 */
export const FIRESTORE_COMMIT_LIMITS: CommitLimits = { maxOps: 500, maxBytes: 9 * 1024 * 1024 };

/** Firestore's own limit for one document; `estimateDocumentBytes` follows its size rules. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

// ------------------------------------------------------------------ size estimates

/**
 * Storage size per Firestore's documented rules: strings are UTF-8 bytes + 1, numbers, timestamps
 * 8, booleans and null 1, bytes their length, maps the sum of (field name + 1 + value), a document
 * its name (path + 16) plus fields plus 32.
 */
export function estimateValueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8') + 1;
  if (typeof value === 'number' || typeof value === 'bigint') return 8;
  if (value instanceof Timestamp || value instanceof Date) return 8;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof GeoPoint) return 16;
  if (value instanceof DocumentReference) return documentNameBytes(value.path);
  if (value instanceof FieldValue) return 8;
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + estimateValueBytes(v), 0);
  if (typeof value === 'object') return estimateFieldsBytes(value as Record<string, unknown>);
  return 8;
}

function estimateFieldsBytes(fields: Record<string, unknown>): number {
  let sum = 0;
  for (const [name, v] of Object.entries(fields)) sum += Buffer.byteLength(name, 'utf8') + 1 + estimateValueBytes(v);
  return sum;
}

export function estimateDocumentBytes(path: string, data: DocumentData): number {
  return documentNameBytes(path) + estimateFieldsBytes(data) + 32;
}

/** Each collection and document id of the path as a string (UTF-8 bytes + 1), plus 16. */
function documentNameBytes(path: string): number {
  return path.split('/').reduce((sum, id) => sum + Buffer.byteLength(id, 'utf8') + 1, 0) + 16;
}

/** What one write adds to a commit request: the document, plus the field mask of a merge. */
export function estimateWriteBytes(op: WriteOp): number {
  if (op.type === 'delete') return Buffer.byteLength(op.ref.path, 'utf8') + 48;
  const doc = estimateDocumentBytes(op.ref.path, op.data);
  const mask = op.type === 'update' || (op.type === 'set' && op.merge) ? maskBytes(op.data) : 0;
  return doc + mask;
}

/** A merge sends the path of every leaf field it sets. */
function maskBytes(data: DocumentData, prefixBytes = 0): number {
  let sum = 0;
  for (const [name, v] of Object.entries(data)) {
    const path = prefixBytes + Buffer.byteLength(name, 'utf8') + 1;
    sum += isPlainMap(v) && Object.keys(v).length > 0 ? maskBytes(v, path) : path;
  }
  return sum;
}

function isPlainMap(v: unknown): v is DocumentData {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    !(v instanceof Timestamp) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof FieldValue) &&
    !(v instanceof GeoPoint) &&
    !(v instanceof DocumentReference) &&
    !(v instanceof Date)
  );
}

// ------------------------------------------------------------------ cutting commits

/**
 * Packs groups, in order, into commits of at most `maxOps` operations and `maxBytes` estimated bytes.
 * A group is never split. A group alone over the byte limit still gets a commit of its own (Firestore
 * is the judge of the real size); one over the operation limit is a programming error.
 */
export function planCommits<T>(
  groups: ReadonlyArray<readonly T[]>,
  sizeOf: (op: T) => number,
  limits: CommitLimits = FIRESTORE_COMMIT_LIMITS,
): T[][] {
  return planLoggedCommits(
    groups.map((ops) => ({ ops, events: [] })),
    sizeOf,
    limits,
  ).map((c) => c.ops);
}

/** One planned commit: its writes and the change-log events they cause. */
export interface PlannedCommit<T> {
  ops: T[];
  events: ChangeEvent[];
}

/**
 * `planCommits` for groups that carry change-log events: each commit keeps room for the log's
 * documents its events need (one per `FEED_DOC_MAX_BYTES` of events) in both the operation and the
 * byte budget, so the log always lands in the commit of the writes it describes.
 */
export function planLoggedCommits<T>(
  groups: ReadonlyArray<{ ops: readonly T[]; events: readonly ChangeEvent[] }>,
  sizeOf: (op: T) => number,
  limits: CommitLimits = FIRESTORE_COMMIT_LIMITS,
  feedDocBytes = 900 * 1024,
): Array<PlannedCommit<T>> {
  const commits: Array<PlannedCommit<T>> = [];
  let current: PlannedCommit<T> = { ops: [], events: [] };
  let bytes = 0;
  let eventBytes = 0;
  const feedDocs = (b: number) => (b === 0 ? 0 : Math.ceil(b / feedDocBytes));
  for (const group of groups) {
    if (group.ops.length === 0 && group.events.length === 0) continue;
    // Their JSON (how the log stores them) runs up to about twice Firestore's size estimate.
    const groupEventBytes = 2 * group.events.reduce((sum, e) => sum + estimateValueBytes(e), 0);
    if (group.ops.length + feedDocs(groupEventBytes) > limits.maxOps)
      throw new StoreError(`a write group of ${group.ops.length} operations exceeds the commit limit of ${limits.maxOps}`);
    const groupBytes = group.ops.reduce((sum, op) => sum + sizeOf(op), 0);
    const ops = current.ops.length + group.ops.length + feedDocs(eventBytes + groupEventBytes);
    const fits = ops <= limits.maxOps && bytes + groupBytes + eventBytes + groupEventBytes <= limits.maxBytes;
    if (!fits && (current.ops.length > 0 || current.events.length > 0)) {
      commits.push(current);
      current = { ops: [], events: [] };
      bytes = 0;
      eventBytes = 0;
    }
    current.ops.push(...group.ops);
    current.events.push(...group.events);
    bytes += groupBytes;
    eventBytes += groupEventBytes;
  }
  if (current.ops.length > 0 || current.events.length > 0) commits.push(current);
  return commits;
}

// ------------------------------------------------------------------ pacing

export interface RampOptions {
  /** Writes per second at the start of a burst of load (Google: "start at 500"). */
  initialRate: number;
  /** Rate multiplier per step of sustained load (Google: "+50%"). */
  growthFactor: number;
  /** Length of one step (Google: "every 5 minutes"). */
  growthEveryMs: number;
  /** A pause this long ends the burst: the next write starts the ramp again. */
  idleResetMs: number;
  maxRate: number;
}

export const DEFAULT_RAMP: RampOptions = {
  initialRate: 500,
  growthFactor: 1.5,
  growthEveryMs: 5 * 60_000,
  idleResetMs: 60_000,
  maxRate: Number.POSITIVE_INFINITY,
};

/**
 * A token bucket whose rate follows the 500/50/5 rule: 500 writes/s when load starts, ×1.5 after
 * every 5 minutes of sustained load. The bucket holds one second's worth of tokens, so a single
 * 500-write commit goes out at once and a long sync settles at the current rate. A reservation
 * larger than the balance goes into debt and returns how long to wait, so concurrent callers queue
 * behind each other instead of racing for the same tokens.
 *
 * The clock is injected: tests drive minutes of ramp without waiting.
 */
export class RampingTokenBucket {
  private readonly opts: RampOptions;
  private readonly now: () => number;
  private tokens = 0;
  private lastRefillAt = 0;
  private lastUseAt = Number.NEGATIVE_INFINITY;
  private loadStartedAt: number | null = null;

  constructor(opts: Partial<RampOptions> = {}, now: () => number = Date.now) {
    this.opts = { ...DEFAULT_RAMP, ...opts };
    if (!(this.opts.initialRate > 0) || !(this.opts.growthFactor >= 1) || !(this.opts.growthEveryMs > 0)) {
      throw new StoreError('ramp: initialRate must be > 0, growthFactor ≥ 1, growthEveryMs > 0');
    }
    this.now = now;
  }

  /** Writes per second allowed at `at` (the initial rate when no load is under way). */
  rate(at: number = this.now()): number {
    if (this.loadStartedAt === null || at - this.lastUseAt > this.opts.idleResetMs)
      return Math.min(this.opts.initialRate, this.opts.maxRate);
    const steps = Math.max(0, Math.floor((at - this.loadStartedAt) / this.opts.growthEveryMs));
    return Math.min(this.opts.maxRate, this.opts.initialRate * this.opts.growthFactor ** steps);
  }

  /** Takes `n` tokens; returns the milliseconds to wait before writing them (0: go now). */
  reserve(n: number): number {
    const t = this.now();
    if (this.loadStartedAt === null || t - this.lastUseAt > this.opts.idleResetMs) {
      this.loadStartedAt = t;
      this.lastRefillAt = t;
      this.lastUseAt = t;
      this.tokens = this.rate(t);
    } else {
      const rate = this.rate(t);
      const elapsed = Math.max(0, t - this.lastRefillAt);
      this.tokens = Math.min(rate, this.tokens + (elapsed * rate) / 1000);
      this.lastRefillAt = t;
    }
    this.tokens -= n;
    const wait = this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate(t)) * 1000);
    // The writes happen after the wait: that is when the load is last seen.
    this.lastUseAt = Math.max(this.lastUseAt, t + wait);
    return wait;
  }

  /** RESOURCE_EXHAUSTED: Firestore is not keeping up; start the ramp over from the initial rate. */
  restartRamp(): void {
    const t = this.now();
    this.loadStartedAt = t;
    this.tokens = Math.min(this.tokens, 0);
    this.lastRefillAt = t;
  }
}

// ------------------------------------------------------------------ retries

export interface RetryOptions {
  /** Total tries, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, baseMs: 100, maxMs: 5_000 };

export interface Timing {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const realTiming: Timing = {
  sleep: async (ms) => {
    if (ms > 0) await sleepMs(ms);
  },
  random: Math.random,
};

/**
 * Runs `fn`, retrying transient Firestore failures with exponential backoff and full jitter. Once
 * the attempts are spent the last error is rethrown as the port's error: TransientStoreError for the
 * transient codes (so the caller's batch writer retries the whole batch later), StoreError otherwise.
 */
export async function withRetry<T>(
  operation: string,
  fn: () => Promise<T>,
  retry: RetryOptions,
  timing: Timing,
  onTransient?: (err: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientFirestoreError(err) || attempt >= retry.attempts) throw toStoreError(err, operation);
      onTransient?.(err, attempt);
      await timing.sleep(backoffDelay(attempt, { baseMs: retry.baseMs, maxMs: retry.maxMs, jitter: 'full', random: timing.random }));
    }
  }
}

// ------------------------------------------------------------------ committer

export interface CommitterOptions {
  limits: CommitLimits;
  retry: RetryOptions;
  /** Upper bound of the random pause between two commits of one call. */
  jitterMs: number;
  ramp: Partial<RampOptions>;
  now: () => number;
  timing: Timing;
  /** The commit itself; tests wrap it to inject failures. */
  commit: (batch: WriteBatch) => Promise<unknown>;
  /**
   * A commit that has not answered by then counts as DEADLINE_EXCEEDED and is retried. The client
   * can wait on a broken channel for minutes; the retried writes are idempotent, so a late success
   * of the first attempt does no harm.
   */
  commitTimeoutMs: number;
  logger?: Logger;
}

export interface CommitStats {
  commits: number;
  ops: number;
  retries: number;
  waitedMs: number;
}

export class Committer {
  readonly bucket: RampingTokenBucket;
  private readonly db: Firestore;
  private readonly opts: CommitterOptions;

  constructor(db: Firestore, opts: Partial<CommitterOptions> = {}) {
    this.db = db;
    this.opts = {
      limits: opts.limits ?? FIRESTORE_COMMIT_LIMITS,
      retry: opts.retry ?? DEFAULT_RETRY,
      jitterMs: opts.jitterMs ?? 25,
      ramp: opts.ramp ?? {},
      now: opts.now ?? Date.now,
      timing: opts.timing ?? realTiming,
      commit: opts.commit ?? ((batch) => batch.commit()),
      commitTimeoutMs: opts.commitTimeoutMs ?? 60_000,
      ...(opts.logger ? { logger: opts.logger } : {}),
    };
    this.bucket = new RampingTokenBucket(this.opts.ramp, this.opts.now);
  }

  /** Commits the groups in order, one commit at a time (later groups may depend on earlier ones). */
  async commit(operation: string, groups: readonly WriteGroup[]): Promise<CommitStats> {
    return this.commitLogged(
      operation,
      groups.map((ops) => ({ ops, events: [] })),
      null,
    );
  }

  /**
   * `commit` for groups that carry change-log events: every commit with events runs inside the log's
   * `append` (which numbers it and adds its documents), so a commit and its log entry land together.
   */
  async commitLogged(
    operation: string,
    groups: readonly LoggedGroup[],
    log: { accountId: string; writer: ChangeLogWriter } | null,
  ): Promise<CommitStats> {
    const plan = planLoggedCommits(groups, estimateWriteBytes, this.opts.limits);
    const stats: CommitStats = { commits: 0, ops: 0, retries: 0, waitedMs: 0 };
    const { timing } = this.opts;
    for (const [i, planned] of plan.entries()) {
      const { ops, events } = planned;
      let wait = this.bucket.reserve(ops.length + (events.length > 0 && log ? 1 : 0));
      if (i > 0 && this.opts.jitterMs > 0) wait += Math.floor(timing.random() * this.opts.jitterMs);
      if (wait > 0) {
        stats.waitedMs += wait;
        await timing.sleep(wait);
      }
      const send = (all: readonly WriteOp[]) =>
        withRetry(
          operation,
          () => withDeadline(this.opts.commit(this.toBatch(all)), this.opts.commitTimeoutMs),
          this.opts.retry,
          timing,
          (err, attempt) => {
            stats.retries++;
            if (grpcCodeOf(err) === GRPC_RESOURCE_EXHAUSTED) this.bucket.restartRamp();
            this.opts.logger?.warn(
              { operation, attempt, code: grpcCodeOf(err), ops: all.length },
              'firestore commit failed transiently; retrying',
            );
          },
        );
      if (events.length > 0 && log) {
        await log.writer.append(log.accountId, events, async (feedOps) => {
          await send([...ops, ...feedOps]);
          stats.ops += feedOps.length;
        });
      } else if (ops.length > 0) {
        await send(ops);
      }
      stats.commits++;
      stats.ops += ops.length;
    }
    return stats;
  }

  /** A fresh batch per attempt: a WriteBatch cannot be committed twice. */
  private toBatch(ops: readonly WriteOp[]): WriteBatch {
    const batch = this.db.batch();
    for (const op of ops) {
      if (op.type === 'set') batch.set(op.ref, op.data, { merge: op.merge });
      else if (op.type === 'create') batch.create(op.ref, op.data);
      else if (op.type === 'update') batch.update(op.ref, op.data);
      else batch.delete(op.ref);
    }
    return batch;
  }
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`commit did not answer within ${ms} ms`), { code: GRPC_DEADLINE_EXCEEDED })),
      ms,
    );
    timer.unref();
  });
  // The abandoned attempt may still settle later; its rejection must not surface as unhandled.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
