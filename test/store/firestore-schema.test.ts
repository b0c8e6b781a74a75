import { Timestamp, type DocumentData, type Firestore } from 'firebase-admin/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mutation } from '../../src/domain/mutations.js';
import { threadIdOf, type MessageRecord } from '../../src/domain/records.js';
import { createFirestoreStore, type FirestoreStore } from '../../src/store/firestore/index.js';
import { BASE_TIME, makeMessage } from '../support/records.js';
import { openFirestoreEmulator, type Connection, type EmulatorClient } from '../support/firestore-emulator.js';
import {
  INDEX_SCHEMA,
  MESSAGE_SCHEMA,
  SEED_MESSAGE_FIELDS,
  SEED_THREAD_FIELDS,
  THREAD_SCHEMA,
  kindOf,
  schemaProblems,
  type Schema,
} from '../support/firestore-schema.js';

/**
 * The data contract, checked on the raw documents: after a history-sync-like batch, live messages,
 * receipts, an outbound send, edits and a JID merge go through the port, every path, field name and
 * field type is read back with plain firebase-admin and compared with the seeds
 * (../shared/seeds/000_*.txt, 003_*.txt) and the documented extensions (docs/firestore.md).
 */

const ACC = 'account_test_ab12cd';
const PN = '40712345678@s.whatsapp.net';
const LID = '178294512345678@lid';
const GROUP = '120363012345678901@g.us';
const EMPTY = '40799999999@s.whatsapp.net';
const NOW = BASE_TIME + 3_600_000;
const KEY_ID = 'AbC/12+x==';

/** Exactly these fields, each of one of the listed kinds (the shared tables in test/support/firestore-schema.ts). */
function expectSchema(doc: DocumentData | undefined, schema: Schema, where: string): void {
  expect(schemaProblems(doc, schema, where)).toEqual([]);
}

