import { getApps } from 'firebase-admin/app';
import { Timestamp, type WriteBatch } from 'firebase-admin/firestore';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { StoreError, TransientStoreError } from '../../src/domain/errors.js';
import type { Mutation } from '../../src/domain/mutations.js';
import { threadIdOf, type MessageRecord } from '../../src/domain/records.js';
import { createLogger } from '../../src/logging/logger.js';
import { createFirestoreStore, openFirestoreStore, type FirestoreStore, type FirestoreStoreOptions } from '../../src/store/firestore/index.js';
import { BASE_TIME, makeMessage } from '../support/records.js';
import { startFirestoreEmulator, type Connection, type FirestoreEmulator } from '../support/firestore-emulator.js';

/**
 * Behaviour specific to the Firestore adapter, beyond the port contract: one write per thread per
 * batch, batches larger than one commit, failures part-way, transient errors, the message lookup
 * order, documents written by another writer, several stores in one process.
 *
 * Properties the in-process emulator cannot exhibit are listed in EMULATOR_GAPS with the reason;
 * their tests run only against an emulator that has them (WASYNC_TEST_FIRESTORE_EMULATOR_HOST, see
 * docs/firestore.md). Each gap also has a test proving it is still there, so a fixed emulator shows up.
 */
export const EMULATOR_GAPS = {
  'lease mutual exclusion under concurrent acquire':
    'the in-process emulator does not isolate transactions: BeginTransaction returns a dummy id and Commit applies writes without checking what the transaction read',
  'collection-group lookup of a message without an index entry':
    'the in-process emulator ignores allDescendants and answers every collection-group query with nothing',
} as const;

const ACC = 'acc-fs';
const PN = '40712345678@s.whatsapp.net';
const PN2 = '40787654321@s.whatsapp.net';
const PN_THREAD = threadIdOf(ACC, PN);
const msg = (o: Partial<MessageRecord>) => makeMessage({ accountId: ACC, clientJid: PN, ...o });
const upsert = (...records: MessageRecord[]): Mutation[] => records.map((record) => ({ kind: 'message', record }));
const grpcError = (code: number) => Object.assign(new Error(`grpc ${code}`), { code });

/** Known at collection time, before the emulator starts: only an external (Google's) one lacks the gaps. */
const IN_PROCESS = !process.env.WASYNC_TEST_FIRESTORE_EMULATOR_HOST;
const emulatorLacks = (gap: keyof typeof EMULATOR_GAPS): boolean => IN_PROCESS && gap in EMULATOR_GAPS;

let emulator: FirestoreEmulator;
beforeAll(async () => {
  emulator = await startFirestoreEmulator();
});
afterAll(async () => {
  await emulator.stop();
});

