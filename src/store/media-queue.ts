import { BadRequestError } from '../domain/errors.js';

/**
 * The media-archive work queue, kept in the store so that a restart in the middle resumes it (a job
 * is a row / document, not a promise in memory). One job per message (`accountId`, `messageId`):
 * enqueueing is idempotent. Design (docs/media-archive.md):
 *
 *   queued ──claim──▶ leased ──complete──▶ done
 *     ▲                 │  └──fail──────▶ failed
 *     └──(wakeAt due)── backoff ◀──retry──┘
 *     └──(lease expired: the worker died)── leased
 *
 * - Order: `live` before `history`; live jobs oldest message first (arrival order), history jobs
 *   newest message first, so the oldest history is archived last and never ahead of live media.
 *   The order is one string, `queueKey`, present only while a job is queued, so both backends pick
 *   the next jobs with one ordered index scan.
 * - `wakeAt` is present only while a job sleeps: the lease expiry of a leased job, the retry time of
 *   one in backoff. Claiming first wakes the jobs whose `wakeAt` has passed (an expired lease is a
 *   worker that died mid-job: the job runs again, and fails for good after `maxAttempts` of those).
 * - Claims are per account: the account's media can need its socket (a re-upload request), which
 *   only the instance that owns the account has.
 * - Leases carry a random `leaseId`; completing, retrying or failing a job needs it, so a worker
 *   whose lease expired and was taken over cannot overwrite the new holder's outcome.
 * - Bounded: the table holds one small row per media message (it is the durable backlog); what is
 *   bounded is the work in flight, at most `limit` claimed jobs per claim and the runner's concurrency.
 */

export type MediaJobPriority = 'live' | 'history';
export type MediaJobState = 'queued' | 'leased' | 'backoff' | 'done' | 'failed';
export const MEDIA_JOB_STATES: readonly MediaJobState[] = ['queued', 'leased', 'backoff', 'done', 'failed'];

export interface MediaJobInput {
  accountId: string;
  messageId: string;
  /** Chat JID: lets backends that address messages by thread find the message in one read. */
  clientJid: string | null;
  priority: MediaJobPriority;
  /** The message's `createdAt` (epoch ms): orders jobs of one priority. */
  messageAt: number;
}

/** What an archived file is known by; kept on the job when it is done. */
export interface MediaJobResult {
  /** Hex SHA-256 of the decrypted file: the archive's content address. */
  sha256: string;
  size: number;
  /** The backend's object key (fs: path under the archive root; s3: object key). */
  key: string;
}

export interface MediaJob extends MediaJobInput {
  state: MediaJobState;
  /** Claims so far (each claim is one attempt, including one whose worker died). */
  attempts: number;
  lastError: string | null;
  /** Leased: when the lease expires. Backoff: when the job may run again. Otherwise null. */
  wakeAt: number | null;
  leaseId: string | null;
  leaseHolder: string | null;
  result: MediaJobResult | null;
  enqueuedAt: number;
  updatedAt: number;
  /** When it reached `done` or `failed`. */
  finishedAt: number | null;
}

/** Proof of holding a claimed job. */
export interface MediaJobLease {
  accountId: string;
  messageId: string;
  leaseId: string;
}

export interface ClaimMediaJobsOptions {
  /** Instance id, kept on the job for operators. */
  holder: string;
  /** 1..100 */
  limit: number;
  leaseMs: number;
  now: number;
  /** A job whose lease expired this many claims in a row fails instead of running again. */
  maxAttempts: number;
}

export type MediaJobCounts = Record<MediaJobState, number>;

