import { randomUUID } from 'node:crypto';
import type { DocumentData, DocumentReference, Firestore, Query } from 'firebase-admin/firestore';
import {
  MEDIA_JOB_STATES,
  WAKE_BATCH,
  emptyMediaJobCounts,
  leaseExpiredError,
  mediaQueueKey,
  truncateJobError,
  type ClaimMediaJobsOptions,
  type MediaJob,
  type MediaJobCounts,
  type MediaJobInput,
  type MediaJobLease,
  type MediaJobPriority,
  type MediaJobResult,
  type MediaJobState,
} from '../media-queue.js';
import { COLLECTIONS, messageIndexId } from './paths.js';

/** Jobs per enqueue transaction: each is one read and at most one write (limit 500 writes). */
const ENQUEUE_CHUNK = 250;

/**
 * The media queue on Firestore: `wasyncMediaQueue/{accountId}__{messageId}`, times as epoch-ms
 * numbers. `queueKey` is a string only while a job is queued and `wakeAt` a number only while it
 * sleeps (null otherwise; a range filter on a string or number never matches null), so each claim
 * query is one composite index (accountId + that field; firestore.indexes.json) and never reads the
 * done jobs. A claim is one transaction: the due and the next jobs are read, then woken
 * and leased together, so two instances never lease the same job (the emulator isolates transactions
 * like production does; the contract suite runs on it).
 */
/** A job as it is first written (also by `applyMutations`, in the same commit as its message). */
export function newJobDoc(j: MediaJobInput, now: number): DocumentData {
  return {
    accountId: j.accountId,
    messageId: j.messageId,
    clientJid: j.clientJid,
    priority: j.priority,
    messageAt: Math.trunc(j.messageAt),
    state: 'queued',
    queueKey: mediaQueueKey(j.priority, j.messageAt),
    wakeAt: null,
    attempts: 0,
    lastError: null,
    leaseId: null,
    leaseHolder: null,
    result: null,
    enqueuedAt: now,
    updatedAt: now,
    finishedAt: null,
  };
}

export class FirestoreMediaQueue {
  constructor(private readonly db: Firestore) {}

  private ref(accountId: string, messageId: string): DocumentReference {
    return mediaJobRef(this.db, accountId, messageId);
  }

  /** Every job of an account (for deletes). */
  accountJobs(accountId: string): Query {
    return this.db.collection(COLLECTIONS.mediaJobs).where('accountId', '==', accountId);
  }

  async enqueue(jobs: readonly MediaJobInput[], now: number): Promise<number> {
    const unique = new Map<string, MediaJobInput>();
    for (const j of jobs)
      if (!unique.has(messageIndexId(j.accountId, j.messageId))) unique.set(messageIndexId(j.accountId, j.messageId), j);
    const list = [...unique.values()];
    let added = 0;
    for (let i = 0; i < list.length; i += ENQUEUE_CHUNK) {
      const chunk = list.slice(i, i + ENQUEUE_CHUNK);
      added += await this.db.runTransaction(async (tx) => {
        const refs = chunk.map((j) => this.ref(j.accountId, j.messageId));
        const snaps = await tx.getAll(...refs);
        let n = 0;
        snaps.forEach((snap, k) => {
          if (snap.exists) return;
          tx.create(refs[k]!, newJobDoc(chunk[k]!, now));
          n += 1;
        });
        return n;
      });
    }
    return added;
  }

  async claim(accountId: string, o: ClaimMediaJobsOptions): Promise<MediaJob[]> {
    const jobs = this.accountJobs(accountId);
    return this.db.runTransaction(async (tx) => {
      const due = await tx.get(jobs.where('wakeAt', '<=', o.now).orderBy('wakeAt').limit(WAKE_BATCH));
      const next = await tx.get(jobs.where('queueKey', '>', '').orderBy('queueKey').limit(o.limit));

      interface Candidate {
        ref: DocumentReference;
        job: MediaJob;
        key: string;
        /** Set when the job was leased and its lease expired: the worker died mid-job. */
        expiredError: string | null;
      }
      const candidates: Candidate[] = next.docs.map((d) => ({
        ref: d.ref,
        job: docToJob(d.data()),
        key: String(d.get('queueKey')),
        expiredError: null,
      }));
      const woken: Candidate[] = [];
      for (const d of due.docs) {
        const job = docToJob(d.data());
        if (job.state === 'leased' && job.attempts >= o.maxAttempts) {
          tx.update(d.ref, {
            ...sleepOff(),
            state: 'failed',
            lastError: leaseExpiredError(job.attempts, job.lastError),
            updatedAt: o.now,
            finishedAt: o.now,
          });
          continue;
        }
        const c: Candidate = {
          ref: d.ref,
          job,
          key: mediaQueueKey(job.priority, job.messageAt),
          expiredError: job.state === 'leased' ? leaseExpiredError(job.attempts, null) : null,
        };
        woken.push(c);
        candidates.push(c);
      }
      candidates.sort((a, b) => compare(a.key, b.key) || compare(a.job.messageId, b.job.messageId));
      const picked = new Set(candidates.slice(0, o.limit));

      for (const c of woken) {
        if (picked.has(c)) continue;
        tx.update(c.ref, {
          ...sleepOff(),
          state: 'queued',
          queueKey: c.key,
          ...(c.expiredError ? { lastError: c.expiredError } : {}),
          updatedAt: o.now,
        });
      }
      const claimed: MediaJob[] = [];
      for (const c of picked) {
        const leased: MediaJob = {
          ...c.job,
          state: 'leased',
          attempts: c.job.attempts + 1,
          lastError: c.expiredError ?? c.job.lastError,
          wakeAt: o.now + o.leaseMs,
          leaseId: randomUUID(),
          leaseHolder: o.holder,
          updatedAt: o.now,
        };
        tx.update(c.ref, {
          state: 'leased',
          queueKey: null,
          wakeAt: leased.wakeAt,
          attempts: leased.attempts,
          lastError: leased.lastError,
          leaseId: leased.leaseId,
          leaseHolder: leased.leaseHolder,
          updatedAt: o.now,
        });
        claimed.push(leased);
      }
      return claimed;
    });
  }

