import { getApps } from 'firebase-admin/app';
import {
  Timestamp,
  type DocumentData,
  type DocumentReference,
  type Firestore,
  type UpdateData,
  type WriteBatch,
} from 'firebase-admin/firestore';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { StoreError, TransientStoreError } from '../../src/domain/errors.js';
import type { Mutation } from '../../src/domain/mutations.js';
import { threadIdOf, type MessageRecord } from '../../src/domain/records.js';
import { createLogger } from '../../src/logging/logger.js';
import {
  createFirestoreStore,
  openFirestoreStore,
  type FirestoreStore,
  type FirestoreStoreOptions,
} from '../../src/store/firestore/index.js';
import type { Lease } from '../../src/store/port.js';
import { BASE_TIME, makeMessage } from '../support/records.js';
import { openFirestoreEmulator, type Connection, type EmulatorClient } from '../support/firestore-emulator.js';
import { testProjectId } from '../support/firestore-emulator-client.js';
import { recordBatchWrites, updateTimes } from '../support/firestore-writes.js';

/**
 * Behaviour specific to the Firestore adapter, beyond the port contract: one write per thread per
 * batch, batches larger than one commit, failures part-way, transient errors, the message lookup
 * order (collection-group step included), documents written by another writer, lease mutual
 * exclusion under real concurrency, an instance killed mid-renewal, several stores in one process. On Google's emulator (started
 * once per run by test/support/firestore-global-setup.ts).
 */

const ACC = 'acc-fs';
const PN = '40712345678@s.whatsapp.net';
const PN2 = '40787654321@s.whatsapp.net';
const PN_THREAD = threadIdOf(ACC, PN);
const msg = (o: Partial<MessageRecord>) => makeMessage({ accountId: ACC, clientJid: PN, ...o });
const upsert = (...records: MessageRecord[]): Mutation[] => records.map((record) => ({ kind: 'message', record }));
const grpcError = (code: number) => Object.assign(new Error(`grpc ${code}`), { code });

let emulator: EmulatorClient;
beforeAll(() => {
  emulator = openFirestoreEmulator();
});
afterAll(async () => {
  await emulator.close();
});

const opened: Array<{ store: FirestoreStore; connection: Connection }> = [];
function open(options: Partial<FirestoreStoreOptions> = {}, projectId?: string): { store: FirestoreStore; connection: Connection } {
  const connection = emulator.connect(projectId);
  const store = createFirestoreStore({
    firestore: connection.firestore,
    now: () => BASE_TIME,
    ...options,
    // No pacing here: the ramp and the jitter have their own tests (firestore-batching.test.ts).
    batching: { jitterMs: 0, ramp: { initialRate: 1_000_000 }, retry: { attempts: 3, baseMs: 1, maxMs: 2 }, ...options.batching },
  });
  const entry = { store, connection };
  opened.push(entry);
  return entry;
}
/** The change log's head hint is written in the background, at most once a second per account. */
async function waitForHint(connection: Connection, accountId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await connection.firestore.doc(`wasyncFeedHeads/${accountId}`).get()).exists) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no head hint');
}

afterEach(async () => {
  for (const { store, connection } of opened.splice(0)) {
    await store.close();
    await connection.close();
  }
});