describe('Firestore documents match the seeds', () => {
  let emulator: EmulatorClient;
  let connection: Connection;
  let db: Firestore;
  let store: FirestoreStore;
  const PN_THREAD = threadIdOf(ACC, PN);
  const LID_THREAD = threadIdOf(ACC, LID);
  const GROUP_THREAD = threadIdOf(ACC, GROUP);
  const EMPTY_THREAD = threadIdOf(ACC, EMPTY);

  const m = (o: Partial<MessageRecord>) => makeMessage({ accountId: ACC, clientJid: PN, ...o });
  const history = { syncSource: 'history_sync', syncedAt: NOW, syncType: 'FULL', tsServer: NOW } as const;
  const H1 = m({ id: '3EB0H1', createdAt: BASE_TIME, body: 'first from history', ...history });
  const H2 = m({ id: '3EB0H2', createdAt: BASE_TIME + 1000, direction: 'outbound', status: 'delivered', body: 'my reply', ...history });
  const H3 = m({ id: '3EB0H3', clientJid: GROUP, participant: PN, pushName: 'Ana', createdAt: BASE_TIME + 2000, ...history });
  const H4 = m({ id: '3EB0H4', clientJid: LID, createdAt: BASE_TIME + 500, body: 'from the lid', ...history });
  const L1 = m({ id: '3EB0L1', createdAt: BASE_TIME + 5000, body: 'live tpyo', tsServer: NOW });
  const O1 = m({
    id: '3EB0O1',
    createdAt: BASE_TIME + 6000,
    direction: 'outbound',
    status: 'queued',
    syncSource: 'outbound_api',
    body: 'see photo',
    messageType: 'image',
    contentType: 'imageMessage',
    mediaType: 'image',
    mediaUrl: 'https://mmg.whatsapp.net/o1',
    mediaMimetype: 'image/jpeg',
    mediaFilename: null,
    mediaSize: 2048,
    media: {
      directPath: '/v/o1',
      url: 'https://mmg.whatsapp.net/o1',
      mediaKey: 'a2V5',
      fileEncSha256: 'ZW5j',
      fileSha256: 'c2hh',
      fileLength: 2048,
    },
    rawMessage: new Uint8Array([10, 20, 30]),
    tsServer: NOW,
  });
  const upsert = (...records: MessageRecord[]): Mutation[] => records.map((record) => ({ kind: 'message', record }));

  beforeAll(async () => {
    emulator = openFirestoreEmulator();
    connection = emulator.connect();
    db = connection.firestore;
    store = createFirestoreStore({ firestore: db, now: () => NOW, batching: { jitterMs: 0 } });
    await store.init();

    await store.createAccount({ id: ACC, status: 'open', connector: 'sim' });
    // History sync: names, then messages in several threads (one of them a LID chat).
    await store.applyMutations(ACC, [
      { kind: 'thread', accountId: ACC, clientJid: PN, displayName: 'Ana', source: 'contactName' },
      { kind: 'thread', accountId: ACC, clientJid: EMPTY, displayName: 'No messages yet', source: 'chatName' },
      ...upsert(H1, H2, H3, H4),
    ]);
    await store.recordHistorySync(ACC, { saved: 4, skipped: 0, errors: 0, total: 4, dryRun: false }, NOW);
    // Live traffic: an inbound message, an outbound send and its receipts, a receipt that comes early.
    await store.applyMutations(ACC, upsert(L1));
    await store.applyMutations(ACC, upsert(O1));
    await store.applyMutations(ACC, upsert({ ...O1, status: 'sent' }));
    await store.applyMutations(ACC, [
      { kind: 'status', accountId: ACC, clientJid: PN, messageId: O1.id, status: 'delivered', at: BASE_TIME + 7000 },
      { kind: 'status', accountId: ACC, clientJid: PN, messageId: O1.id, status: 'read', at: BASE_TIME + 8000 },
      { kind: 'status', accountId: ACC, clientJid: null, messageId: '3EB0FUTURE', status: 'delivered', at: BASE_TIME + 8500 },
    ]);
    await store.applyMutations(ACC, [
      { kind: 'edit', accountId: ACC, clientJid: PN, messageId: L1.id, body: 'live typo fixed', editedAt: BASE_TIME + 9000 },
      { kind: 'revoke', accountId: ACC, clientJid: null, messageId: H1.id, revokedAt: BASE_TIME + 9500 },
    ]);
    // The LID chat turns out to be the PN chat.
    await store.applyMutations(ACC, [{ kind: 'jid-mapping', accountId: ACC, lid: LID, pn: PN }]);
    await store.setThreadBackfilledAt(ACC, PN_THREAD, NOW);
    await store.patchAccount(ACC, {
      historySyncStatus: 'running',
      historySyncProgress: { RECENT: 40, FULL: null },
      historySyncChunks: { INITIAL_BOOTSTRAP: 1, RECENT: 2 },
      historySyncMessagesSaved: 4,
      historySyncStartedAt: NOW - 60_000,
      historySyncUpdatedAt: NOW,
      historySyncLastChunkAt: NOW,
      historySyncCompletedAt: null,
      historySyncStalled: false,
      historySyncStalledAt: null,
    });
    await store.patchAccount(ACC, {
      lastBackfillAt: NOW,
      lastBackfillResult: { threads: 1, messages: 2, errors: 0, threadResults: [{ threadId: PN_THREAD, messages: 2 }] },
    });
    await store.acquireLease(ACC, 'autoBackfill', 'host-1', 900_000, NOW);
    await store.writeAuthCreds(ACC, new Uint8Array([1, 2, 3]));
    await store.writeAuthKeys(ACC, [{ type: 'app-state-sync-key', id: KEY_ID, value: new Uint8Array([4, 5]) }]);
  });

  afterAll(async () => {
    await store?.close();
    await connection?.close();
    await emulator?.close();
  });

  const get = async (path: string) => (await db.doc(path).get()).data();

  it('writes exactly the documented paths, nothing else', async () => {
    const paths = await emulator.documentPaths(connection.projectId);
    const LOGGED_BATCHES = await store.changeLogHead(ACC);
    expect(LOGGED_BATCHES).toBeGreaterThan(3);
    const authKeyDoc = (await db.collection(`wasyncAuth/${ACC}/keys`).get()).docs[0]!.id;
    expect(paths).toEqual(
      [
        `accounts/${ACC}`,
        `threads/${PN_THREAD}`,
        `threads/${GROUP_THREAD}`,
        `threads/${EMPTY_THREAD}`,
        ...[H1, H2, H4, L1, O1].map((x) => `threads/${PN_THREAD}/messages/${x.id}`),
        `threads/${GROUP_THREAD}/messages/${H3.id}`,
        ...[H1, H3, H4, L1].map((x) => `inboundDedupe/${ACC}__${x.id}`),
        ...[H2, O1].map((x) => `outboundIndex/${ACC}__${x.id}`),
        `wasyncPrivate/${ACC}/lidMappings/${LID}`,
        `wasyncPrivate/${ACC}/pendingReceipts/3EB0FUTURE`,
        `wasyncAuth/${ACC}`,
        `wasyncAuth/${ACC}/keys/${authKeyDoc}`,
        // The change log: one document per committed batch that changed something (docs/live-events.md), and its head hint.
        ...Array.from({ length: LOGGED_BATCHES }, (_, i) => `wasyncFeed/${ACC}__${String(i + 1).padStart(12, '0')}`),
        `wasyncFeedHeads/${ACC}`,
      ].sort(),
    );
  });

  it('change-log documents: numbered per account, server commit time, events as JSON, no indexes on the payload', async () => {
    const docs = (await db.collection('wasyncFeed').orderBy('seq').get()).docs;
    const LOGGED_BATCHES = await store.changeLogHead(ACC);
    expect(docs.map((d) => d.get('seq'))).toEqual(Array.from({ length: LOGGED_BATCHES }, (_, i) => i + 1));
    for (const d of docs) {
      const data = d.data();
      expect(Object.keys(data).sort()).toEqual(['accountId', 'commitAt', 'committedAt', 'count', 'events', 'seq', 'writer']);
      expect(data.accountId).toBe(ACC);
      expect(data.commitAt).toBeInstanceOf(Timestamp);
      expect(data.committedAt).toBeInstanceOf(Timestamp);
      const events = JSON.parse(data.events as string) as Array<{ type: string }>;
      expect(events).toHaveLength(data.count as number);
      expect(events.length).toBeGreaterThan(0);
    }
    // The JID mapping's merge is logged as a thread.updated naming the LID thread it folded in (the
    // history-sync patch after it logs an account.updated of its own).
    const all = docs.flatMap((d) => JSON.parse(d.get('events') as string) as Array<{ type: string; data: { mergedFrom?: string } }>);
    const merges = all.filter((e) => e.type === 'thread.updated' && e.data.mergedFrom);
    expect(merges).toHaveLength(1);
    expect(merges[0]).toMatchObject({ type: 'thread.updated', data: { mergedFrom: threadIdOf(ACC, LID) } });
    expect(all.some((e) => e.type === 'account.updated')).toBe(true);
  });

  it('message documents: message id as document id, seed field names and types', async () => {
    const docs = [
      ...(await db.collection(`threads/${PN_THREAD}/messages`).get()).docs,
      ...(await db.collection(`threads/${GROUP_THREAD}/messages`).get()).docs,
    ];
    expect(docs.map((d) => d.id).sort()).toEqual([H1, H2, H3, H4, L1, O1].map((x) => x.id).sort());
    for (const d of docs) {
      const data = d.data();
      expectSchema(data, MESSAGE_SCHEMA, d.ref.path);
      for (const field of SEED_MESSAGE_FIELDS) expect(data).toHaveProperty(field);
      expect(data.waMessageId).toBe(d.id);
      expect(data.accountId).toBe(ACC);
      // tsClient is the ISO 8601 form of the same instant as createdAt.
      expect(data.tsClient).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Date.parse(data.tsClient)).toBe((data.createdAt as Timestamp).toMillis());
      expect(data.sortKey).toBe(`${String((data.createdAt as Timestamp).toMillis()).padStart(16, '0')}|${d.id}`);
      expect(['inbound', 'outbound']).toContain(data.direction);
      expect(['queued', 'sent', 'delivered', 'read']).toContain(data.status);
      expect(['history_sync', 'realtime', 'backfill', 'outbound_api']).toContain(data.syncSource);
      // Messages live in the thread their clientJid names.
      expect(d.ref.parent.parent!.id).toBe(`${ACC}__${data.clientJid}`);
    }
  });

  it('message values: history, live, outbound with receipts, edit, revoke, moved', async () => {
    const msg = (id: string) => get(`threads/${PN_THREAD}/messages/${id}`);
    const ms = (t: unknown) => (t as Timestamp).toMillis();

    const h1 = await msg(H1.id);
    expect(h1).toMatchObject({ syncSource: 'history_sync', syncType: 'FULL', body: 'first from history' });
    expect(ms(h1!.syncedAt)).toBe(NOW);
    expect(ms(h1!.tsServer)).toBe(NOW);
    expect(ms(h1!.createdAt)).toBe(BASE_TIME);
    expect(ms(h1!.revokedAt)).toBe(BASE_TIME + 9500);

    const l1 = await msg(L1.id);
    expect(l1).toMatchObject({ syncSource: 'realtime', syncedAt: null, body: 'live typo fixed', direction: 'inbound' });
    expect(ms(l1!.editedAt)).toBe(BASE_TIME + 9000);

    const o1 = await msg(O1.id);
    expect(o1).toMatchObject({
      direction: 'outbound',
      fromMe: true,
      status: 'read',
      syncSource: 'outbound_api',
      messageType: 'image',
      mediaType: 'image',
    });
    expect(ms(o1!.deliveredAt)).toBe(BASE_TIME + 7000);
    expect(ms(o1!.readAt)).toBe(BASE_TIME + 8000);
    expect(Uint8Array.from(o1!.rawMessage as Uint8Array)).toEqual(new Uint8Array([10, 20, 30]));
    expect(o1!.media).toEqual(O1.media);

    // The LID message now lives in the PN thread, with the PN as its chat.
    const h4 = await msg(H4.id);
    expect(h4).toMatchObject({ clientJid: PN, body: 'from the lid' });
    expect(await get(`threads/${LID_THREAD}/messages/${H4.id}`)).toBeUndefined();

    const h3 = await get(`threads/${GROUP_THREAD}/messages/${H3.id}`);
    expect(h3).toMatchObject({ clientJid: GROUP, participant: PN, pushName: 'Ana' });
  });

  it('thread documents: id {accountId}__{clientJid}, seed field names and types', async () => {
    const snap = await db.collection('threads').where('accountId', '==', ACC).get();
    expect(snap.docs.map((d) => d.id).sort()).toEqual([PN_THREAD, GROUP_THREAD, EMPTY_THREAD].sort());
    for (const d of snap.docs) {
      const data = d.data();
      expect(d.id).toBe(`${data.accountId}__${data.clientJid}`);
      if (d.id === EMPTY_THREAD) {
        // No message yet: no lastMessageAt at all, so ordered queries (the inbox's too) leave it out.
        const { lastMessageAt: _none, lastMessageSortKey: _nokey, ...rest } = THREAD_SCHEMA;
        expectSchema(data, rest, d.ref.path);
        expect(data).toMatchObject({ displayName: 'No messages yet', lastMessagePreview: null, lastMessageId: null });
        continue;
      }
      expectSchema(data, THREAD_SCHEMA, d.ref.path);
      for (const field of SEED_THREAD_FIELDS) expect(data).toHaveProperty(field);
    }
    const pn = (await get(`threads/${PN_THREAD}`))!;
    expect(pn).toMatchObject({
      accountId: ACC,
      clientJid: PN,
      displayName: 'Ana',
      displayNameSource: 'contactName',
      lidJid: LID,
      lastMessageId: O1.id,
      lastMessagePreview: 'see photo',
      isGroup: false,
    });
    expect((pn.lastMessageAt as Timestamp).toMillis()).toBe(O1.createdAt);
    expect((pn.lastBackfillAt as Timestamp).toMillis()).toBe(NOW);
    expect((await get(`threads/${GROUP_THREAD}`))!.isGroup).toBe(true);
    expect(await get(`threads/${LID_THREAD}`)).toBeUndefined();
  });

  it('inboundDedupe/{accountId}__{messageId} exists for inbound messages only and points at the thread', async () => {
    for (const x of [H1, H3, H4, L1]) {
      const data = await get(`inboundDedupe/${ACC}__${x.id}`);
      expectSchema(data, INDEX_SCHEMA, `inboundDedupe/${ACC}__${x.id}`);
      expect(data).toMatchObject({ accountId: ACC, messageId: x.id, threadId: x === H3 ? GROUP_THREAD : PN_THREAD });
    }
    for (const x of [H2, O1]) {
      expect(await get(`inboundDedupe/${ACC}__${x.id}`)).toBeUndefined();
      const data = await get(`outboundIndex/${ACC}__${x.id}`);
      expectSchema(data, INDEX_SCHEMA, `outboundIndex/${ACC}__${x.id}`);
      expect(data).toMatchObject({ accountId: ACC, messageId: x.id, threadId: PN_THREAD });
    }
  });

  it('accounts/{accountId}: runbook and auto-backfill fields, instants as Timestamps', async () => {
    const account = (await get(`accounts/${ACC}`))!;
    expect(kindOf(account.id)).toBe('absent'); // the id is the document id, not a field
    for (const field of [
      'createdAt',
      'updatedAt',
      'lastHistorySyncAt',
      'lastBackfillAt',
      'autoBackfillLeaseUntil',
      'autoBackfillLeaseAcquiredAt',
      'historySyncStartedAt',
      'historySyncUpdatedAt',
      'historySyncLastChunkAt',
    ]) {
      expect(kindOf(account[field]), field).toBe('timestamp');
    }
    // History-sync progress: camelCase fields, maps keyed by sync type name, null where unknown.
    expect(account).toMatchObject({
      historySyncStatus: 'running',
      historySyncProgress: { RECENT: 40, FULL: null },
      historySyncChunks: { INITIAL_BOOTSTRAP: 1, RECENT: 2 },
      historySyncMessagesSaved: 4,
      historySyncCompletedAt: null,
      historySyncStalled: false,
      historySyncStalledAt: null,
    });
    expect(account).toMatchObject({
      status: 'open',
      connector: 'sim',
      historySyncCount: 4,
      lastHistorySyncResult: { saved: 4, skipped: 0, errors: 0, total: 4, dryRun: false },
      lastBackfillResult: { threads: 1, messages: 2, errors: 0, threadResults: [{ threadId: PN_THREAD, messages: 2 }] },
      autoBackfillLeaseHolder: 'host-1',
    });
    expect((account.autoBackfillLeaseUntil as Timestamp).toMillis()).toBe(NOW + 900_000);
    expect((account.lastHistorySyncAt as Timestamp).toMillis()).toBe(NOW);
  });

  it('private data lives under wasyncPrivate and wasyncAuth, keyed so that no id breaks a path', async () => {
    expect(await get(`wasyncPrivate/${ACC}/lidMappings/${LID}`)).toMatchObject({ accountId: ACC, lid: LID, pn: PN });
    const pending = await get(`wasyncPrivate/${ACC}/pendingReceipts/3EB0FUTURE`);
    expect(pending).toMatchObject({ accountId: ACC, messageId: '3EB0FUTURE', status: 'delivered', readAt: null });
    expect((pending!.deliveredAt as Timestamp).toMillis()).toBe(BASE_TIME + 8500);

    const creds = (await get(`wasyncAuth/${ACC}`))!;
    expect(kindOf(creds.creds)).toBe('bytes');
    const keys = (await db.collection(`wasyncAuth/${ACC}/keys`).get()).docs;
    expect(keys).toHaveLength(1);
    expect(keys[0]!.id).not.toContain('/');
    expect(keys[0]!.data()).toMatchObject({ type: 'app-state-sync-key', id: KEY_ID });
    expect(kindOf(keys[0]!.get('value'))).toBe('bytes');
  });

  it('the port reads back what the documents hold', async () => {
    expect(await store.getMessage(ACC, H4.id)).toMatchObject({ clientJid: PN, body: 'from the lid' });
    expect(await store.getMessage(ACC, O1.id)).toMatchObject({ status: 'read', deliveredAt: BASE_TIME + 7000, readAt: BASE_TIME + 8000 });
    expect(await store.countMessages(ACC)).toBe(6);
    expect((await store.listThreads(ACC, { limit: 10 })).items.map((t) => t.id)).toEqual([PN_THREAD, GROUP_THREAD]);
    expect((await store.readAuthKeys(ACC, 'app-state-sync-key', [KEY_ID])).get(KEY_ID)).toEqual(new Uint8Array([4, 5]));
  });
});
