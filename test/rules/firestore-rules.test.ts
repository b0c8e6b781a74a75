import { readFileSync } from 'node:fs';
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestContext,
  type RulesTestEnvironment,
} from '@firebase/rules-unit-testing';
import {
  addDoc,
  collection,
  collectionGroup,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  limit,
  onSnapshot,
  orderBy,
  query,
  setDoc,
  setLogLevel,
  startAfter,
  updateDoc,
  where,
  writeBatch,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
  type QuerySnapshot,
} from 'firebase/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mutation } from '../../src/domain/mutations.js';
import { threadIdOf, type MessageRecord } from '../../src/domain/records.js';
import { createFirestoreStore, type FirestoreStore } from '../../src/store/firestore/index.js';
import { COLLECTIONS, messageIndexId } from '../../src/store/firestore/paths.js';
import { testProjectId, type Connection } from '../support/firestore-emulator-client.js';
import { openFirestoreEmulator, type EmulatorClient } from '../support/firestore-emulator.js';
import { BASE_TIME, makeMessage, makeWebhookEndpoint } from '../support/records.js';

/**
 * firestore.rules, loaded into Google's emulator and exercised with the Firebase web SDK the way an
 * inbox app uses it: signed-in users whose ID token carries the custom claim `wasyncAccounts` (the
 * account ids they may read). The data is written by the real store (firebase-admin, which rules do
 * not govern), so the documents are exactly the server's. Every denial is the emulator's
 * PERMISSION_DENIED (assertFails), every grant a successful read (assertSucceeds).
 */

const A = 'account_prod_aaaa';
const B = 'account_prod_bbbb';
const jid = (n: number) => `4071000000${n}@s.whatsapp.net`;
const LID = '178294512345678@lid';
/** A's conversations: thread i holds i + 2 messages, its newest at a distinct time (newest thread: 4). */
const A_THREADS = [0, 1, 2, 3, 4].map((i) => threadIdOf(A, jid(i)));
const A_EMPTY = threadIdOf(A, jid(9));
const B_THREADS = [0, 1].map((i) => threadIdOf(B, jid(i)));

function seedMessages(accountId: string, thread: number): MessageRecord[] {
  return Array.from({ length: thread + 2 }, (_, k) =>
    makeMessage({
      id: `${accountId.slice(-4)}_T${thread}_M${k}`,
      accountId,
      clientJid: jid(thread),
      createdAt: BASE_TIME + thread * 60_000 + k * 1000,
      direction: k % 2 === 0 ? 'inbound' : 'outbound',
      body: `message ${k} of thread ${thread}`,
    }),
  );
}
const upsert = (records: MessageRecord[]): Mutation[] => records.map((record) => ({ kind: 'message', record }));