describe('writes', () => {
  it('writes each thread document once per batch, after its messages; a replay writes nothing', async () => {
    const { store, connection } = open();
    const recorder = recordBatchWrites(connection.firestore);
    const batch = [
      ...Array.from({ length: 30 }, (_, i) => msg({ id: `A${i}`, createdAt: BASE_TIME + i })),
      ...Array.from({ length: 20 }, (_, i) => msg({ id: `B${i}`, clientJid: PN2, createdAt: BASE_TIME + i })),
    ];
    await store.applyMutations(ACC, [
      { kind: 'thread', accountId: ACC, clientJid: PN, displayName: 'Ana', source: 'pushName' },
      ...upsert(...batch),
      { kind: 'status', accountId: ACC, clientJid: PN, messageId: 'A3', status: 'read', at: BASE_TIME + 100 },
    ]);
    const threadWrites = recorder.writes.filter((w) => /^threads\/[^/]+$/.test(w.path));
    expect(threadWrites.map((w) => w.path).sort()).toEqual([`threads/${PN_THREAD}`, `threads/${threadIdOf(ACC, PN2)}`].sort());
    const lastMessageWrite = Math.max(...recorder.writes.map((w, i) => (w.path.includes('/messages/') ? i : -1)));
    expect(recorder.writes.findIndex((w) => /^threads\/[^/]+$/.test(w.path))).toBeGreaterThan(lastMessageWrite);
    // Message + index entry per message (the receipt folds into the same message write), + 2 threads,
    // + the change-log document of the commit (the head hint is written outside it, later).
    expect(recorder.writes).toHaveLength(50 * 2 + 2 + 1);
    expect(recorder.writes.filter((w) => w.path.startsWith('wasyncFeed/'))).toHaveLength(1);
    await waitForHint(connection, ACC);
    // Exactly those documents exist on the server (and the log's head hint), nothing else.
    const written = [...new Set(recorder.writes.map((w) => w.path))].sort();
    expect(await emulator.documentPaths(connection.projectId)).toEqual([...written, `wasyncFeedHeads/${ACC}`].sort());

    recorder.clear();
    const before = await updateTimes(connection.firestore, written);
    expect(await store.applyMutations(ACC, upsert(...batch))).toMatchObject({ inserted: 0, merged: 50 });
    expect(recorder.writes).toEqual([]);
    // Nothing changed on the server either: every document keeps its update time.
    expect(await updateTimes(connection.firestore, written)).toEqual(before);
    recorder.stop();
  });

  it('stores a batch larger than one commit completely', async () => {
    let commits = 0;
    const { store } = open({
      batching: {
        commit: (batch: WriteBatch) => {
          commits++;
          return batch.commit();
        },
      },
    });
    const records = Array.from({ length: 600 }, (_, i) => msg({ id: `M${String(i).padStart(4, '0')}`, createdAt: BASE_TIME + i }));
    expect(await store.applyMutations(ACC, upsert(...records))).toMatchObject({ inserted: 600 });
    // 1,200 message writes (document + index entry) + 1 thread write: three commits.
    expect(commits).toBe(3);
    expect(await store.countMessages(ACC)).toBe(600);
    expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({ lastMessageId: 'M0599', lastMessageAt: BASE_TIME + 599 });
    const page = await store.listMessages(ACC, PN_THREAD, { limit: 500, order: 'asc' });
    expect(page.items).toHaveLength(500);
    const rest = await store.listMessages(ACC, PN_THREAD, { limit: 500, order: 'asc', cursor: page.nextCursor });
    expect(rest.items.map((m) => m.id)).toEqual(records.slice(500).map((m) => m.id));
  });

  // A 1 MiB limit here: the emulator refuses gRPC requests over 4 MiB, which the default 9 MiB cut can exceed.
  it('cuts commits by bytes', async () => {
    const sizes: number[] = [];
    const { store } = open({
      batching: {
        limits: { maxOps: 500, maxBytes: 1024 * 1024 },
        commit: (batch: WriteBatch) => {
          sizes.push((batch as unknown as { _opCount: number })._opCount);
          return batch.commit();
        },
      },
    });
    const records = Array.from({ length: 8 }, (_, i) =>
      msg({ id: `R${i}`, createdAt: BASE_TIME + i, rawMessage: new Uint8Array(300 * 1024).fill(i) }),
    );
    await store.applyMutations(ACC, upsert(...records));
    // Three ~300 KiB messages (each with its index entry and its change-log document) per 1 MiB
    // commit; the small thread write still fits in the last. The log holds no raw proto: it stays small.
    expect(sizes).toEqual([7, 7, 6]);
    for (const r of records) {
      const raw = (await store.getMessage(ACC, r.id))?.rawMessage;
      // Buffer.equals: a deep toEqual over 300 KiB takes most of a second.
      expect(raw && Buffer.from(raw).equals(Buffer.from(r.rawMessage!))).toBe(true);
    }
  });

  it('keeps a message whose raw proto would push it over 1 MiB, without the raw proto', async () => {
    const { store } = open();
    await store.applyMutations(ACC, upsert(msg({ id: 'BIG', rawMessage: new Uint8Array(1024 * 1024) })));
    expect(await store.getMessage(ACC, 'BIG')).toMatchObject({ id: 'BIG', body: 'hello', rawMessage: null });
  });

  it('retries transient commit failures inside the store', async () => {
    let failures = 2;
    const { store } = open({
      batching: {
        commit: (batch: WriteBatch) => {
          if (failures-- > 0) return Promise.reject(grpcError(14));
          return batch.commit();
        },
      },
    });
    expect(await store.applyMutations(ACC, upsert(msg({ id: 'A' })))).toMatchObject({ inserted: 1 });
    expect(failures).toBe(-1);
    expect(await store.getMessage(ACC, 'A')).not.toBeNull();
  });

  it.each([4, 8, 10, 14])('gRPC %i that persists reaches the caller as TransientStoreError; the retry converges', async (code) => {
    let failing = true;
    const { store } = open({
      batching: {
        commit: (batch: WriteBatch) => (failing ? Promise.reject(grpcError(code)) : batch.commit()),
      },
    });
    await expect(store.applyMutations(ACC, upsert(msg({ id: 'A' })))).rejects.toBeInstanceOf(TransientStoreError);
    failing = false;
    expect(await store.applyMutations(ACC, upsert(msg({ id: 'A' })))).toMatchObject({ inserted: 1 });
  });

  it('a failure part-way through a multi-commit batch leaves a consistent prefix; the retry completes it', async () => {
    let commitNo = 0;
    let failAt: number | null = 2;
    const { store } = open({
      batching: {
        commit: (batch: WriteBatch) => {
          commitNo++;
          if (commitNo === failAt) return Promise.reject(grpcError(3));
          return batch.commit();
        },
      },
    });
    const records = Array.from({ length: 600 }, (_, i) => msg({ id: `M${String(i).padStart(4, '0')}`, createdAt: BASE_TIME + i }));
    const err = await store.applyMutations(ACC, upsert(...records)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    // The first commit landed: its messages are there with their index entries and its change-log
    // document (the 500th write: 249 messages fit); no thread summary yet.
    expect(await store.countMessages(ACC)).toBe(249);
    const logged = await store.readChanges(ACC, 0, 10);
    expect(logged.status === 'ok' && logged.batches.map((b) => [b.seq, b.events.length])).toEqual([[1, 249]]);
    expect(await store.getThread(ACC, PN_THREAD)).toBeNull();
    failAt = null;
    expect(await store.applyMutations(ACC, upsert(...records))).toMatchObject({ inserted: 351, merged: 249 });
    expect(await store.countMessages(ACC)).toBe(600);
    expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({ lastMessageId: 'M0599' });
  });

  it('a commit whose answer was lost and whose retry finds its own change-log document counts as done, once', async () => {
    let lost = 1;
    const { store } = open({
      batching: {
        commit: async (batch: WriteBatch) => {
          const res = await batch.commit();
          // The server committed; the client never hears it (a timeout): the committer retries.
          if (lost-- > 0) throw grpcError(4);
          return res;
        },
      },
    });
    await store.createAccount({ id: ACC });
    expect(await store.applyMutations(ACC, upsert(msg({ id: 'A' })))).toMatchObject({ inserted: 1 });
    await store.applyMutations(ACC, upsert(msg({ id: 'B' })));
    const page = await store.readChanges(ACC, 0, 10);
    expect(page.status === 'ok' && page.batches.map((b) => [b.seq, b.events[0]?.type])).toEqual([
      [1, 'message.created'],
      [2, 'message.created'],
    ]);
  });

  it('a store whose idea of the head is stale (another instance wrote since) takes the next free number', async () => {
    const a = open();
    const b = open({}, a.connection.projectId);
    await a.store.createAccount({ id: ACC });
    await a.store.applyMutations(ACC, upsert(msg({ id: 'A1' })));
    await b.store.applyMutations(ACC, upsert(msg({ id: 'B1' })));
    await b.store.applyMutations(ACC, upsert(msg({ id: 'B2' })));
    // a still believes the head is 1: its create() of 2 fails the commit, it rereads and writes 4.
    await a.store.applyMutations(ACC, upsert(msg({ id: 'A2' })));
    const page = await a.store.readChanges(ACC, 0, 10);
    const ids =
      page.status === 'ok'
        ? page.batches.map((x) => [x.seq, (x.events[0]?.data as { message: { id: string } } | undefined)?.message.id])
        : [];
    expect(ids).toEqual([
      [1, 'A1'],
      [2, 'B1'],
      [3, 'B2'],
      [4, 'A2'],
    ]);
    expect(await a.store.getMessage(ACC, 'A2')).not.toBeNull();
  });

  it('refuses ids Firestore cannot address before writing anything', async () => {
    const { store } = open();
    await expect(store.applyMutations(ACC, upsert(msg({ id: 'ok' }), msg({ id: 'a/b' })))).rejects.toBeInstanceOf(StoreError);
    await expect(store.applyMutations(ACC, upsert(msg({ id: '__reserved__' })))).rejects.toBeInstanceOf(StoreError);
    expect(await store.countMessages(ACC)).toBe(0);
    expect(await store.getMessage(ACC, 'a/b')).toBeNull();
  });
});

describe('message lookup without the chat JID', () => {
  it('finds a message through its index entry when the hint is wrong or missing, also after a LID merge', async () => {
    const { store } = open();
    const LID = '178294512345678@lid';
    await store.applyMutations(ACC, upsert(msg({ id: 'IN', clientJid: LID }), msg({ id: 'OUT', direction: 'outbound', status: 'sent' })));
    await store.applyMutations(ACC, [{ kind: 'jid-mapping', accountId: ACC, lid: LID, pn: PN }]);
    for (const hint of [undefined, null, LID, PN2, PN]) {
      expect(await store.getMessage(ACC, 'IN', hint)).toMatchObject({ id: 'IN', clientJid: PN });
      expect(await store.getMessage(ACC, 'OUT', hint)).toMatchObject({ id: 'OUT', direction: 'outbound' });
    }
    // A receipt without a JID reaches the moved message through the index too.
    await store.applyMutations(ACC, [
      { kind: 'status', accountId: ACC, clientJid: null, messageId: 'OUT', status: 'read', at: BASE_TIME + 5 },
    ]);
    expect(await store.getMessage(ACC, 'OUT')).toMatchObject({ status: 'read', readAt: BASE_TIME + 5 });
  });

  it('reads a document written by another writer (numbers for times, no extensions) and repairs its index entry when touched', async () => {
    const { store, connection } = open();
    await connection.firestore.doc(`threads/${PN_THREAD}/messages/LEGACY1`).set({
      accountId: ACC,
      clientJid: PN,
      direction: 'outbound',
      body: 'sent by the old server',
      waMessageId: 'LEGACY1',
      status: 'sent',
      messageType: 'text',
      tsClient: new Date(BASE_TIME).toISOString(),
      tsServer: Timestamp.fromMillis(BASE_TIME + 1000),
      createdAt: Timestamp.fromMillis(BASE_TIME),
      syncSource: 'realtime',
    });
    expect(await store.getMessage(ACC, 'LEGACY1', PN)).toMatchObject({
      id: 'LEGACY1',
      direction: 'outbound',
      status: 'sent',
      createdAt: BASE_TIME,
      tsServer: BASE_TIME + 1000,
      deliveredAt: null,
      contentType: '',
      fromMe: true,
      media: null,
      rawMessage: null,
    });
    expect(await store.countMessages(ACC)).toBe(0);
    await store.applyMutations(ACC, [
      { kind: 'status', accountId: ACC, clientJid: PN, messageId: 'LEGACY1', status: 'delivered', at: BASE_TIME + 9 },
    ]);
    expect(await store.getMessage(ACC, 'LEGACY1')).toMatchObject({ status: 'delivered', deliveredAt: BASE_TIME + 9 });
    expect(await store.countMessages(ACC)).toBe(1);
  });

  it('finds a message without an index entry by a collection-group query, within its account only', async () => {
    const { store, connection } = open();
    const db = connection.firestore;
    const OTHER = 'acc-other';
    // Written by another writer: no index entry, so neither the hint nor the index finds them.
    await db
      .doc(`threads/${PN_THREAD}/messages/ORPHAN`)
      .set({ accountId: ACC, clientJid: PN, waMessageId: 'ORPHAN', body: 'mine', direction: 'outbound' });
    await db
      .doc(`threads/${threadIdOf(OTHER, PN)}/messages/ORPHAN`)
      .set({ accountId: OTHER, clientJid: PN, waMessageId: 'ORPHAN', body: 'theirs', direction: 'inbound' });
    await db
      .doc(`threads/${threadIdOf(ACC, PN2)}/messages/ELSEWHERE`)
      .set({ accountId: ACC, clientJid: PN2, waMessageId: 'ELSEWHERE', body: 'other chat', direction: 'inbound' });
    expect(
      await db
        .collection('inboundDedupe')
        .count()
        .get()
        .then((c) => c.data().count),
    ).toBe(0);

    expect(await store.getMessage(ACC, 'ORPHAN')).toMatchObject({ id: 'ORPHAN', accountId: ACC, body: 'mine' });
    expect(await store.getMessage(OTHER, 'ORPHAN')).toMatchObject({ id: 'ORPHAN', accountId: OTHER, body: 'theirs' });
    // A wrong hint falls through to the collection group as well.
    expect(await store.getMessage(ACC, 'ELSEWHERE', PN)).toMatchObject({ clientJid: PN2, body: 'other chat' });
    expect(await store.getMessage('someone-else', 'ORPHAN')).toBeNull();
    expect(await store.getMessage(ACC, 'NOWHERE')).toBeNull();
  });
});

/** How long a lease lasts: each wave of the race starts when the last wave's lease has expired. */
const TTL = 60_000;

/**
 * Rounds of concurrent lease operations from several instances, each with its own Firestore client
 * (its own gRPC channel), on one project. In every wave and for every account at once: the instances
 * that do not hold the lease call `acquireLease` and the holder of the last wave (its lease has just
 * expired, not been taken) calls `renewLease`, all at the same instant. Exactly one of them may end up
 * holding the lease, and the account document must say so. Returns every round that broke this.
 */
async function leaseRace(stores: FirestoreStore[], accounts: string[], waves: number): Promise<{ rounds: number; violations: string[] }> {
  const violations: string[] = [];
  const held = new Map<string, Lease>();
  let rounds = 0;
  for (let wave = 1; wave <= waves; wave++) {
    const now = BASE_TIME + wave * TTL;
    await Promise.all(
      accounts.map(async (accountId) => {
        rounds++;
        const previous = held.get(accountId);
        const settled = await Promise.allSettled(
          stores.map((s, i) =>
            previous?.holder === `instance-${i}`
              ? s.renewLease(previous, TTL, now)
              : s.acquireLease(accountId, 'autoBackfill', `instance-${i}`, TTL, now),
          ),
        );
        const where = `${accountId}, wave ${wave}`;
        for (const r of settled) {
          // Giving up on contention is allowed (the caller retries later); anything else is a bug.
          if (r.status === 'rejected' && !(r.reason instanceof TransientStoreError)) violations.push(`${where}: ${String(r.reason)}`);
        }
        const winners = settled.flatMap((r) => (r.status === 'fulfilled' && r.value !== null ? [r.value] : []));
        if (winners.length !== 1) {
          violations.push(`${where}: ${winners.length} holders (${winners.map((w) => w.holder).join(', ')})`);
          return;
        }
        const winner = winners[0]!;
        held.set(accountId, winner);
        const account = await stores[0]!.getAccount(accountId);
        if (account?.autoBackfillLeaseHolder !== winner.holder || account.autoBackfillLeaseUntil !== now + TTL) {
          violations.push(
            `${where}: ${winner.holder} won but the account says ${account?.autoBackfillLeaseHolder} ` +
              `until ${account?.autoBackfillLeaseUntil}`,
          );
        }
      }),
    );
  }
  return { rounds, violations };
}

/**
 * What the lease code would be without its compare-and-set: the same reads and writes, the writes
 * without their precondition (read, check, write). Installed on one client only.
 */
function withoutPreconditions(db: Firestore): void {
  const batch = db.batch.bind(db);
  db.batch = () => {
    const b = batch();
    const update = b.update.bind(b) as (ref: DocumentReference, data: UpdateData<DocumentData>) => WriteBatch;
    b.update = ((ref: DocumentReference, data: UpdateData<DocumentData>) => update(ref, data)) as WriteBatch['update'];
    return b;
  };
}

describe('leases under real concurrency', () => {
  const INSTANCES = 4;
  const ACCOUNTS = Array.from({ length: 16 }, (_, i) => `acc-lease-${i}`);

  async function instances(mutate?: (db: Firestore) => void): Promise<{ stores: FirestoreStore[]; close: () => Promise<void> }> {
    const { store, connection } = open();
    for (const id of ACCOUNTS) await store.createAccount({ id });
    const connections = Array.from({ length: INSTANCES }, () => emulator.connect(connection.projectId));
    for (const c of connections) mutate?.(c.firestore);
    const stores = connections.map((c) => createFirestoreStore({ firestore: c.firestore }));
    return {
      stores,
      close: async () => {
        for (const s of stores) await s.close();
        await Promise.all(connections.map((c) => c.close()));
      },
    };
  }

  it('lease mutual exclusion: 4 instances at once, 16 accounts x 3 waves, exactly one holder every round', async () => {
    const { stores, close } = await instances();
    try {
      const { rounds, violations } = await leaseRace(stores, ACCOUNTS, 3);
      expect(rounds).toBe(48);
      expect(violations).toEqual([]);
    } finally {
      await close();
    }
  });

  it('the exclusion test bites: with a plain read-then-write in place of the compare-and-set, rounds get several holders', async () => {
    const { stores, close } = await instances(withoutPreconditions);
    try {
      const { violations } = await leaseRace(stores, ACCOUNTS, 1);
      expect(violations.length).toBeGreaterThan(0);
      expect(violations.some((v) => /: [2-4] holders/.test(v))).toBe(true);
    } finally {
      await close();
    }
  });
});

describe('an instance killed in the middle of its lease writes', () => {
  /**
   * A server-side transaction keeps the locks of what it read until it ends; a process killed in the
   * middle of one leaves them behind, and every write to those documents then waits for the dead
   * transaction to time out (about a minute on this emulator). Leases and fences are compare-and-set
   * writes instead (src/store/firestore/compare-and-set.ts): nothing a dead process started holds
   * anyone up.
   */
  it('kill -9 while renewing and writing under its fence as fast as it can: the takeover and its writes go through at once', async () => {
    const { store, connection } = open({ now: Date.now });
    await store.createAccount({ id: 'acc-kill' });
    const script = `
      import { initializeApp } from 'firebase-admin/app';
      import { getFirestore } from 'firebase-admin/firestore';
      import { createFirestoreStore } from ${JSON.stringify(new URL('../../dist/src/store/firestore/index.js', import.meta.url).href)};
      const db = getFirestore(initializeApp({ projectId: ${JSON.stringify(connection.projectId)} }));
      db.settings({ host: ${JSON.stringify(emulator.host)}, ssl: false });
      const store = createFirestoreStore({ firestore: db });
      let lease = await store.acquireLease('acc-kill', 'owner', 'doomed', 60000, Date.now());
      const fence = { holder: lease.holder, epoch: lease.epoch };
      let n = 0;
      for (;;) {
        await Promise.all([
          store.renewLease(lease, 60000, Date.now()).then((l) => { lease = l ?? lease; }),
          store.writeAuthKeys('acc-kill', [{ type: 'session', id: 'peer', value: new Uint8Array([n++ % 256]) }], fence),
          store.patchAccount('acc-kill', { status: 'open' }, [], fence),
        ]);
        if (n === 3) process.stdout.write('BUSY');
      }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('BUSY') && resolve());
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it got busy: ${err}`)));
    });
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    const started = Date.now();
    // Its lease is valid for another minute: a takeover that knows it is dead steals it (as SQLite does).
    const next = await store.acquireLease('acc-kill', 'owner', 'survivor', 60_000, Date.now(), { steal: true });
    await store.writeAuthKeys('acc-kill', [{ type: 'session', id: 'peer', value: new Uint8Array([255]) }], {
      holder: 'survivor',
      epoch: next!.epoch,
    });
    await store.patchAccount('acc-kill', { status: 'open' }, [], { holder: 'survivor', epoch: next!.epoch });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await store.readAuthKeys('acc-kill', 'session', ['peer'])).toEqual(new Map([['peer', new Uint8Array([255])]]));
  }, 60_000);
});