export interface MediaQueueStore {
  /** Adds the jobs that do not exist yet; returns how many were added. All-or-nothing per call. */
  enqueueMediaJobs(jobs: readonly MediaJobInput[], now: number): Promise<number>;
  /** Leases up to `limit` due jobs of the account, in queue order (see above). */
  claimMediaJobs(accountId: string, opts: ClaimMediaJobsOptions): Promise<MediaJob[]>;
  /** Extends a lease still held; false when it was lost. */
  renewMediaJob(lease: MediaJobLease, leaseMs: number, now: number): Promise<boolean>;
  completeMediaJob(lease: MediaJobLease, result: MediaJobResult, now: number): Promise<boolean>;
  /** Back to the queue at `retryAt` (its place in the order kept), with the error recorded. */
  retryMediaJob(lease: MediaJobLease, error: string, retryAt: number, now: number): Promise<boolean>;
  /** For good: the job stays, `failed`, with its last error, so the message shows as not archived. */
  failMediaJob(lease: MediaJobLease, error: string, now: number): Promise<boolean>;
  getMediaJob(accountId: string, messageId: string): Promise<MediaJob | null>;
  countMediaJobs(accountId: string): Promise<MediaJobCounts>;
}

export const MAX_CLAIM = 100;
/** Expired leases and due retries woken per claim: bounds one claim's work; the rest wake on the next. */
export const WAKE_BATCH = 200;
/** Errors are kept for operators, not as logs. */
export const MAX_JOB_ERROR_CHARS = 1000;

const KEY_DIGITS = 15;
const KEY_MAX = 10 ** KEY_DIGITS - 1;

/**
 * The job's place in the queue as one sortable string: priority rank first, then the message time,
 * ascending for live jobs and inverted (newest first) for history jobs.
 */
export function mediaQueueKey(priority: MediaJobPriority, messageAt: number): string {
  const at = Math.min(KEY_MAX, Math.max(0, Math.trunc(messageAt)));
  return priority === 'live' ? `0:${pad(at)}` : `1:${pad(KEY_MAX - at)}`;
}

function pad(n: number): string {
  return String(n).padStart(KEY_DIGITS, '0');
}

export function emptyMediaJobCounts(): MediaJobCounts {
  return { queued: 0, leased: 0, backoff: 0, done: 0, failed: 0 };
}

export function truncateJobError(error: string): string {
  return error.length > MAX_JOB_ERROR_CHARS ? `${error.slice(0, MAX_JOB_ERROR_CHARS - 1)}…` : error;
}

/** The same input rules on both backends (ids must also be valid Firestore document ids). */
export function assertJobInput(job: MediaJobInput): void {
  assertJobId(job.accountId, 'accountId');
  assertJobId(job.messageId, 'messageId');
  if (job.priority !== 'live' && job.priority !== 'history') throw new BadRequestError(`media job priority must be live or history`);
  if (!Number.isFinite(job.messageAt)) throw new BadRequestError(`media job messageAt must be a number (epoch ms)`);
  if (job.clientJid !== null && typeof job.clientJid !== 'string')
    throw new BadRequestError('media job clientJid must be a string or null');
}

export function assertClaimOptions(opts: ClaimMediaJobsOptions): void {
  if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_CLAIM)
    throw new BadRequestError(`claim limit must be an integer from 1 to ${MAX_CLAIM}`);
  if (!Number.isFinite(opts.leaseMs) || opts.leaseMs <= 0) throw new BadRequestError('claim leaseMs must be positive');
  if (!Number.isInteger(opts.maxAttempts) || opts.maxAttempts < 1) throw new BadRequestError('claim maxAttempts must be an integer ≥ 1');
}

/** `{accountId}__{messageId}` must stay unambiguous (Firestore's document id), hence no `__` in an account id. */
function assertJobId(id: string, what: string): void {
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > 500 ||
    id.includes('/') ||
    id === '.' ||
    id === '..' ||
    (what === 'accountId' && id.includes('__'))
  ) {
    throw new BadRequestError(`media job ${what} ${JSON.stringify(String(id).slice(0, 80))} is not a valid id`);
  }
}

/** The message that an expired lease leaves on the job (the worker itself never got to say why). */
export function leaseExpiredError(attempts: number, previous: string | null): string {
  const why = `the worker holding the job stopped before finishing it (lease expired; attempt ${attempts})`;
  return truncateJobError(previous ? `${why}; before that: ${previous}` : why);
}
