import type Database from 'better-sqlite3';
import type { ChangeEvent } from '../../domain/change-events.js';
import { FROM_OLDEST, decodeEvents, encodeEvents, type ChangeBatch, type ChangePage } from '../change-log.js';

interface BatchRow {
  account_id: string;
  seq: number;
  committed_at: number;
  events: string;
}

/**
 * The change log on SQLite (tables `change_log`, `change_log_heads`, `change_log_meta`, `single_use`;
 * migration 3). `append` runs inside the caller's `BEGIN IMMEDIATE` transaction, which is what makes
 * the log a transactional outbox: the batch commits with the rows it describes or not at all, and the
 * write lock orders the batches of an account exactly as they commit.
 */
export class SqliteChangeLog {
  private readonly getHead: Database.Statement<[string], number>;
  private readonly setHead: Database.Statement<[string, number]>;
  private readonly insert: Database.Statement<[string, number, number, string]>;
  private readonly after: Database.Statement<[string, number, number], BatchRow>;
  private readonly oldest: Database.Statement<[string, number], BatchRow>;
  private readonly heads: Database.Statement<[], { account_id: string; seq: number }>;
  private readonly prune: Database.Statement<[number]>;
  private readonly epochStmt: Database.Statement<[], string>;
  private readonly once: Database.Statement<[string, number]>;
  private readonly pruneOnce: Database.Statement<[number]>;
  private readonly deleteAccountRows: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.getHead = db.prepare<[string], number>('SELECT seq FROM change_log_heads WHERE account_id = ?').pluck();
    this.setHead = db.prepare(
      `INSERT INTO change_log_heads (account_id, seq) VALUES (?, ?)
       ON CONFLICT (account_id) DO UPDATE SET seq = excluded.seq`,
    );
    this.insert = db.prepare('INSERT INTO change_log (account_id, seq, committed_at, events) VALUES (?, ?, ?, ?)');
    this.after = db.prepare('SELECT * FROM change_log WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?');
    this.oldest = db.prepare('SELECT * FROM change_log WHERE account_id = ? ORDER BY seq LIMIT ?');
    this.heads = db.prepare('SELECT account_id, seq FROM change_log_heads');
    // Each account's last batch stays: it is what a reader at the head compares its position with.
    this.prune = db.prepare(
      `DELETE FROM change_log WHERE committed_at < ?
       AND seq < (SELECT h.seq FROM change_log_heads h WHERE h.account_id = change_log.account_id)`,
    );
    this.epochStmt = db.prepare<[], string>(`SELECT value FROM change_log_meta WHERE key = 'epoch'`).pluck();
    this.once = db.prepare('INSERT INTO single_use (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING');
    this.pruneOnce = db.prepare('DELETE FROM single_use WHERE expires_at < ?');
    this.deleteAccountRows = db.prepare('DELETE FROM change_log WHERE account_id = ?');
  }

  /** Inside a write transaction: the next batch of `accountId`. Returns its number, or null when there was nothing to log. */
  append(accountId: string, events: readonly ChangeEvent[], now: number): number | null {
    if (events.length === 0) return null;
    const seq = (this.getHead.get(accountId) ?? 0) + 1;
    this.insert.run(accountId, seq, now, encodeEvents(events));
    this.setHead.run(accountId, seq);
    return seq;
  }

  /** Inside a (deferred) read transaction, so the head and the page are one snapshot. */
  read(accountId: string, afterSeq: number | typeof FROM_OLDEST, limit: number): ChangePage {
    if (afterSeq === FROM_OLDEST) return { status: 'ok', batches: this.oldest.all(accountId, limit).map(toBatch) };
    const head = this.getHead.get(accountId) ?? 0;
    if (afterSeq > head) return { status: 'resync', reason: 'ahead' };
    const rows = this.after.all(accountId, afterSeq, limit);
    // Numbers have no gaps and the last batch is never pruned: a missing next batch was pruned.
    if (afterSeq < head && rows[0]?.seq !== afterSeq + 1) return { status: 'resync', reason: 'pruned' };
    return { status: 'ok', batches: rows.map(toBatch) };
  }

  head(accountId: string): number {
    return this.getHead.get(accountId) ?? 0;
  }

  allHeads(): Map<string, number> {
    return new Map(this.heads.all().map((r) => [r.account_id, r.seq]));
  }

  pruneBefore(before: number, now: number): number {
    this.pruneOnce.run(now);
    return this.prune.run(before).changes;
  }

  epoch(): string {
    return this.epochStmt.get() ?? 'unknown';
  }

  useOnce(key: string, expiresAt: number): boolean {
    return this.once.run(key, expiresAt).changes === 1;
  }

  /**
   * Purge: the account's log goes with its messages (it holds their bodies). The head stays, so an
   * account created again under the same id numbers on, and an old cursor reads as pruned.
   */
  deleteAccount(accountId: string): void {
    this.deleteAccountRows.run(accountId);
  }
}

function toBatch(row: BatchRow): ChangeBatch {
  return { accountId: row.account_id, seq: row.seq, committedAt: row.committed_at, events: decodeEvents(row.events) };
}
