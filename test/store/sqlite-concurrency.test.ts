import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientStoreError } from '../../src/domain/errors.js';
import { threadIdOf } from '../../src/domain/records.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { toStoreError } from '../../src/store/sqlite/errors.js';
import {
  OWN_THREADS,
  SHARED_ACCOUNT,
  SHARED_JID,
  ownAccount,
  sharedBatch,
  type SqliteWorkerInput,
  type SqliteWorkerOutput,
} from '../support/sqlite-worker.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../../dist/test/support/sqlite-worker.js', import.meta.url));

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wasync-sqlite-conc-'));
  file = join(dir, 'wasync.db');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runWorker(input: SqliteWorkerInput): Promise<SqliteWorkerOutput> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, { workerData: input });
    worker.once('message', (msg: SqliteWorkerOutput | { fatal: unknown }) => {
      if ('fatal' in msg) reject(new Error(`worker ${input.worker} failed: ${JSON.stringify(msg.fatal)}`));
      else resolve(msg);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${input.worker} exited with ${code}`));
    });
  });
}

describe('SqliteStore under concurrent worker threads (one connection each, one file)', () => {
  it('applies interleaved batches with no SQLITE_BUSY, exact counts and correct read-modify-writes', async () => {
    if (!existsSync(WORKER_SCRIPT)) {
      throw new Error(`${WORKER_SCRIPT} is missing: run \`npx tsc -p tsconfig.build.json\` before this test`);
    }
    const WORKERS = 3;
    const BATCHES = 200;
    const LEASE_ROUNDS = 25;

    // The main thread creates the accounts; the workers migrate the same file concurrently on start.
    const setup = openSqliteStore({ file });
    await setup.init();
    await setup.createAccount({ id: SHARED_ACCOUNT });
    await setup.close();

    const barrier = new SharedArrayBuffer(4);
    const outputs = await Promise.all(
      Array.from({ length: WORKERS }, (_, worker) =>
        runWorker({ file, worker, workers: WORKERS, batches: BATCHES, leaseRounds: LEASE_ROUNDS, barrier }),
      ),
    );

    expect(outputs.flatMap((o) => o.errors)).toEqual([]);

    const store: SqliteStore = openSqliteStore({ file });
    await store.init();
    try {
      // Shared account: every unique message once, each common message once although every worker wrote it.
      const expectedShared = WORKERS * BATCHES * 3 + BATCHES;
      expect(await store.countMessages(SHARED_ACCOUNT)).toBe(expectedShared);
      expect(outputs.reduce((n, o) => n + o.sharedInserted, 0)).toBe(expectedShared);
      expect(outputs.reduce((n, o) => n + o.sharedMerged, 0)).toBe((WORKERS - 1) * BATCHES);

      // Own accounts: disjoint rows, all there.
      for (let w = 0; w < WORKERS; w++) {
        expect(outputs[w]!.ownInserted).toBe(BATCHES * OWN_THREADS);
        expect(await store.countMessages(ownAccount(w))).toBe(BATCHES * OWN_THREADS);
        const threads = await store.listThreads(ownAccount(w), { limit: 50 });
        expect(threads.items).toHaveLength(OWN_THREADS);
      }

      // The shared thread's summary is the newest message overall, whatever order the commits landed in.
      const all = Array.from({ length: WORKERS }, (_, w) => Array.from({ length: BATCHES }, (_, b) => sharedBatch(w, b))).flat(2);
      const newest = all.reduce((a, b) => (b.createdAt > a.createdAt || (b.createdAt === a.createdAt && b.id > a.id) ? b : a));
      expect(await store.getThread(SHARED_ACCOUNT, threadIdOf(SHARED_ACCOUNT, SHARED_JID))).toMatchObject({
        lastMessageId: newest.id,
        lastMessageAt: newest.createdAt,
      });

      // Each neighbour receipt reached its message, whether it arrived before or after it.
      for (let w = 0; w < WORKERS; w++) {
        for (const b of [0, 1, BATCHES / 2, BATCHES - 1]) {
          const message = await store.getMessage(SHARED_ACCOUNT, `w${w}-b${String(b).padStart(4, '0')}-0`);
          expect(message).toMatchObject({ status: 'read', readAt: Date.UTC(2026, 0, 1) + b * 1000 + 900 });
        }
      }

      // recordHistorySync is a read-modify-write on one account row: no increment may be lost.
      expect((await store.getAccount(SHARED_ACCOUNT))?.historySyncCount).toBe(WORKERS * BATCHES);

      // Lease races: in every round exactly one worker won.
      const winners = Array.from({ length: LEASE_ROUNDS }, (_, round) =>
        outputs.filter((o) => o.leaseRoundsWon.includes(round)).map((o) => o.worker),
      );
      expect(winners.map((w) => w.length)).toEqual(Array.from({ length: LEASE_ROUNDS }, () => 1));
      expect((await store.getAccount(SHARED_ACCOUNT))?.recentSyncLeaseHolder).toBe(`w${winners[LEASE_ROUNDS - 1]![0]}`);
    } finally {
      await store.close();
    }
  });
});

/**
 * Why every write transaction is BEGIN IMMEDIATE. Two connections interleaved step by step (one
 * thread, so the interleaving is exact rather than left to the scheduler).
 */
describe('deferred vs immediate transactions in WAL mode', () => {
  function connect(busyTimeoutMs: number): Database.Database {
    const db = new Database(file);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    return db;
  }
  function setupCounter(): void {
    const db = connect(0);
    db.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0);');
    db.close();
  }
  const read = (db: Database.Database) => db.prepare<[], number>('SELECT n FROM counter WHERE id = 1').pluck().get()!;
  const write = (db: Database.Database, n: number) => db.prepare('UPDATE counter SET n = ? WHERE id = 1').run(n);

  it('a deferred read-then-write fails with SQLITE_BUSY that busy_timeout cannot cure', () => {
    setupCounter();
    const a = connect(2000);
    const b = connect(2000);
    try {
      a.exec('BEGIN DEFERRED');
      const seen = read(a); // a now reads from a snapshot
      write(b, read(b) + 1); // b commits a newer version meanwhile
      const started = Date.now();
      let error: unknown;
      try {
        write(a, seen + 1); // upgrading a stale snapshot to a writer is impossible
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(Database.SqliteError);
      expect((error as InstanceType<typeof Database.SqliteError>).code).toMatch(/^SQLITE_BUSY/);
      // It fails at once: waiting would not help, the snapshot stays stale.
      expect(Date.now() - started).toBeLessThan(1000);
      // The store reports this kind of failure as retryable.
      expect(toStoreError(error, 'test')).toBeInstanceOf(TransientStoreError);
      a.exec('ROLLBACK');
      expect(read(b)).toBe(1);
    } finally {
      a.close();
      b.close();
    }
  });

  it('with BEGIN IMMEDIATE the conflict surfaces at BEGIN, before any read, and no update is lost', () => {
    setupCounter();
    const a = connect(2000);
    // busy_timeout 0 makes the wait visible as an error in a single thread; with a timeout b would
    // simply wait at BEGIN for a's commit, which the worker-thread test above relies on.
    const b = connect(0);
    try {
      a.exec('BEGIN IMMEDIATE');
      const seen = read(a);
      expect(() => b.exec('BEGIN IMMEDIATE')).toThrow(/locked|busy/i);
      write(a, seen + 1);
      a.exec('COMMIT');

      b.exec('BEGIN IMMEDIATE');
      write(b, read(b) + 1);
      b.exec('COMMIT');
      expect(read(a)).toBe(2);
    } finally {
      a.close();
      b.close();
    }
  });
});