describe('stores and apps', () => {
  it('several stores coexist; closing one leaves the others working', async () => {
    const a = open();
    const b = open();
    await a.store.applyMutations(ACC, upsert(msg({ id: 'A' })));
    await b.store.applyMutations(ACC, upsert(msg({ id: 'B' })));
    await a.store.close();
    await expect(a.store.countMessages(ACC)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    expect(await b.store.countMessages(ACC)).toBe(1);
  });

  it('openFirestoreStore uses the emulator without credentials, names its own App and deletes it on close', async () => {
    const config = loadConfig({ STORE: 'firestore' });
    const logger = createLogger({ level: 'silent' });
    const before = getApps().length;
    const project = testProjectId();
    const store = await openFirestoreStore(config, logger, { FIRESTORE_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: project });
    const other = await openFirestoreStore(config, logger, { FIRESTORE_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: project });
    expect(getApps().length).toBe(before + 2);
    await store.init();
    expect(await store.health()).toMatchObject({ status: 'ok', backend: 'firestore' });
    await store.createAccount({ id: 'opened' });
    expect(await other.getAccount('opened')).toMatchObject({ id: 'opened' });
    await store.deleteAccount('opened', { purge: true });
    await store.close();
    await other.close();
    expect(getApps().length).toBe(before);
  });
});

describe('deleteAccount with purge', () => {
  it('leaves no document of the account behind, and every document of the other account', async () => {
    const { store, connection } = open();
    const LID = '178294512345678@lid';
    await store.createAccount({ id: ACC });
    await store.createAccount({ id: 'other' });
    await store.applyMutations(ACC, [
      ...upsert(msg({ id: 'A' }), msg({ id: 'B', direction: 'outbound' }), msg({ id: 'C', clientJid: LID })),
      { kind: 'thread', accountId: ACC, clientJid: PN2, displayName: 'Empty', source: 'chatName' },
      { kind: 'status', accountId: ACC, clientJid: null, messageId: 'LATER', status: 'read', at: BASE_TIME },
      { kind: 'jid-mapping', accountId: ACC, lid: LID, pn: PN },
    ]);
    await store.writeAuthCreds(ACC, new Uint8Array([1]));
    await store.writeAuthKeys(ACC, [{ type: 'session', id: 'x/y', value: new Uint8Array([2]) }]);
    await store.applyMutations('other', upsert(makeMessage({ id: 'A', accountId: 'other' })));
    const before = await emulator.documentPaths(connection.projectId);
    await store.deleteAccount(ACC, { purge: true });
    const after = await emulator.documentPaths(connection.projectId);
    expect(before.filter((p) => p.includes(ACC)).length).toBeGreaterThan(10);
    // Only the account's last change-log batch stays, emptied: it keeps the numbering going.
    const head = await store.changeLogHead(ACC);
    expect(after.filter((p) => p.includes(ACC))).toEqual([`wasyncFeed/${ACC}__${String(head).padStart(12, '0')}`]);
    expect((await connection.firestore.doc(`wasyncFeed/${ACC}__${String(head).padStart(12, '0')}`).get()).data()).toMatchObject({
      events: '[]',
      purged: true,
    });
    expect(after.filter((p) => !p.includes(ACC))).toEqual(before.filter((p) => !p.includes(ACC)));
  });
});
