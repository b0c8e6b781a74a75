import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
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
  type MediaJobResult,
  type MediaJobState,
} from '../media-queue.js';

interface JobRow {
  account_id: string;
  message_id: string;
  client_jid: string | null;
  priority: 'live' | 'history';
  message_at: number;
  state: MediaJobState;
  queue_key: string | null;
  wake_at: number | null;
  attempts: number;
  last_error: string | null;
  lease_id: string | null;
  lease_holder: string | null;
  result: string | null;
  enqueued_at: number;
  updated_at: number;
  finished_at: number | null;
}

/**
 * The media queue on SQLite (table `media_jobs`, migration 2). Every method runs inside the store's
 * `BEGIN IMMEDIATE` transaction, so a claim's wake-then-lease is one atomic step against other
 * connections (each account worker has its own).
 */
export class SqliteMediaQueue {
  private readonly insert: Database.Statement<[string, string, string | null, string, number, string, number, number]>;
  private readonly get: Database.Statement<[string, string], JobRow>;
  private readonly due: Database.Statement<[string, number, number], JobRow>;
  private readonly next: Database.Statement<[string, number], JobRow>;
  private readonly requeue: Database.Statement<[string, string | null, number, string, string]>;
  private readonly expire: Database.Statement<[string, number, number, string, string]>;
  private readonly lease: Database.Statement<[string, string, number, number, string, string]>;
  private readonly renew: Database.Statement<[number, number, string, string, string]>;
  private readonly finish: Database.Statement<[string, string | null, string | null, number, number, string, string, string]>;
  private readonly backoff: Database.Statement<[number, string, number, string, string, string]>;
  private readonly counts: Database.Statement<[string], { state: MediaJobState; n: number }>;
  private readonly deleteAccount: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`INSERT OR IGNORE INTO media_jobs
      (account_id, message_id, client_jid, priority, message_at, state, queue_key, attempts, enqueued_at, updated_at)
      VALUES (?, ?, ?, ?, ?, 'queued', ?, 0, ?, ?)`);
    this.get = db.prepare('SELECT * FROM media_jobs WHERE account_id = ? AND message_id = ?');
    this.due = db.prepare(
      'SELECT * FROM media_jobs WHERE account_id = ? AND wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at, message_id LIMIT ?',
    );
    this.next = db.prepare(
      'SELECT * FROM media_jobs WHERE account_id = ? AND queue_key IS NOT NULL ORDER BY queue_key, message_id LIMIT ?',
    );
    this.requeue = db.prepare(`UPDATE media_jobs SET state = 'queued', queue_key = ?, wake_at = NULL, lease_id = NULL, lease_holder = NULL,
      last_error = COALESCE(?, last_error), updated_at = ? WHERE account_id = ? AND message_id = ?`);
    this.expire =
      db.prepare(`UPDATE media_jobs SET state = 'failed', queue_key = NULL, wake_at = NULL, lease_id = NULL, lease_holder = NULL,
      last_error = ?, updated_at = ?, finished_at = ? WHERE account_id = ? AND message_id = ?`);
    this.lease = db.prepare(`UPDATE media_jobs SET state = 'leased', queue_key = NULL, lease_id = ?, lease_holder = ?, wake_at = ?,
      attempts = attempts + 1, updated_at = ? WHERE account_id = ? AND message_id = ?`);
    this.renew = db.prepare(`UPDATE media_jobs SET wake_at = ?, updated_at = ?
      WHERE account_id = ? AND message_id = ? AND state = 'leased' AND lease_id = ?`);
    this.finish = db.prepare(`UPDATE media_jobs SET state = ?, result = COALESCE(?, result), last_error = COALESCE(?, last_error),
      queue_key = NULL, wake_at = NULL, lease_id = NULL, lease_holder = NULL, updated_at = ?, finished_at = ?
      WHERE account_id = ? AND message_id = ? AND state = 'leased' AND lease_id = ?`);
    this.backoff = db.prepare(`UPDATE media_jobs SET state = 'backoff', wake_at = ?, last_error = ?, lease_id = NULL, lease_holder = NULL,
      updated_at = ? WHERE account_id = ? AND message_id = ? AND state = 'leased' AND lease_id = ?`);
    this.counts = db.prepare('SELECT state, COUNT(*) AS n FROM media_jobs WHERE account_id = ? GROUP BY state');
    this.deleteAccount = db.prepare('DELETE FROM media_jobs WHERE account_id = ?');
  }

  enqueue(jobs: readonly MediaJobInput[], now: number): number {
    let added = 0;
    for (const j of jobs) {
      const key = mediaQueueKey(j.priority, j.messageAt);
      added += this.insert.run(j.accountId, j.messageId, j.clientJid, j.priority, Math.trunc(j.messageAt), key, now, now).changes;
    }
    return added;
  }

  claim(accountId: string, o: ClaimMediaJobsOptions): MediaJob[] {
    for (const row of this.due.all(accountId, o.now, WAKE_BATCH)) {
      if (row.state === 'leased' && row.attempts >= o.maxAttempts) {
        this.expire.run(leaseExpiredError(row.attempts, row.last_error), o.now, o.now, accountId, row.message_id);
      } else {
        const expired = row.state === 'leased' ? leaseExpiredError(row.attempts, null) : null;
        this.requeue.run(mediaQueueKey(row.priority, row.message_at), expired, o.now, accountId, row.message_id);
      }
    }
    const claimed: MediaJob[] = [];
    for (const row of this.next.all(accountId, o.limit)) {
      const leaseId = randomUUID();
      this.lease.run(leaseId, o.holder, o.now + o.leaseMs, o.now, accountId, row.message_id);
      claimed.push(rowToJob(this.get.get(accountId, row.message_id)!));
    }
    return claimed;
  }

  renewLease(l: MediaJobLease, leaseMs: number, now: number): boolean {
    return this.renew.run(now + leaseMs, now, l.accountId, l.messageId, l.leaseId).changes > 0;
  }

  complete(l: MediaJobLease, result: MediaJobResult, now: number): boolean {
    return this.finish.run('done', JSON.stringify(result), null, now, now, l.accountId, l.messageId, l.leaseId).changes > 0;
  }

  fail(l: MediaJobLease, error: string, now: number): boolean {
    return this.finish.run('failed', null, truncateJobError(error), now, now, l.accountId, l.messageId, l.leaseId).changes > 0;
  }

  retry(l: MediaJobLease, error: string, retryAt: number, now: number): boolean {
    return this.backoff.run(Math.max(now, retryAt), truncateJobError(error), now, l.accountId, l.messageId, l.leaseId).changes > 0;
  }

  find(accountId: string, messageId: string): MediaJob | null {
    const row = this.get.get(accountId, messageId);
    return row ? rowToJob(row) : null;
  }

  count(accountId: string): MediaJobCounts {
    const out = emptyMediaJobCounts();
    for (const { state, n } of this.counts.all(accountId)) if (MEDIA_JOB_STATES.includes(state)) out[state] = n;
    return out;
  }

  deleteAccountJobs(accountId: string): void {
    this.deleteAccount.run(accountId);
  }
}

function rowToJob(r: JobRow): MediaJob {
  return {
    accountId: r.account_id,
    messageId: r.message_id,
    clientJid: r.client_jid,
    priority: r.priority,
    messageAt: r.message_at,
    state: r.state,
    attempts: r.attempts,
    lastError: r.last_error,
    wakeAt: r.wake_at,
    leaseId: r.lease_id,
    leaseHolder: r.lease_holder,
    result: r.result ? (JSON.parse(r.result) as MediaJobResult) : null,
    enqueuedAt: r.enqueued_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}
