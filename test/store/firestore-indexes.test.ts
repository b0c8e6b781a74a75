import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mutation } from '../../src/domain/mutations.js';
import { threadIdOf, type MessageRecord } from '../../src/domain/records.js';
import { createFirestoreStore, type FirestoreStore } from '../../src/store/firestore/index.js';
import { openFirestoreEmulator, type Connection, type EmulatorClient } from '../support/firestore-emulator.js';
import {
  describeShape,
  indexVerdict,
  readIndexFile,
  recordQueries,
  type IndexFile,
  type QueryRecorder,
  type QueryShape,
} from '../support/firestore-queries.js';
import { BASE_TIME, makeMessage, makeWebhookEndpoint } from '../support/records.js';

/**
 * Google's emulator runs any query without an index; real Firestore refuses one that has none
 * (FAILED_PRECONDITION). So the index file is proven here: every query the store sends while every
 * querying method of the port runs is recorded (the client library's request log) and must be served
 * by an index of firestore.indexes.json or by a single-field index Firestore keeps by itself. The
 * Firestore contract suite records and checks its queries the same way.
 */

const ACC = 'acc-idx';
const OTHER = 'acc-idx-other';
const PN = '40712345678@s.whatsapp.net';
const LID = '178294512345678@lid';
const GROUP = '120363012345678901@g.us';
const msg = (o: Partial<MessageRecord>) => makeMessage({ accountId: ACC, clientJid: PN, ...o });
const upsert = (...records: MessageRecord[]): Mutation[] => records.map((record) => ({ kind: 'message', record }));

/** The inbox's own queries (docs/firestore.md, "Indexes"; the rules test runs them with the web SDK). */
const INBOX_QUERIES: QueryShape[] = [
  {
    collectionGroup: 'threads',
    scope: 'COLLECTION',
    equality: ['accountId'],
    inequality: [],
    orderBy: [{ field: 'lastMessageAt', direction: 'DESCENDING' }],
  },
  ...(['ASCENDING', 'DESCENDING'] as const).flatMap((direction) =>
    ['createdAt', 'sortKey'].map(
      (field): QueryShape => ({
        collectionGroup: 'messages',
        scope: 'COLLECTION',
        equality: [],
        inequality: [],
        orderBy: [{ field, direction }],
      }),
    ),
  ),
];

/**
 * Exactly the queries the store sends once every querying method ran (descriptions from
 * describeShape): a new kind of query shows up here first, and must be served like the others.
 */
const STORE_QUERIES = [
  'accounts: all',
  'keys: all',
  'lidMappings: all',
  'pendingReceipts: all',
  'messages: all',
  'threads: accountId ==, lastMessageSortKey range, order lastMessageSortKey asc',
  'threads: accountId ==, lastMessageSortKey range, order lastMessageSortKey desc',
  'threads: accountId ==',
  'messages: sortKey range, order sortKey asc',
  'messages: sortKey range, order sortKey desc',
  'messages (collection group): accountId ==, waMessageId ==',
  'inboundDedupe: accountId ==',
  'outboundIndex: accountId ==',
  // The media-archive queue: claim wakes due jobs, then takes the queue order; counts per state; deletes by account.
  'wasyncMediaQueue: accountId ==, wakeAt range, order wakeAt asc',
  'wasyncMediaQueue: accountId ==, queueKey range, order queueKey asc',
  'wasyncMediaQueue: accountId ==, state ==',
  'wasyncMediaQueue: accountId ==',
  // The change log: an account's batches after a position (or from the oldest), its head, pruning by
  // server commit time, purging an account's batches below its head, expired single-use keys; webhooks listed whole.
  'wasyncFeed: accountId ==, seq range, order seq asc',
  'wasyncFeed: accountId ==, order seq asc',
  'wasyncFeed: accountId ==, order seq desc',
  'wasyncFeed: commitAt range, order commitAt asc',
  'wasyncOnce: expiresAt range',
  'wasyncWebhooks: all',
  // The instance registry: every instance reads the whole (small) fleet.
  'wasyncInstances: all',
];

