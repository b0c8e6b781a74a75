import type Database from 'better-sqlite3';
import { loggedMessage, type ChangeEvent, type LoggedMessage, type MessageEventRef } from '../../domain/change-events.js';
import { FROM_OLDEST, type ChangeBatch, type ChangePage } from '../change-log.js';
import { rowToMessage, type MessageRow } from './row-mapping.js';

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
 *
 * Message events are stored as references (`["m+", id]`, `["m~", id, changes]`) and read back with
 * the message's row, in the reader's snapshot: a history sync writes one event per message, and
 * copying every message into the log cost a third more CPU per batch (docs/live-events.md, measured),
 * while a primary-key read on this side is cheap. The message an event carries is therefore the row
 * as it is when read (never older than the event). Other events are stored whole.
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
  private readonly message: Database.Statement<[string, string], MessageRow>;

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
    this.message = db.prepare('SELECT * FROM messages WHERE account_id = ? AND id = ?');
  }

  /**
   * Inside a write transaction: the next batch of `accountId`. Returns its number, or null when there
   * was nothing to log. Message events may come whole or as references (`applyMutations` sends
   * references): either way the log keeps the reference.
   */
  append(accountId: string, events: readonly LoggedEvent[], now: number): number | null {
    if (events.length === 0) return null;
    const seq = (this.getHead.get(accountId) ?? 0) + 1;
    this.insert.run(accountId, seq, now, `[${events.map(encodeEvent).join(',')}]`);
    this.setHead.run(accountId, seq);
    return seq;
  }

  /** Inside a (deferred) read transaction, so the head and the page are one snapshot. */
  read(accountId: string, afterSeq: number | typeof FROM_OLDEST, limit: number): ChangePage {
    if (afterSeq === FROM_OLDEST) return { status: 'ok', batches: this.oldest.all(accountId, limit).map((r) => this.toBatch(r)) };
    const head = this.getHead.get(accountId) ?? 0;
    if (afterSeq > head) return { status: 'resync', reason: 'ahead' };
    const rows = this.after.all(accountId, afterSeq, limit);
    // Numbers have no gaps and the last batch is never pruned: a missing next batch was pruned.
    if (afterSeq < head && rows[0]?.seq !== afterSeq + 1) return { status: 'resync', reason: 'pruned' };
    return { status: 'ok', batches: rows.map((r) => this.toBatch(r)) };
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

  private toBatch(row: BatchRow): ChangeBatch {
    const stored = JSON.parse(row.events) as StoredEvent[];
    return {
      accountId: row.account_id,
      seq: row.seq,
      committedAt: row.committed_at,
      events: stored.map((e) => this.resolve(row.account_id, e)),
    };
  }

  private resolve(accountId: string, e: StoredEvent): ChangeEvent {
    if (!Array.isArray(e)) return e;
    const row = this.message.get(accountId, e[1]);
    // Only a row deleted without its log (which nothing does today) is missing: the event keeps its place.
    const found = row ? { message: loggedMessage(rowToMessage(row)), threadId: String(row.thread_id) } : missingMessage(accountId, e[1]);
    return e[0] === 'm+' ? { type: 'message.created', data: found } : { type: 'message.updated', data: { ...found, changes: e[2] } };
  }
}

type StoredEvent = ['m+', string] | ['m~', string, string[]] | ChangeEvent;

/** What `append` takes: events, message events possibly as references. */
export type LoggedEvent = ChangeEvent | MessageEventRef;

function encodeEvent(e: LoggedEvent): string {
  // A history batch logs one of these per message: the string is built without an array per event.
  if ('kind' in e) return e.created ? `["m+",${JSON.stringify(e.id)}]` : `["m~",${JSON.stringify(e.id)},${JSON.stringify(e.changes)}]`;
  if (e.type === 'message.created') return JSON.stringify(['m+', e.data.message.id]);
  if (e.type === 'message.updated') return JSON.stringify(['m~', e.data.message.id, e.data.changes]);
  return JSON.stringify(e);
}

function missingMessage(accountId: string, id: string): { message: LoggedMessage; threadId: string } {
  const message = { id, accountId } as Partial<LoggedMessage>;
  return { message: message as LoggedMessage, threadId: '' };
}
