import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/domain/errors.js';
import { threadIdOf } from '../../src/domain/records.js';
import { MIGRATIONS, migrate, openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { prepareStatements, type Statements } from '../../src/store/sqlite/statements.js';
import { API_MESSAGE_COLUMNS } from '../../src/store/sqlite/row-mapping.js';
import { makeMessage } from '../support/records.js';

/**
 * What the port cannot observe but the SQLite backend promises: file settings, migrations, the
 * database-level uniqueness, index use by the list queries, and no leftovers in side tables.
 */
let dir: string;
let file: string;
let store: SqliteStore;
let raw: Database.Database;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasync-sqlite-int-'));
  file = join(dir, 'wasync.db');
  store = openSqliteStore({ file });
  await store.init();
  raw = new Database(file);
});
afterEach(async () => {
  raw.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite backend internals', () => {
  it('uses WAL and records each migration once', async () => {
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    await store.init();
    const second = openSqliteStore({ file });
    await second.init();
    await second.close();
    const rows = raw.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  });

  it('numbers migrations 1..n without gaps and upgrades a database made by an older release', async () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    // A database the first release created (migrations 1 and 2) with a message in it.
    const oldFile = join(dir, 'v2.db');
    const old = new Database(oldFile);
    expect(migrate(old, MIGRATIONS.slice(0, 2))).toEqual([1, 2]);
    old.close();
    const upgraded = openSqliteStore({ file: oldFile });
    await upgraded.init();
    try {
      const check = new Database(oldFile, { readonly: true });
      const versions = check.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
      check.close();
      expect(versions).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
      // Every table and column the later migrations add works: a message (group, archive fields) and its change log entry.
      const msg = makeMessage({ accountId: 'acc', id: 'UPGRADED1' });
      const result = await upgraded.applyMutations('acc', [{ kind: 'message', record: msg }]);
      expect(result.inserted).toBe(1);
      expect((await upgraded.getMessage('acc', 'UPGRADED1'))?.mediaArchivedAt).toBeNull();
      expect(await upgraded.changeLogHead('acc')).toBe(1);
    } finally {
      await upgraded.close();
    }
  });

  it('applies a new migration exactly once, in a transaction', () => {
    const next = [...MIGRATIONS, { version: 1000, name: 'add_probe', sql: 'CREATE TABLE probe (x INTEGER)' }];
    expect(migrate(raw, next)).toEqual([1000]);
    expect(migrate(raw, next)).toEqual([]);
    const broken = [...next, { version: 1001, name: 'broken', sql: 'CREATE TABLE half (x); THIS IS NOT SQL' }];
    expect(() => migrate(raw, broken)).toThrow();
    // The failed migration left neither its table nor its version behind.
    expect(raw.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get()).toBeUndefined();
    expect(raw.prepare('SELECT version FROM schema_migrations WHERE version = 1001').get()).toBeUndefined();
  });

  it('refuses a database whose schema is newer than the code', () => {
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(9999, 'future', 0);
    expect(() => migrate(raw)).toThrow(StoreError);
  });

  it('enforces one row per (account, message id) in the database itself', async () => {
    await store.applyMutations('acc', [{ kind: 'message', record: makeMessage({ id: 'X', accountId: 'acc' }) }]);
    const copy = raw.prepare(`SELECT * FROM messages WHERE id = 'X'`).get() as Record<string, unknown>;
    const cols = Object.keys(copy);
    const insert = raw.prepare(`INSERT INTO messages (${cols.join(',')}) VALUES (${cols.map((c) => `@${c}`).join(',')})`);
    expect(() => insert.run(copy)).toThrow(/UNIQUE|PRIMARY KEY/);
  });

  it('consumes a kept receipt when its message arrives', async () => {
    await store.applyMutations('acc', [{ kind: 'status', accountId: 'acc', clientJid: null, messageId: 'X', status: 'read', at: 5 }]);
    expect(raw.prepare('SELECT COUNT(*) AS n FROM pending_receipts').get()).toEqual({ n: 1 });
    await store.applyMutations('acc', [{ kind: 'message', record: makeMessage({ id: 'X', accountId: 'acc' }) }]);
    expect(raw.prepare('SELECT COUNT(*) AS n FROM pending_receipts').get()).toEqual({ n: 0 });
  });

  it('stores status as a comparable rank', async () => {
    await store.applyMutations('acc', [{ kind: 'message', record: makeMessage({ id: 'X', accountId: 'acc', status: 'delivered' }) }]);
    expect(raw.prepare(`SELECT status FROM messages WHERE id = 'X'`).get()).toEqual({ status: 2 });
  });

  // The statements the store really runs, checked against the plan SQLite picks for them.
  const plans: Array<[string, (st: Statements) => string, unknown[]]> = [
    ['messages desc after a cursor', (st) => st.listMessagesDescAfter.source, [threadIdOf('acc', 'x'), 'acc', 1, 'a', 10]],
    ['messages asc after a cursor', (st) => st.listMessagesAscAfter.source, [threadIdOf('acc', 'x'), 'acc', 1, 'a', 10]],
    ['messages first page', (st) => st.listMessagesDescFirst.source, [threadIdOf('acc', 'x'), 'acc', 10]],
    ['API messages desc after a cursor', (st) => st.listApiMessagesDescAfter.source, [threadIdOf('acc', 'x'), 'acc', 1, 'a', 10]],
    ['API messages asc first page', (st) => st.listApiMessagesAscFirst.source, [threadIdOf('acc', 'x'), 'acc', 10]],
    ['threads desc after a cursor', (st) => st.listThreadsDescAfter.source, ['acc', 1, 'a', 10]],
    ['threads asc after a cursor', (st) => st.listThreadsAscAfter.source, ['acc', 1, 'a', 10]],
    ['threads first page', (st) => st.listThreadsDescFirst.source, ['acc', 10]],
  ];
  it.each(plans)('%s is served by an index without a sort step', (_name, sqlOf, params) => {
    const sql = sqlOf(prepareStatements(raw));
    const plan = raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
    const details = plan.map((p) => p.detail).join(' | ');
    expect(details).toMatch(/USING INDEX (messages_by_thread|threads_by_last_message)/);
    expect(details).not.toMatch(/TEMP B-TREE/);
  });

  it("reads only the API's columns for the API's pages: no raw_message, no media", async () => {
    const st = prepareStatements(raw);
    const api = [st.listApiMessagesDescFirst, st.listApiMessagesDescAfter, st.listApiMessagesAscFirst, st.listApiMessagesAscAfter];
    for (const statement of api) {
      const names = statement.columns().map((c) => c.name);
      expect(names).not.toContain('raw_message');
      expect(names).not.toContain('media');
      expect(names).toEqual(API_MESSAGE_COLUMNS);
    }
    // Everything else the full page holds, the API page holds too; the two hidden fields come back null.
    const record = makeMessage({
      id: 'X',
      accountId: 'acc',
      clientJid: 'x',
      rawMessage: new Uint8Array([1, 2, 3]),
      media: { directPath: '/d', url: 'https://mmg', mediaKey: 'S0VZ', fileEncSha256: null, fileSha256: null, fileLength: 3 },
      messageType: 'image',
      mediaType: 'image',
    });
    await store.applyMutations('acc', [{ kind: 'message', record }]);
    const full = await store.listMessages('acc', threadIdOf('acc', 'x'), { limit: 10 });
    for (const order of ['asc', 'desc'] as const) {
      const page = await store.listMessages('acc', threadIdOf('acc', 'x'), { limit: 10, order, fields: 'api' });
      expect(page.items).toEqual(full.items.map((m) => ({ ...m, rawMessage: null, media: null })));
    }
    expect(full.items[0]!.rawMessage).toEqual(new Uint8Array([1, 2, 3]));
  });
});