describe('firestore.indexes.json serves every query', () => {
  let emulator: EmulatorClient;
  let connection: Connection;
  let store: FirestoreStore;
  let recorder: QueryRecorder;
  const file = readIndexFile();

  beforeAll(async () => {
    emulator = openFirestoreEmulator();
    connection = emulator.connect();
    store = createFirestoreStore({ firestore: connection.firestore, batching: { jitterMs: 0 } });
    recorder = recordQueries();

    // Every port method that queries, with every option that changes its query.
    await store.init();
    await store.createAccount({ id: ACC });
    await store.createAccount({ id: OTHER });
    await store.applyMutations(ACC, [
      { kind: 'thread', accountId: ACC, clientJid: GROUP, displayName: 'Group', source: 'chatName' },
      ...upsert(
        ...Array.from({ length: 5 }, (_, i) => msg({ id: `M${i}`, createdAt: BASE_TIME + i })),
        msg({ id: 'L1', clientJid: LID }),
        msg({ id: 'G1', clientJid: GROUP, direction: 'outbound' }),
      ),
      { kind: 'status', accountId: ACC, clientJid: null, messageId: 'LATER', status: 'read', at: BASE_TIME },
    ]);
    await store.applyMutations(ACC, [{ kind: 'jid-mapping', accountId: ACC, lid: LID, pn: PN }]);
    for (const order of ['asc', 'desc'] as const) {
      const threads = await store.listThreads(ACC, { limit: 1, order });
      await store.listThreads(ACC, { limit: 1, order, cursor: threads.nextCursor });
      const messages = await store.listMessages(ACC, threadIdOf(ACC, PN), { limit: 2, order });
      await store.listMessages(ACC, threadIdOf(ACC, PN), { limit: 2, order, cursor: messages.nextCursor });
    }
    await store.countMessages(ACC);
    await store.getMessage(ACC, 'NOT_STORED');
    await store.listJidMappings(ACC);
    await store.listAccounts();
    await store.writeAuthKeys(ACC, [{ type: 'session', id: 's', value: new Uint8Array([1]) }]);
    await store.clearAuthState(ACC);
    // Settings and the media-archive queue: enqueue, claim (waking due jobs, then the queue order),
    // settle, count, and the account delete that removes its jobs.
    await store.putSetting('waVersion', { version: [2, 3000, 1], fetchedAt: BASE_TIME });
    await store.getSetting('waVersion');
    await store.deleteSetting('waVersion');
    const job = (messageId: string, priority: 'live' | 'history') => ({
      accountId: ACC,
      messageId,
      clientJid: PN,
      priority,
      messageAt: BASE_TIME,
    });
    await store.enqueueMediaJobs([job('M0', 'live'), job('M1', 'history'), job('M2', 'history')], BASE_TIME);
    const claimed = await store.claimMediaJobs(ACC, { holder: 'i1', limit: 2, leaseMs: 1000, now: BASE_TIME, maxAttempts: 3 });
    const lease = (j: (typeof claimed)[number]) => ({ accountId: j.accountId, messageId: j.messageId, leaseId: j.leaseId! });
    await store.renewMediaJob(lease(claimed[0]!), 1000, BASE_TIME + 1);
    await store.retryMediaJob(lease(claimed[0]!), 'CDN 500', BASE_TIME + 10, BASE_TIME + 2);
    await store.completeMediaJob(lease(claimed[1]!), { sha256: 'ab'.repeat(32), size: 1, key: 'k' }, BASE_TIME + 3);
    await store.claimMediaJobs(ACC, { holder: 'i1', limit: 2, leaseMs: 1000, now: BASE_TIME + 20, maxAttempts: 3 });
    await store.getMediaJob(ACC, 'M0');
    await store.countMediaJobs(ACC);
    // The change log (the writes above logged batches), the feed's single-use keys, webhooks.
    const head = await store.changeLogHead(ACC);
    await store.readChanges(ACC, 0, 10);
    await store.readChanges(ACC, 'oldest', 10);
    await store.readChanges(ACC, head, 10);
    await store.changeLogHeads();
    await store.appendChanges(ACC, [{ type: 'account.updated', data: { fields: { status: 'open' } } }]);
    await store.useOnce('ticket:1', Date.now() - 1);
    await store.pruneChanges(Date.now() + 60_000);
    await store.createWebhook(makeWebhookEndpoint({ id: 'wh_idx', url: 'https://hooks.example.com/', secret: 's' }));
    await store.listWebhooks();
    await store.acquireWebhookLease('wh_idx', 'i1', 1000, BASE_TIME);
    await store.updateWebhook('wh_idx', { delivered: 1 }, { holder: 'i1', now: BASE_TIME + 1 });
    await store.releaseWebhookLease('wh_idx', 'i1');
    await store.deleteWebhook('wh_idx');
    // Owner lease, fenced writes and clears, the instance registry.
    const owner = await store.acquireLease(OTHER, 'owner', 'i1', 1000, BASE_TIME);
    const fence = { holder: 'i1', epoch: owner!.epoch };
    await store.writeAuthKeys(OTHER, [{ type: 'session', id: 's', value: new Uint8Array([1]) }], fence);
    await store.patchAccount(OTHER, { status: 'open' }, [], fence);
    await store.clearAuthState(OTHER, fence);
    await store.renewLease(owner!, 1000, BASE_TIME + 1);
    await store.releaseLease(owner!);
    await store.putInstance({
      instanceId: 'i1',
      url: null,
      mode: 'active',
      state: 'running',
      startedAt: BASE_TIME,
      heartbeatAt: BASE_TIME,
      accounts: [],
      maxAccounts: 0,
    });
    await store.listInstances();
    await store.deleteInstance('i1');
    await store.deleteAccount(ACC, { purge: true });
  });

  afterAll(async () => {
    recorder?.stop();
    await store?.close();
    await connection?.close();
    await emulator?.close();
  });

  it('every query the store sent is served by an index', () => {
    const problems = [...recorder.shapes.values()].flatMap((q) => {
      const verdict = indexVerdict(q, file);
      return verdict.ok ? [] : [verdict.problem];
    });
    expect(problems).toEqual([]);
  });

  it('the recording saw every kind of query the store issues, and no other', () => {
    expect([...recorder.shapes.keys()].sort()).toEqual([...STORE_QUERIES].sort());
  });

  it("the inbox's documented queries are served", () => {
    for (const q of INBOX_QUERIES) expect(indexVerdict(q, file), describeShape(q)).toMatchObject({ ok: true });
  });

  it('every composite index is needed: without any one of them, a query of the store or the inbox goes unserved', () => {
    const queries = [...recorder.shapes.values(), ...INBOX_QUERIES];
    for (const [i, index] of file.indexes.entries()) {
      const without: IndexFile = { ...file, indexes: file.indexes.filter((_, j) => j !== i) };
      const unserved = queries.filter((q) => !indexVerdict(q, without).ok).map(describeShape);
      expect(unserved, JSON.stringify(index.fields)).not.toEqual([]);
    }
  });
});