const opened: Array<{ store: FirestoreStore; connection: Connection }> = [];
function open(options: Partial<FirestoreStoreOptions> = {}): { store: FirestoreStore; connection: Connection } {
  const connection = emulator.connect();
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
afterEach(async () => {
  for (const { store, connection } of opened.splice(0)) {
    await store.close();
    await connection.close();
  }
});

describe('writes', () => {
  it('writes each thread document once per batch, after its messages; a replay writes nothing', async () => {
    const { store, connection } = open();
    const recorder = emulator.recordWrites(connection.projectId);
    if (recorder === null) return;
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
    // Message + index entry per message (the receipt folds into the same message write), + 2 threads.
    expect(recorder.writes).toHaveLength(50 * 2 + 2);

    recorder.clear();
    expect(await store.applyMutations(ACC, upsert(...batch))).toMatchObject({ inserted: 0, merged: 50 });
    expect(recorder.writes).toEqual([]);
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

  it('cuts commits by bytes (a lower limit here: the in-process emulator accepts 4 MiB per request and is slow with large values)', async () => {
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
    const records = Array.from({ length: 8 }, (_, i) => msg({ id: `R${i}`, createdAt: BASE_TIME + i, rawMessage: new Uint8Array(300 * 1024).fill(i) }));
    await store.applyMutations(ACC, upsert(...records));
    // Three ~300 KiB messages (each with its index entry) per 1 MiB commit; the small thread write
    // still fits in the last.
    expect(sizes).toEqual([6, 6, 5]);
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
    // The first commit landed: its messages are there with their index entries; no thread summary yet.
    expect(await store.countMessages(ACC)).toBe(250);
    expect(await store.getThread(ACC, PN_THREAD)).toBeNull();
    failAt = null;
    expect(await store.applyMutations(ACC, upsert(...records))).toMatchObject({ inserted: 350, merged: 250 });
    expect(await store.countMessages(ACC)).toBe(600);
    expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({ lastMessageId: 'M0599' });
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
    await store.applyMutations(ACC, [{ kind: 'status', accountId: ACC, clientJid: null, messageId: 'OUT', status: 'read', at: BASE_TIME + 5 }]);
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
    await store.applyMutations(ACC, [{ kind: 'status', accountId: ACC, clientJid: PN, messageId: 'LEGACY1', status: 'delivered', at: BASE_TIME + 9 }]);
    expect(await store.getMessage(ACC, 'LEGACY1')).toMatchObject({ status: 'delivered', deliveredAt: BASE_TIME + 9 });
    expect(await store.countMessages(ACC)).toBe(1);
  });

  it.skipIf(emulatorLacks('collection-group lookup of a message without an index entry'))(
    'collection-group lookup of a message without an index entry',
    async () => {
      const { store, connection } = open();
      await connection.firestore.doc(`threads/${PN_THREAD}/messages/ORPHAN`).set({ accountId: ACC, clientJid: PN, waMessageId: 'ORPHAN', body: 'x', direction: 'outbound' });
      expect(await store.getMessage(ACC, 'ORPHAN')).toMatchObject({ id: 'ORPHAN', body: 'x' });
      expect(await store.getMessage('someone-else', 'ORPHAN')).toBeNull();
    },
  );

  it.runIf(IN_PROCESS)('emulator gap still present: collection-group queries answer nothing', async () => {
    const { connection } = open();
    await connection.firestore.doc(`threads/${PN_THREAD}/messages/X`).set({ accountId: ACC, waMessageId: 'X' });
    const group = await connection.firestore.collectionGroup('messages').where('accountId', '==', ACC).get();
    expect(group.size).toBe(0);
  });
});

describe('leases', () => {
  it.skipIf(emulatorLacks('lease mutual exclusion under concurrent acquire'))('lease mutual exclusion under concurrent acquire', async () => {
    const { store, connection } = open();
    await store.createAccount({ id: ACC });
    // Instances, each with its own client, on one project. Exactly one may win; a loser either sees
    // the winner's holder (null) or gives up on contention (TransientStoreError), never both win.
    const instances = Array.from({ length: 3 }, () => emulator.connect(connection.projectId));
    try {
      const settled = await Promise.allSettled(
        instances.map((c, i) => createFirestoreStore({ firestore: c.firestore }).acquireLease(ACC, 'autoBackfill', `w${i}`, 60_000, BASE_TIME)),
      );
      for (const r of settled) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TransientStoreError);
      const winners = settled.flatMap((r) => (r.status === 'fulfilled' && r.value !== null ? [r.value] : []));
      expect(winners).toHaveLength(1);
      expect((await store.getAccount(ACC))?.autoBackfillLeaseHolder).toBe(winners[0]!.holder);
    } finally {
      await Promise.all(instances.map((c) => c.close()));
    }
  });

  it.runIf(IN_PROCESS)('emulator gap still present: two interleaved transactions both commit', async () => {
    const { connection } = open();
    const db = connection.firestore;
    const ref = db.doc('accounts/race');
    await ref.set({ holder: null });
    let release: () => void = () => undefined;
    const bothRead = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    const attempt = (holder: string) =>
      db.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        if (++reads === 2) release();
        await bothRead;
        if (snap.get('holder') !== null) return false;
        tx.update(ref, { holder });
        return true;
      });
    // On Firestore one of these retries, sees the other's holder and returns false.
    expect(await Promise.all([attempt('a'), attempt('b')])).toEqual([true, true]);
  });
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
    const store = await openFirestoreStore(config, logger, { FIRESTORE_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: 'wasync-open-test' });
    const other = await openFirestoreStore(config, logger, { FIRESTORE_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: 'wasync-open-test' });
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
    const before = emulator.documentPaths(connection.projectId);
    await store.deleteAccount(ACC, { purge: true });
    const after = emulator.documentPaths(connection.projectId);
    if (before === null || after === null) return;
    expect(before.filter((p) => p.includes(ACC)).length).toBeGreaterThan(10);
    expect(after.filter((p) => p.includes(ACC))).toEqual([]);
    expect(after).toEqual(before.filter((p) => !p.includes(ACC)));
  });
});