describe('firestore.rules: what an inbox client may read', () => {
  let emulator: EmulatorClient;
  let admin: Connection;
  let store: FirestoreStore;
  let env: RulesTestEnvironment;
  const projectId = testProjectId('demo-wasync');
  let authKeyId = '';

  /** The client SDK instance of a context (the compat instance the library returns works with the modular API). */
  const db = (context: RulesTestContext): Firestore => context.firestore() as unknown as Firestore;
  let inboxA: Firestore;
  let inboxAB: Firestore;
  let noClaim: Firestore;
  let claimNotAList: Firestore;
  let anonymous: Firestore;

  beforeAll(async () => {
    // Every denial below is expected: keep the SDK from logging each one as an error.
    setLogLevel('silent');
    emulator = openFirestoreEmulator();
    const [host, port] = [
      emulator.host.slice(0, emulator.host.lastIndexOf(':')),
      Number(emulator.host.slice(emulator.host.lastIndexOf(':') + 1)),
    ];
    env = await initializeTestEnvironment({ projectId, firestore: { host, port, rules: readFileSync('firestore.rules', 'utf8') } });

    admin = emulator.connect(projectId);
    store = createFirestoreStore({ firestore: admin.firestore, batching: { jitterMs: 0 } });
    for (const [accountId, threads] of [
      [A, 5],
      [B, 2],
    ] as const) {
      await store.createAccount({ id: accountId, status: 'open', connector: 'sim' });
      for (let t = 0; t < threads; t++) await store.applyMutations(accountId, upsert(seedMessages(accountId, t)));
    }
    // Everything else the server keeps: a named thread without messages, a LID mapping, a receipt
    // waiting for its message, a lease, WhatsApp credentials and keys, a setting, a media-archive job.
    await store.applyMutations(A, [
      { kind: 'thread', accountId: A, clientJid: jid(9), displayName: 'No messages yet', source: 'contactName' },
      { kind: 'jid-mapping', accountId: A, lid: LID, pn: jid(0) },
      { kind: 'status', accountId: A, clientJid: null, messageId: 'NOT_YET', status: 'read', at: BASE_TIME },
    ]);
    await store.acquireLease(A, 'autoBackfill', 'instance-1', 60_000, Date.now());
    // The owner lease writes the account's fence; the instance registry holds a heartbeat.
    await store.acquireLease(A, 'owner', 'instance-1', 60_000, Date.now());
    await store.putInstance({
      instanceId: 'instance-1',
      url: 'http://10.0.0.5:8080',
      mode: 'active',
      state: 'running',
      startedAt: BASE_TIME,
      heartbeatAt: BASE_TIME,
      accounts: [A],
      maxAccounts: 0,
    });
    await store.writeAuthCreds(A, new Uint8Array([1, 2, 3]));
    await store.writeAuthKeys(A, [{ type: 'session', id: 'peer.0', value: new Uint8Array([4]) }]);
    authKeyId = (await admin.firestore.collection(`${COLLECTIONS.auth}/${A}/${COLLECTIONS.authKeys}`).get()).docs[0]!.id;
    await store.putSetting('waVersion', { version: [2, 3000, 1], fetchedAt: BASE_TIME });
    const mediaMessage = seedMessages(A, 0)[0]!;
    await store.enqueueMediaJobs(
      [{ accountId: A, messageId: mediaMessage.id, clientJid: jid(0), priority: 'live', messageAt: mediaMessage.createdAt }],
      BASE_TIME,
    );

    // The live-event feed's documents: the change log (written by the writes above), its head hints
    // and epoch, a single-use websocket ticket, and a webhook endpoint with its secret.
    await store.changeLogEpoch();
    await store.useOnce('ws-ticket:abc', Date.now() + 60_000);
    await store.createWebhook(
      makeWebhookEndpoint({ id: 'wh_rules', url: 'https://hooks.example.com/x', accountId: A, secret: 'whsec_do_not_leak' }),
    );
    await waitForHint(A);

    inboxA = db(env.authenticatedContext('agent-a', { wasyncAccounts: [A] } as never));
    inboxAB = db(env.authenticatedContext('agent-ab', { wasyncAccounts: [A, B] } as never));
    noClaim = db(env.authenticatedContext('agent-none'));
    claimNotAList = db(env.authenticatedContext('agent-string', { wasyncAccounts: A } as never));
    anonymous = db(env.unauthenticatedContext());
  });

  afterAll(async () => {
    await env?.cleanup();
    await store?.close();
    await admin?.close();
    await emulator?.close();
  });

  /** The change log's head hint is written in the background (at most once a second per account). */
  async function waitForHint(accountId: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await admin.firestore.doc(`${COLLECTIONS.feedHeads}/${accountId}`).get()).exists) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no change-log head hint was written');
  }

  /** Every page of a query, following startAfter(last document) as an inbox's infinite scroll does. */
  async function pages(q: Query, size: number): Promise<string[][]> {
    const out: string[][] = [];
    let last: QueryDocumentSnapshot | null = null;
    for (;;) {
      const snap: QuerySnapshot = await assertSucceeds(getDocs(last ? query(q, startAfter(last), limit(size)) : query(q, limit(size))));
      if (snap.empty) return out;
      out.push(snap.docs.map((d) => d.id));
      last = snap.docs[snap.docs.length - 1]!;
      if (snap.size < size) return out;
    }
  }

  describe('its own account', () => {
    it('lists its threads newest first (lastMessageAt desc), page by page; empty threads are left out', async () => {
      const threads = query(collection(inboxA, 'threads'), where('accountId', '==', A), orderBy('lastMessageAt', 'desc'));
      expect(await pages(threads, 2)).toEqual([[A_THREADS[4], A_THREADS[3]], [A_THREADS[2], A_THREADS[1]], [A_THREADS[0]]]);
      // The same order the API serves (the store's keyset on lastMessageSortKey).
      expect((await store.listThreads(A, { limit: 10 })).items.map((t) => t.id)).toEqual([...A_THREADS].reverse());
    });

    it('runs the store’s own thread query shape too (lastMessageSortKey range and order)', async () => {
      const q = query(
        collection(inboxA, 'threads'),
        where('accountId', '==', A),
        where('lastMessageSortKey', '>', ''),
        orderBy('lastMessageSortKey', 'asc'),
      );
      expect((await pages(q, 3)).flat()).toEqual(A_THREADS);
    });

    it('reads one thread document and its fields', async () => {
      const snap = await assertSucceeds(getDoc(doc(inboxA, 'threads', A_THREADS[2]!)));
      expect(snap.data()).toMatchObject({ accountId: A, clientJid: jid(2), lastMessageId: `${A.slice(-4)}_T2_M3` });
      const empty = await assertSucceeds(getDoc(doc(inboxA, 'threads', A_EMPTY)));
      expect(empty.data()).toMatchObject({ accountId: A, displayName: 'No messages yet' });
    });

    it('reads a thread’s messages, ordered by createdAt or sortKey, both directions, paged', async () => {
      const thread = A_THREADS[4]!;
      const ids = seedMessages(A, 4).map((m) => m.id);
      const messages = collection(inboxA, 'threads', thread, 'messages');
      expect(await pages(query(messages, orderBy('createdAt', 'desc')), 4)).toEqual([ids.slice(2).reverse(), ids.slice(0, 2).reverse()]);
      expect((await pages(query(messages, orderBy('createdAt', 'asc')), 5)).flat()).toEqual(ids);
      expect((await pages(query(messages, orderBy('sortKey', 'desc')), 3)).flat()).toEqual([...ids].reverse());
      const one = await assertSucceeds(getDoc(doc(inboxA, 'threads', thread, 'messages', ids[0]!)));
      expect(one.data()).toMatchObject({ accountId: A, waMessageId: ids[0], body: 'message 0 of thread 4' });
    });

    it('listens to its thread list and to a thread live, as an inbox does', async () => {
      const listen = (q: Query) =>
        new Promise<string[]>((resolve, reject) => {
          const stop = onSnapshot(
            q,
            (snap) => {
              stop();
              resolve(snap.docs.map((d) => d.id));
            },
            reject,
          );
        });
      expect(
        await listen(query(collection(inboxA, 'threads'), where('accountId', '==', A), orderBy('lastMessageAt', 'desc'), limit(2))),
      ).toEqual([A_THREADS[4], A_THREADS[3]]);
      expect(await listen(query(collection(inboxA, 'threads', A_THREADS[0]!, 'messages'), orderBy('createdAt')))).toEqual(
        seedMessages(A, 0).map((m) => m.id),
      );
      // A listener on what it may not read is refused the same way.
      await expect(listen(query(collection(inboxA, 'threads'), where('accountId', '==', B)))).rejects.toMatchObject({
        code: 'permission-denied',
      });
    });

    it('a client entitled to two accounts reads both, one query per account', async () => {
      expect(
        (await pages(query(collection(inboxAB, 'threads'), where('accountId', '==', A), orderBy('lastMessageAt', 'desc')), 10)).flat(),
      ).toHaveLength(5);
      expect(
        (await pages(query(collection(inboxAB, 'threads'), where('accountId', '==', B), orderBy('lastMessageAt', 'desc')), 10)).flat(),
      ).toEqual([...B_THREADS].reverse());
      await assertSucceeds(getDocs(collection(inboxAB, 'threads', B_THREADS[1]!, 'messages')));
    });
  });

  describe("another account's conversations", () => {
    it('are denied: its thread documents, a query on its account id, a query without an account filter', async () => {
      await assertFails(getDoc(doc(inboxA, 'threads', B_THREADS[0]!)));
      await assertFails(getDocs(query(collection(inboxA, 'threads'), where('accountId', '==', B))));
      await assertFails(getDocs(query(collection(inboxA, 'threads'), where('accountId', 'in', [A, B]))));
      // The rules cannot prove every result is A's: Firestore denies the query, it does not filter it.
      await assertFails(getDocs(collection(inboxA, 'threads')));
      await assertFails(getDocs(query(collection(inboxA, 'threads'), orderBy('lastMessageAt', 'desc'), limit(5))));
    });

    it('are denied: its messages, listed or one by one, and any collection-group query on messages', async () => {
      const theirs = B_THREADS[1]!;
      await assertFails(getDocs(collection(inboxA, 'threads', theirs, 'messages')));
      await assertFails(getDocs(query(collection(inboxA, 'threads', theirs, 'messages'), orderBy('createdAt', 'desc'), limit(1))));
      await assertFails(getDoc(doc(inboxA, 'threads', theirs, 'messages', seedMessages(B, 1)[0]!.id)));
      await assertFails(getDocs(query(collectionGroup(inboxA, 'messages'), where('accountId', '==', B))));
      await assertFails(getDocs(query(collectionGroup(inboxA, 'messages'), where('accountId', '==', A))));
    });

    it('a thread id that does not exist reveals nothing (denied, not "missing")', async () => {
      await assertFails(getDoc(doc(inboxA, 'threads', threadIdOf(B, jid(7)))));
      await assertFails(getDocs(collection(inboxA, 'threads', threadIdOf(A, jid(7)), 'messages')));
    });
  });

  describe('server-only data', () => {
    const serverOnly = (): Array<[string, (d: Firestore) => Promise<unknown>]> => [
      ['accounts/{A} (status, leases)', (d) => getDoc(doc(d, COLLECTIONS.accounts, A))],
      ['accounts list', (d) => getDocs(collection(d, COLLECTIONS.accounts))],
      ['inboundDedupe entry', (d) => getDoc(doc(d, COLLECTIONS.inboundDedupe, messageIndexId(A, seedMessages(A, 0)[0]!.id)))],
      ['inboundDedupe by account', (d) => getDocs(query(collection(d, COLLECTIONS.inboundDedupe), where('accountId', '==', A)))],
      ['outboundIndex entry', (d) => getDoc(doc(d, COLLECTIONS.outboundIndex, messageIndexId(A, seedMessages(A, 0)[1]!.id)))],
      ['outboundIndex by account', (d) => getDocs(query(collection(d, COLLECTIONS.outboundIndex), where('accountId', '==', A)))],
      ['wasyncAuth/{A} (WhatsApp credentials)', (d) => getDoc(doc(d, COLLECTIONS.auth, A))],
      ['wasyncAuth/{A}/keys (signal keys)', (d) => getDocs(collection(d, COLLECTIONS.auth, A, COLLECTIONS.authKeys))],
      ['wasyncAuth/{A}/keys/{key}', (d) => getDoc(doc(d, COLLECTIONS.auth, A, COLLECTIONS.authKeys, authKeyId))],
      ['wasyncPrivate lidMappings', (d) => getDocs(collection(d, COLLECTIONS.private, A, COLLECTIONS.lidMappings))],
      ['wasyncPrivate pendingReceipts', (d) => getDoc(doc(d, COLLECTIONS.private, A, COLLECTIONS.pendingReceipts, 'NOT_YET'))],
      ['wasyncHealth', (d) => getDoc(doc(d, COLLECTIONS.healthProbe, 'probe'))],
      ['wasyncSettings/{key} (the cached WhatsApp Web version)', (d) => getDoc(doc(d, COLLECTIONS.settings, 'waVersion'))],
      ['wasyncSettings list', (d) => getDocs(collection(d, COLLECTIONS.settings))],
      ['wasyncMediaQueue job', (d) => getDoc(doc(d, COLLECTIONS.mediaJobs, messageIndexId(A, seedMessages(A, 0)[0]!.id)))],
      ['wasyncMediaQueue by account', (d) => getDocs(query(collection(d, COLLECTIONS.mediaJobs), where('accountId', '==', A)))],
      // The live-event feed: message bodies in the change log, webhook secrets, websocket tickets.
      ['wasyncFeed batch (the change log)', (d) => getDoc(doc(d, COLLECTIONS.feed, `${A}__000000000001`))],
      ['wasyncFeed by account', (d) => getDocs(query(collection(d, COLLECTIONS.feed), where('accountId', '==', A)))],
      ['wasyncFeedHeads hint', (d) => getDoc(doc(d, COLLECTIONS.feedHeads, A))],
      ['wasyncFeedHeads list', (d) => getDocs(collection(d, COLLECTIONS.feedHeads))],
      ['wasyncFeedMeta epoch', (d) => getDoc(doc(d, COLLECTIONS.feedMeta, 'log'))],
      ['wasyncOnce ticket', (d) => getDoc(doc(d, COLLECTIONS.once, 'ws-ticket:abc'))],
      ['wasyncWebhooks endpoint (its secret)', (d) => getDoc(doc(d, COLLECTIONS.webhooks, 'wh_rules'))],
      ['wasyncWebhooks list', (d) => getDocs(collection(d, COLLECTIONS.webhooks))],
      ['wasyncFences/{A} (the owner lease fence)', (d) => getDoc(doc(d, COLLECTIONS.fences, A))],
      ['wasyncInstances/{id} (an instance and its URL)', (d) => getDoc(doc(d, COLLECTIONS.instances, 'instance-1'))],
      ['wasyncInstances list (the fleet)', (d) => getDocs(collection(d, COLLECTIONS.instances))],
      // Anything the rules do not name falls to the catch-all deny: journals and the like.
      ['a collection the rules do not name (journal)', (d) => getDocs(collection(d, 'wasyncJournal'))],
      ['a subcollection of a thread other than messages', (d) => getDocs(collection(d, 'threads', A_THREADS[0]!, 'changes'))],
    ];

    it.each([
      ['entitled to the account', () => inboxA],
      ['entitled to both accounts', () => inboxAB],
      ['signed in without the claim', () => noClaim],
      ['with a claim that is not a list', () => claimNotAList],
      ['not signed in', () => anonymous],
    ])('is never readable by a client %s', async (_, client) => {
      for (const [what, read] of serverOnly()) {
        await expect(assertFails(read(client())), what).resolves.toBeDefined();
      }
    });
  });

  describe('clients without an entitlement', () => {
    it.each([
      ['not signed in', () => anonymous],
      ['signed in without the claim', () => noClaim],
      ['with a claim that is not a list', () => claimNotAList],
    ])('a client %s reads no thread and no message', async (_, client) => {
      const d = client();
      await assertFails(getDoc(doc(d, 'threads', A_THREADS[0]!)));
      await assertFails(getDocs(query(collection(d, 'threads'), where('accountId', '==', A))));
      await assertFails(getDocs(query(collection(d, 'threads'), where('accountId', '==', A), orderBy('lastMessageAt', 'desc'), limit(10))));
      await assertFails(getDocs(collection(d, 'threads', A_THREADS[0]!, 'messages')));
      await assertFails(getDoc(doc(d, 'threads', A_THREADS[0]!, 'messages', seedMessages(A, 0)[0]!.id)));
    });
  });

  describe('writes', () => {
    const ownThread = () => A_THREADS[0]!;
    const ownMessage = () => seedMessages(A, 0)[0]!.id;
    const writes = (): Array<[string, (d: Firestore) => Promise<unknown>]> => [
      ['create a thread', (d) => setDoc(doc(d, 'threads', threadIdOf(A, jid(8))), { accountId: A, clientJid: jid(8) })],
      ['overwrite its thread', (d) => setDoc(doc(d, 'threads', ownThread()), { accountId: A })],
      ['mark its thread read', (d) => updateDoc(doc(d, 'threads', ownThread()), { unread: 0 })],
      ['delete its thread', (d) => deleteDoc(doc(d, 'threads', ownThread()))],
      ['add a message', (d) => addDoc(collection(d, 'threads', ownThread(), 'messages'), { accountId: A, body: 'forged' })],
      ['edit a message', (d) => updateDoc(doc(d, 'threads', ownThread(), 'messages', ownMessage()), { body: 'edited by a client' })],
      ['delete a message', (d) => deleteDoc(doc(d, 'threads', ownThread(), 'messages', ownMessage()))],
      ['take the lease', (d) => updateDoc(doc(d, COLLECTIONS.accounts, A), { autoBackfillLeaseHolder: 'client' })],
      ['move the fence', (d) => setDoc(doc(d, COLLECTIONS.fences, A), { holder: 'client', epoch: 99 })],
      ['register an instance', (d) => setDoc(doc(d, COLLECTIONS.instances, 'rogue'), { url: 'http://evil.example' })],
      ['redirect an instance', (d) => updateDoc(doc(d, COLLECTIONS.instances, 'instance-1'), { url: 'http://evil.example' })],
      ['create an account', (d) => setDoc(doc(d, COLLECTIONS.accounts, 'account_forged'), { status: 'open' })],
      ['write an index entry', (d) => setDoc(doc(d, COLLECTIONS.inboundDedupe, messageIndexId(A, 'X')), { accountId: A })],
      ['replace credentials', (d) => setDoc(doc(d, COLLECTIONS.auth, A), { creds: 'x' })],
      ['pin the WhatsApp Web version', (d) => setDoc(doc(d, COLLECTIONS.settings, 'waVersion'), { json: '{"version":[2,1,1]}' })],
      [
        'enqueue or settle a media job',
        (d) => setDoc(doc(d, COLLECTIONS.mediaJobs, messageIndexId(A, 'X')), { accountId: A, state: 'done' }),
      ],
      ['forge a change-log batch', (d) => setDoc(doc(d, COLLECTIONS.feed, `${A}__000000000999`), { accountId: A, seq: 999 })],
      ['move a head hint', (d) => setDoc(doc(d, COLLECTIONS.feedHeads, A), { seq: 999 })],
      ['burn a ticket', (d) => setDoc(doc(d, COLLECTIONS.once, 'ws-ticket:zzz'), { expiresAt: 1 })],
      ['add a webhook', (d) => setDoc(doc(d, COLLECTIONS.webhooks, 'wh_forged'), { url: 'https://evil.example/' })],
      ['repoint a webhook', (d) => updateDoc(doc(d, COLLECTIONS.webhooks, 'wh_rules'), { url: 'https://evil.example/' })],
      [
        'a batch of its own thread and message',
        (d) => {
          const batch = writeBatch(d);
          batch.update(doc(d, 'threads', ownThread()), { unread: 0 });
          batch.update(doc(d, 'threads', ownThread(), 'messages', ownMessage()), { status: 'read' });
          return batch.commit();
        },
      ],
    ];

    it.each([
      ['entitled to the account', () => inboxA],
      ['entitled to both accounts', () => inboxAB],
      ['signed in without the claim', () => noClaim],
      ['not signed in', () => anonymous],
    ])('a client %s writes nothing', async (_, client) => {
      for (const [what, write] of writes()) {
        await expect(assertFails(write(client())), what).resolves.toBeDefined();
      }
      // And nothing changed: the server's documents are as it wrote them.
      expect((await admin.firestore.doc(`threads/${ownThread()}`).get()).get('unread')).toBeUndefined();
      expect((await admin.firestore.doc(`threads/${ownThread()}/messages/${ownMessage()}`).get()).get('body')).toBe(
        'message 0 of thread 0',
      );
      expect((await admin.firestore.doc(`accounts/${A}`).get()).get('autoBackfillLeaseHolder')).toBe('instance-1');
      expect((await admin.firestore.doc(`threads/${threadIdOf(A, jid(8))}`).get()).exists).toBe(false);
      expect((await store.getSetting('waVersion'))?.value).toEqual({ version: [2, 3000, 1], fetchedAt: BASE_TIME });
      expect(await store.getMediaJob(A, 'X')).toBeNull();
      expect((await store.getWebhook('wh_rules'))?.url).toBe('https://hooks.example.com/x');
      expect(await store.getWebhook('wh_forged')).toBeNull();
      const log = await store.readChanges(A, 0, 1000);
      expect(log.status === 'ok' && log.batches.every((b) => b.seq < 999)).toBe(true);
      expect((await admin.firestore.doc(`${COLLECTIONS.once}/ws-ticket:zzz`).get()).exists).toBe(false);
      expect((await admin.firestore.doc(`${COLLECTIONS.fences}/${A}`).get()).data()).toMatchObject({ holder: 'instance-1', epoch: 1 });
      expect((await store.listInstances()).map((i) => [i.instanceId, i.url])).toEqual([['instance-1', 'http://10.0.0.5:8080']]);
    });
  });
});