describe('the index check follows Firestore’s rules', () => {
  const file = readIndexFile();
  const q = (o: Partial<QueryShape>): QueryShape => ({
    collectionGroup: 'threads',
    scope: 'COLLECTION',
    equality: [],
    inequality: [],
    orderBy: [],
    ...o,
  });
  const asc = (field: string) => ({ field, direction: 'ASCENDING' as const });
  const desc = (field: string) => ({ field, direction: 'DESCENDING' as const });
  const empty: IndexFile = { indexes: [], fieldOverrides: [] };

  it.each([
    ['equality filters only: single-field indexes merge', q({ equality: ['accountId', 'clientJid'] }), empty, true],
    ['range and order on one field', q({ inequality: ['lastMessageSortKey'], orderBy: [desc('lastMessageSortKey')] }), empty, true],
    [
      'equality plus an order on another field needs a composite',
      q({ equality: ['accountId'], orderBy: [desc('lastMessageAt')] }),
      empty,
      false,
    ],
    ['the composite must have the order’s direction', q({ equality: ['accountId'], orderBy: [asc('lastMessageAt')] }), file, false],
    ['two orders need a composite', q({ orderBy: [asc('lastMessageAt'), asc('displayName')] }), file, false],
    [
      'a collection-group query has no automatic single-field index',
      q({ collectionGroup: 'messages', scope: 'COLLECTION_GROUP', equality: ['accountId'] }),
      file,
      false,
    ],
    [
      'a collection-group composite serves its collection group',
      q({ collectionGroup: 'messages', scope: 'COLLECTION_GROUP', equality: ['accountId', 'waMessageId'] }),
      file,
      true,
    ],
    [
      'a collection-scope composite does not serve a collection-group query',
      q({ scope: 'COLLECTION_GROUP', equality: ['accountId'], orderBy: [desc('lastMessageAt')] }),
      file,
      false,
    ],
    [
      'a field exempted by an override has no single-field index',
      q({ collectionGroup: 'messages', equality: ['rawMessage'] }),
      file,
      false,
    ],
  ] as const)('%s', (_, shape, indexes, served) => {
    expect(indexVerdict(shape, indexes).ok).toBe(served);
  });
});
