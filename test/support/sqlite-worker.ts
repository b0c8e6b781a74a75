/**
 * Worker-thread body for `test/store/sqlite-concurrency.test.ts`. Compiled by `tsc -p
 * tsconfig.build.json` to `dist/test/support/sqlite-worker.js` (worker threads cannot load .ts), and
 * runs the real SqliteStore on its own connection, like an account worker does in production.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { serializeError, type SerializedError } from '../../src/domain/errors.js';
import type { Mutation } from '../../src/domain/mutations.js';
import type { MessageRecord } from '../../src/domain/records.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { makeMessage } from './records.js';

export interface SqliteWorkerInput {
  file: string;
  worker: number;
  workers: number;
  batches: number;
  leaseRounds: number;
  /** Int32Array over it: [0] counts barrier arrivals. */
  barrier: SharedArrayBuffer;
}

export interface SqliteWorkerOutput {
  worker: number;
  errors: SerializedError[];
  sharedInserted: number;
  sharedMerged: number;
  ownInserted: number;
  /** Lease rounds this worker won. */
  leaseRoundsWon: number[];
}

export const SHARED_ACCOUNT = 'shared';
export const SHARED_JID = '40700000000@s.whatsapp.net';
export const SHARED_BASE = Date.UTC(2026, 0, 1);
export const LEASE_BASE = Date.UTC(2026, 0, 2);
export const LEASE_TTL = 10_000;
export const OWN_THREADS = 5;

export function ownAccount(worker: number): string {
  return `own-${worker}`;
}

/** Messages worker `w` writes to the shared account in batch `b`; ids and times are a pure function of both. */
export function sharedBatch(w: number, b: number): MessageRecord[] {
  const unique = [0, 1, 2].map((k) =>
    makeMessage({
      id: `w${w}-b${String(b).padStart(4, '0')}-${k}`,
      accountId: SHARED_ACCOUNT,
      clientJid: SHARED_JID,
      createdAt: SHARED_BASE + b * 1000 + w * 10 + k,
      body: `unique ${w}/${b}/${k}`,
    }),
  );
  // Every worker writes this one: exactly one insert, the others merge into it.
  const common = makeMessage({
    id: `common-b${String(b).padStart(4, '0')}`,
    accountId: SHARED_ACCOUNT,
    clientJid: SHARED_JID,
    createdAt: SHARED_BASE + b * 1000 + 500,
    body: `common ${b}`,
    direction: 'outbound',
    status: 'sent',
  });
  return [...unique, common];
}

async function run(input: SqliteWorkerInput): Promise<SqliteWorkerOutput> {
  const out: SqliteWorkerOutput = {
    worker: input.worker,
    errors: [],
    sharedInserted: 0,
    sharedMerged: 0,
    ownInserted: 0,
    leaseRoundsWon: [],
  };
  const arrivals = new Int32Array(input.barrier);
  let barrierRound = 0;
  const barrier = () => {
    barrierRound++;
    Atomics.add(arrivals, 0, 1);
    Atomics.notify(arrivals, 0);
    const target = input.workers * barrierRound;
    for (;;) {
      const seen = Atomics.load(arrivals, 0);
      if (seen >= target) return;
      Atomics.wait(arrivals, 0, seen, 1000);
    }
  };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      out.errors.push({ ...serializeError(err), message: `${what}: ${serializeError(err).message}` });
    }
  };

  const store = openSqliteStore({ file: input.file });
  // Every worker migrates the same file at once: the schema must be created exactly once.
  barrier();
  await attempt('init', () => store.init());
  barrier();

  const w = input.worker;
  const next = (w + 1) % input.workers;
  for (let b = 0; b < input.batches; b++) {
    await attempt(`own batch ${b}`, async () => {
      const own = ownAccount(w);
      const mutations: Mutation[] = Array.from({ length: OWN_THREADS }, (_, t) => ({
        kind: 'message',
        record: makeMessage({
          id: `own${w}-b${b}-t${t}`,
          accountId: own,
          clientJid: `4071000000${t}@s.whatsapp.net`,
          createdAt: SHARED_BASE + b * 1000 + t,
        }),
      }));
      mutations.push({ kind: 'thread', accountId: own, clientJid: '40710000000@s.whatsapp.net', displayName: `n${b}`, source: 'pushName' });
      out.ownInserted += (await store.applyMutations(own, mutations)).inserted;
    });

    await attempt(`shared batch ${b}`, async () => {
      const mutations: Mutation[] = sharedBatch(w, b).map((record) => ({ kind: 'message', record }));
      // A receipt for the neighbour's message of the same batch: it may or may not be stored yet,
      // so it is applied or kept, and must end up on the message either way.
      mutations.push({
        kind: 'status',
        accountId: SHARED_ACCOUNT,
        clientJid: SHARED_JID,
        messageId: `w${next}-b${String(b).padStart(4, '0')}-0`,
        status: 'read',
        at: SHARED_BASE + b * 1000 + 900,
      });
      const result = await store.applyMutations(SHARED_ACCOUNT, mutations);
      out.sharedInserted += result.inserted;
      out.sharedMerged += result.merged;
    });

    await attempt(`history sync ${b}`, () =>
      store.recordHistorySync(SHARED_ACCOUNT, { saved: 1, skipped: 0, errors: 0, total: 1, dryRun: false }, SHARED_BASE + b),
    );
  }

  for (let round = 0; round < input.leaseRounds; round++) {
    barrier();
    // Each round starts after the previous round's lease expired: every worker may take it, one must.
    const now = LEASE_BASE + round * LEASE_TTL * 2;
    await attempt(`lease round ${round}`, async () => {
      const lease = await store.acquireLease(SHARED_ACCOUNT, 'recentSync', `w${w}`, LEASE_TTL, now);
      if (lease) out.leaseRoundsWon.push(round);
    });
  }

  await store.close();
  return out;
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  run(workerData as SqliteWorkerInput).then(
    (out) => port.postMessage(out),
    (err: unknown) => port.postMessage({ fatal: serializeError(err) }),
  );
}