  renewLease(l: MediaJobLease, leaseMs: number, now: number): Promise<boolean> {
    return this.ifLeased(l, () => ({ wakeAt: now + leaseMs, updatedAt: now }));
  }

  complete(l: MediaJobLease, result: MediaJobResult, now: number): Promise<boolean> {
    return this.ifLeased(l, () => ({ ...sleepOff(), state: 'done', result: { ...result }, updatedAt: now, finishedAt: now }));
  }

  fail(l: MediaJobLease, error: string, now: number): Promise<boolean> {
    return this.ifLeased(l, () => ({
      ...sleepOff(),
      state: 'failed',
      lastError: truncateJobError(error),
      updatedAt: now,
      finishedAt: now,
    }));
  }

  retry(l: MediaJobLease, error: string, retryAt: number, now: number): Promise<boolean> {
    return this.ifLeased(l, () => ({
      state: 'backoff',
      wakeAt: Math.max(now, retryAt),
      leaseId: null,
      leaseHolder: null,
      lastError: truncateJobError(error),
      updatedAt: now,
    }));
  }

  async find(accountId: string, messageId: string): Promise<MediaJob | null> {
    const snap = await this.ref(accountId, messageId).get();
    return snap.exists ? docToJob(snap.data() ?? {}) : null;
  }

  async count(accountId: string): Promise<MediaJobCounts> {
    const out = emptyMediaJobCounts();
    const counts = await Promise.all(
      MEDIA_JOB_STATES.map((state) => this.accountJobs(accountId).where('state', '==', state).count().get()),
    );
    MEDIA_JOB_STATES.forEach((state, i) => {
      out[state] = counts[i]!.data().count;
    });
    return out;
  }

  /** Applies `fields` only while the caller still holds the lease. */
  private async ifLeased(l: MediaJobLease, fields: () => DocumentData): Promise<boolean> {
    const ref = this.ref(l.accountId, l.messageId);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists || snap.get('state') !== 'leased' || snap.get('leaseId') !== l.leaseId) return false;
      tx.update(ref, fields());
      return true;
    });
  }
}

/** A job that leaves the leased/backoff states loses its wake time and lease (null, not deleted: see above). */
function sleepOff(): DocumentData {
  return { wakeAt: null, queueKey: null, leaseId: null, leaseHolder: null };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function docToJob(d: DocumentData): MediaJob {
  const result = d.result as Partial<MediaJobResult> | null | undefined;
  return {
    accountId: String(d.accountId),
    messageId: String(d.messageId),
    clientJid: str(d.clientJid),
    priority: d.priority as MediaJobPriority,
    messageAt: num(d.messageAt) ?? 0,
    state: d.state as MediaJobState,
    attempts: num(d.attempts) ?? 0,
    lastError: str(d.lastError),
    wakeAt: num(d.wakeAt),
    leaseId: str(d.leaseId),
    leaseHolder: str(d.leaseHolder),
    result:
      result && typeof result.sha256 === 'string' && typeof result.key === 'string'
        ? { sha256: result.sha256, key: result.key, size: num(result.size) ?? 0 }
        : null,
    enqueuedAt: num(d.enqueuedAt) ?? 0,
    updatedAt: num(d.updatedAt) ?? 0,
    finishedAt: num(d.finishedAt),
  };
}

export function mediaJobRef(db: Firestore, accountId: string, messageId: string): DocumentReference {
  return db.collection(COLLECTIONS.mediaJobs).doc(messageIndexId(accountId, messageId));
}
