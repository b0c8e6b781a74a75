import type { Timestamp, DocumentData, Firestore } from 'firebase-admin/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../support/e2e.js';
import { openFirestoreEmulator, type Connection, type EmulatorClient } from '../support/firestore-emulator.js';
import {
  BACKFILL_RESULT_SCHEMA,
  BACKFILL_THREAD_RESULT_SCHEMA,
  HISTORY_SYNC_RESULT_SCHEMA,
  INDEX_SCHEMA,
  ISO_8601,
  MESSAGE_SCHEMA,
  SEED_MESSAGE_FIELDS,
  SEED_THREAD_FIELDS,
  SYNC_SOURCES,
  THREAD_SCHEMA,
  kindOf,
  schemaProblems,
} from '../support/firestore-schema.js';
import { ARCHIVE, GROUP, PEER_LID, PEER_PN, SCENARIO_ACCOUNT as ACCOUNT, T, writeScenarioFile } from '../support/scenario-fixture.js';

/**
 * The scenario of test/e2e/scenario-api.test.ts through the real server (worker-thread actors, uWS,
 * the simulated phone) with STORE=firestore on Google's Firestore emulator, then an outbound send through
 * the API and a backfill; finally every document is read back RAW with plain firebase-admin and its
 * path, field names and value types are checked against the seeds (../shared/seeds/000_*.txt) and
 * docs/firestore.md. The app gets its project only through the env it hands to its actor threads
 * (GOOGLE_CLOUD_PROJECT): the HTTP layer's reads below see the workers' writes only if both sides
 * use that env (src/store/open.ts).
 */

const PN_THREAD = `${ACCOUNT}__${PEER_PN}`;
const GROUP_THREAD = `${ACCOUNT}__${GROUP}`;
const LID_THREAD = `${ACCOUNT}__${PEER_LID}`;
const SEND_ID = 'API_SEND_1';
/** The messages whose receipts the scenario or the simulated phone delivers. */
const WITH_RECEIPTS = new Set([SEND_ID, 'GROUP_OUT_1']);
const ms = (s: number): number => s * 1000;
const millis = (v: unknown): number => (v as Timestamp).toMillis();

describe('end to end on Firestore: the scenario, a send and a backfill, read back as raw documents', () => {
  let emulator: EmulatorClient;
  let connection: Connection;
  let db: Firestore;
  let t: TestApp;
  let startedAt: number;
  const doc = async (path: string): Promise<DocumentData | undefined> => (await db.doc(path).get()).data();

  beforeAll(async () => {
    emulator = openFirestoreEmulator();
    connection = emulator.connect();
    db = connection.firestore;
    startedAt = Date.now();
    t = await startTestApp({
      STORE: 'firestore',
      GOOGLE_CLOUD_PROJECT: connection.projectId,
      WA_SIM_SCENARIO: writeScenarioFile('firestore'),
    });
    const created = await t.api('POST', '/api/whatsapp/accounts', { accountId: ACCOUNT });
    expect(created.status).toBe(201);
    await waitFor('the revoke to land', async () => {
      const { json } = await t.api<{ messages?: Array<{ id: string; revokedAt: string | null }> }>(
        'GET',
        `/api/whatsapp/messages/${ACCOUNT}/${PN_THREAD}?limit=50`,
      );
      return json.messages?.find((m) => m.id === 'HIST_IN_1' && m.revokedAt) ? true : undefined;
    });
    // The group's late `delivered` receipt comes after the read one: wait for both.
    await waitFor('the group receipts', async () => {
      const { json } = await t.api<{ messages?: Array<{ id: string; readAt: string | null; deliveredAt: string | null }> }>(
        'GET',
        `/api/whatsapp/messages/${ACCOUNT}/${GROUP_THREAD}`,
      );
      const m = json.messages?.[0];
      return m?.readAt && m.deliveredAt ? true : undefined;
    });
  });

  afterAll(async () => {
    await t?.close();
    await connection?.close();
    await emulator?.close();
  });

  it('serves the scenario over the API from Firestore as it does from SQLite', async () => {
    const threads = await t.api<{ threads: Array<Record<string, unknown>>; count: number }>('GET', `/api/whatsapp/threads/${ACCOUNT}`);
    expect(threads.status).toBe(200);
    expect(threads.json.count).toBe(2);
    expect(threads.json.threads.map((x) => x.id)).toEqual([GROUP_THREAD, PN_THREAD]);
    expect(threads.json.threads[1]).toMatchObject({
      clientJid: PEER_PN,
      displayName: 'John Doe',
      lidJid: PEER_LID,
      lastMessagePreview: 'live hello (edited)',
      lastMessageAt: new Date(ms(T(30))).toISOString(),
      lastBackfillAt: null,
    });
    const messages = await t.api<{ messages: Array<Record<string, unknown>> }>('GET', `/api/whatsapp/messages/${ACCOUNT}/${PN_THREAD}`);
    expect(messages.json.messages.map((m) => m.id)).toEqual(['LIVE_IN_1', 'HIST_OUT_1', 'HIST_IN_1']);
    expect(messages.json.messages[0]).toMatchObject({
      body: 'live hello (edited)',
      syncSource: 'realtime',
      editedAt: new Date(ms(T(50))).toISOString(),
    });
    const account = await t.api<{ account: Record<string, unknown> }>('GET', `/api/whatsapp/accounts/${ACCOUNT}`);
    expect(account.json.account).toMatchObject({
      historySyncCount: 2,
      lastHistorySyncResult: { saved: 2, skipped: 1, errors: 0, total: 3, dryRun: false },
    });
  });

  it('sends through POST /api/whatsapp/send: queued, then sent, delivered, read', async () => {
    const sent = await t.api<{ success: boolean; messageId: string; threadId: string; status: string }>('POST', '/api/whatsapp/send', {
      accountId: ACCOUNT,
      to: '+40712345678',
      text: 'hello from the API',
      messageId: SEND_ID,
    });
    expect(sent.status).toBe(202);
    expect(sent.json).toMatchObject({ success: true, messageId: SEND_ID, threadId: PN_THREAD });
    await waitFor('the read receipt of the send', async () => {
      const m = await doc(`threads/${PN_THREAD}/messages/${SEND_ID}`);
      return m?.status === 'read' && m.readAt ? true : undefined;
    });
  });

  it('backfills through POST /api/whatsapp/backfill/:accountId: the archive lands, the account records it', async () => {
    const started = await t.api<{ success: boolean; accountId: string }>('POST', `/api/whatsapp/backfill/${ACCOUNT}`);
    expect(started.status).toBeLessThan(300);
    expect(started.json).toMatchObject({ success: true, accountId: ACCOUNT });
    const account = await waitFor('lastBackfillResult on the account', async () => {
      const a = await doc(`accounts/${ACCOUNT}`);
      return a?.lastBackfillResult ? a : undefined;
    });
    expect(account.lastBackfillResult).toEqual({
      threads: 2,
      messages: 3,
      errors: 0,
      threadResults: expect.arrayContaining([
        { threadId: PN_THREAD, messages: 3 },
        { threadId: GROUP_THREAD, messages: 0 },
      ]),
    });
    expect(account.lastBackfillResult.threadResults).toHaveLength(2);
  });

  it('writes exactly the documented paths, nothing else', async () => {
    const paths = await emulator.documentPaths(connection.projectId);
    const pnMessages = [ARCHIVE.inbound.id, ARCHIVE.outbound.id, ARCHIVE.document.id, 'HIST_IN_1', 'HIST_OUT_1', 'LIVE_IN_1', SEND_ID];
    // The change log (docs/live-events.md): a document per committed batch, numbered from 1, its head
    // hint and its epoch.
    const head = await t.app.store.changeLogHead(ACCOUNT);
    expect(head).toBeGreaterThan(5);
    expect(paths).toEqual(
      [
        ...Array.from({ length: head }, (_, i) => `wasyncFeed/${ACCOUNT}__${String(i + 1).padStart(12, '0')}`),
        `wasyncFeedHeads/${ACCOUNT}`,
        'wasyncFeedMeta/log',
        `accounts/${ACCOUNT}`,
        `threads/${PN_THREAD}`,
        `threads/${GROUP_THREAD}`,
        ...pnMessages.map((id) => `threads/${PN_THREAD}/messages/${id}`),
        `threads/${GROUP_THREAD}/messages/GROUP_OUT_1`,
        ...[ARCHIVE.inbound.id, ARCHIVE.document.id, 'HIST_IN_1', 'LIVE_IN_1'].map((id) => `inboundDedupe/${ACCOUNT}__${id}`),
        ...[ARCHIVE.outbound.id, 'HIST_OUT_1', 'GROUP_OUT_1', SEND_ID].map((id) => `outboundIndex/${ACCOUNT}__${id}`),
        `wasyncPrivate/${ACCOUNT}/lidMappings/${PEER_LID}`,
        // The owner lease's fence, and this instance's heartbeat in the registry (README, Running several instances).
        `wasyncFences/${ACCOUNT}`,
        `wasyncInstances/${t.app.accounts.fleet.instanceId}`,
      ].sort(),
    );
    // Every message stored was announced once, in the same commit.
    const page = await t.app.store.readChanges(ACCOUNT, 0, 1000);
    const created = page.status === 'ok' ? page.batches.flatMap((b) => b.events).filter((e) => e.type === 'message.created') : [];
    expect(created.map((e) => (e.data as { message: { id: string } }).message.id).sort()).toEqual([...pnMessages, 'GROUP_OUT_1'].sort());
  });

  it('accounts/{accountId}: history sync and backfill fields with the seed names and types', async () => {
    const account = (await doc(`accounts/${ACCOUNT}`))!;
    expect(kindOf(account.lastHistorySyncAt)).toBe('timestamp');
    expect(millis(account.lastHistorySyncAt)).toBeGreaterThanOrEqual(startedAt);
    expect(kindOf(account.historySyncCount)).toBe('number');
    expect(account.historySyncCount).toBe(2);
    expect(schemaProblems(account.lastHistorySyncResult, HISTORY_SYNC_RESULT_SCHEMA, 'lastHistorySyncResult')).toEqual([]);
    expect(account.lastHistorySyncResult).toEqual({ saved: 2, skipped: 1, errors: 0, total: 3, dryRun: false });
    expect(kindOf(account.lastBackfillAt)).toBe('timestamp');
    expect(millis(account.lastBackfillAt)).toBeGreaterThanOrEqual(millis(account.lastHistorySyncAt));
    expect(schemaProblems(account.lastBackfillResult, BACKFILL_RESULT_SCHEMA, 'lastBackfillResult')).toEqual([]);
    for (const [i, r] of (account.lastBackfillResult.threadResults as DocumentData[]).entries()) {
      expect(schemaProblems(r, BACKFILL_THREAD_RESULT_SCHEMA, `lastBackfillResult.threadResults[${i}]`)).toEqual([]);
    }
    // Every instant on the account is a Timestamp; the id is the document id, not a field.
    for (const [field, value] of Object.entries(account)) {
      if (/At$|Until$/.test(field) && value !== null) expect(kindOf(value), field).toBe('timestamp');
    }
    expect(account.id).toBeUndefined();
    expect(account.lastRealtimeError ?? null).toBeNull();
  });

  it('threads/{accountId}__{clientJid}: seed fields and types, lastBackfillAt set by the backfill, no LID thread', async () => {
    const snap = await db.collection('threads').where('accountId', '==', ACCOUNT).get();
    expect(snap.docs.map((d) => d.id).sort()).toEqual([GROUP_THREAD, PN_THREAD].sort());
    const account = (await doc(`accounts/${ACCOUNT}`))!;
    for (const d of snap.docs) {
      const data = d.data();
      expect(schemaProblems(data, THREAD_SCHEMA, d.ref.path)).toEqual([]);
      for (const field of SEED_THREAD_FIELDS) expect(data).toHaveProperty(field);
      expect(d.id).toBe(`${data.accountId}__${data.clientJid}`);
      expect(kindOf(data.lastBackfillAt)).toBe('timestamp');
      expect(millis(data.lastBackfillAt)).toBeLessThanOrEqual(millis(account.lastBackfillAt));
      expect(millis(data.lastBackfillAt)).toBeGreaterThanOrEqual(startedAt);
    }
    const pn = (await doc(`threads/${PN_THREAD}`))!;
    expect(pn).toMatchObject({
      accountId: ACCOUNT,
      clientJid: PEER_PN,
      displayName: 'John Doe',
      lidJid: PEER_LID,
      lastMessageId: SEND_ID,
      lastMessagePreview: 'hello from the API',
      isGroup: false,
    });
    // The send is the newest message; the backfilled ones are older and do not move the summary.
    const send = (await doc(`threads/${PN_THREAD}/messages/${SEND_ID}`))!;
    expect(millis(pn.lastMessageAt)).toBe(millis(send.createdAt));
    const group = (await doc(`threads/${GROUP_THREAD}`))!;
    expect(group).toMatchObject({ clientJid: GROUP, lastMessageId: 'GROUP_OUT_1', lastMessagePreview: 'hi group', isGroup: true });
    expect(millis(group.lastMessageAt)).toBe(ms(T(31)));
    expect(await doc(`threads/${LID_THREAD}`)).toBeUndefined();
  });

  it('threads/{threadId}/messages/{messageId}: every document has the seed fields with the seed types', async () => {
    const docs = [
      ...(await db.collection(`threads/${PN_THREAD}/messages`).get()).docs,
      ...(await db.collection(`threads/${GROUP_THREAD}/messages`).get()).docs,
    ];
    expect(docs).toHaveLength(8);
    const sources = new Set<string>();
    for (const d of docs) {
      const data = d.data();
      expect(schemaProblems(data, MESSAGE_SCHEMA, d.ref.path)).toEqual([]);
      for (const field of SEED_MESSAGE_FIELDS) expect(data).toHaveProperty(field);
      expect(data.accountId).toBe(ACCOUNT);
      expect(data.waMessageId).toBe(d.id);
      expect(d.ref.parent.parent!.id).toBe(`${ACCOUNT}__${data.clientJid}`);
      expect(['inbound', 'outbound']).toContain(data.direction);
      expect(data.fromMe).toBe(data.direction === 'outbound');
      expect(['queued', 'sent', 'delivered', 'read']).toContain(data.status);
      expect(SYNC_SOURCES).toContain(data.syncSource);
      sources.add(data.syncSource as string);
      expect(data.tsClient).toMatch(ISO_8601);
      expect(Date.parse(data.tsClient)).toBe(millis(data.createdAt));
      expect(millis(data.tsServer)).toBeGreaterThanOrEqual(startedAt);
      // syncedAt: when stored from history sync or backfill; null for realtime and API sends.
      if (data.syncSource === 'history_sync' || data.syncSource === 'backfill') {
        expect(kindOf(data.syncedAt), `${d.id}.syncedAt`).toBe('timestamp');
        expect(millis(data.syncedAt)).toBeGreaterThanOrEqual(startedAt);
      } else {
        expect(data.syncedAt, `${d.id}.syncedAt`).toBeNull();
      }
      // deliveredAt/readAt are Timestamps once a receipt set them (the send, the group message), null
      // otherwise (inbound messages are stored as delivered, synced ones carry the phone's status only).
      if (WITH_RECEIPTS.has(d.id)) {
        expect(kindOf(data.deliveredAt), `${d.id}.deliveredAt`).toBe('timestamp');
        expect(kindOf(data.readAt), `${d.id}.readAt`).toBe('timestamp');
        expect(millis(data.deliveredAt)).toBeLessThanOrEqual(millis(data.readAt));
      } else {
        expect([data.deliveredAt, data.readAt], `${d.id} receipts`).toEqual([null, null]);
      }
    }
    expect([...sources].sort()).toEqual([...SYNC_SOURCES].sort());
  });

  it('message values: history, live with edit, revoke, receipts, the send, the backfilled archive', async () => {
    const msg = async (id: string, thread = PN_THREAD) => (await doc(`threads/${thread}/messages/${id}`))!;

    const histIn = await msg('HIST_IN_1');
    expect(histIn).toMatchObject({
      direction: 'inbound',
      body: 'Hello from history',
      syncSource: 'history_sync',
      syncType: 'INITIAL_BOOTSTRAP',
      messageType: 'text',
      status: 'delivered',
      pushName: 'Johnny',
    });
    expect(millis(histIn.createdAt)).toBe(ms(T(10)));
    expect(kindOf(histIn.revokedAt)).toBe('timestamp');

    const histOut = await msg('HIST_OUT_1');
    expect(histOut).toMatchObject({
      direction: 'outbound',
      body: 'a photo',
      status: 'read',
      messageType: 'image',
      mediaType: 'image',
      mediaUrl: 'https://mmg.whatsapp.net/x',
      mediaMimetype: 'image/jpeg',
      mediaFilename: null,
      syncSource: 'history_sync',
    });
    expect(millis(histOut.createdAt)).toBe(ms(T(20)));

    const live = await msg('LIVE_IN_1');
    expect(live).toMatchObject({
      clientJid: PEER_PN,
      direction: 'inbound',
      body: 'live hello (edited)',
      syncSource: 'realtime',
      status: 'delivered',
      syncedAt: null,
      mediaType: null,
    });
    expect(millis(live.editedAt)).toBe(ms(T(50)));

    const group = await msg('GROUP_OUT_1', GROUP_THREAD);
    expect(group).toMatchObject({ direction: 'outbound', status: 'read', body: 'hi group', syncSource: 'realtime' });
    expect(millis(group.readAt)).toBe(ms(T(40)));
    expect(kindOf(group.deliveredAt)).toBe('timestamp');

    const send = await msg(SEND_ID);
    expect(send).toMatchObject({
      direction: 'outbound',
      body: 'hello from the API',
      status: 'read',
      syncSource: 'outbound_api',
      messageType: 'text',
      sendError: null,
    });
    expect(millis(send.deliveredAt)).toBeLessThanOrEqual(millis(send.readAt));
    expect(millis(send.createdAt)).toBeGreaterThanOrEqual(startedAt - 1000);

    const archIn = await msg(ARCHIVE.inbound.id);
    expect(archIn).toMatchObject({
      direction: 'inbound',
      body: ARCHIVE.inbound.body,
      syncSource: 'backfill',
      messageType: 'text',
      status: 'delivered',
    });
    expect(millis(archIn.createdAt)).toBe(ms(ARCHIVE.inbound.ts));
    const archOut = await msg(ARCHIVE.outbound.id);
    expect(archOut).toMatchObject({ direction: 'outbound', body: ARCHIVE.outbound.body, syncSource: 'backfill', status: 'read' });
    const archDoc = await msg(ARCHIVE.document.id);
    expect(archDoc).toMatchObject({
      direction: 'inbound',
      syncSource: 'backfill',
      messageType: 'document',
      mediaType: 'document',
      mediaUrl: ARCHIVE.document.url,
      mediaMimetype: ARCHIVE.document.mimetype,
      mediaFilename: ARCHIVE.document.fileName,
    });
    // The media key stays server-side, in the documented `media` map, never in the seed fields.
    expect(kindOf(archDoc.media)).toBe('map');
  });

  it('inboundDedupe/{accountId}__{messageId} for inbound messages only; outbound ones in outboundIndex', async () => {
    const all = [
      ...(await db.collection(`threads/${PN_THREAD}/messages`).get()).docs,
      ...(await db.collection(`threads/${GROUP_THREAD}/messages`).get()).docs,
    ];
    const inbound = all
      .filter((d) => d.get('direction') === 'inbound')
      .map((d) => d.id)
      .sort();
    const outbound = all
      .filter((d) => d.get('direction') === 'outbound')
      .map((d) => d.id)
      .sort();
    expect(inbound).toEqual([ARCHIVE.document.id, ARCHIVE.inbound.id, 'HIST_IN_1', 'LIVE_IN_1'].sort());
    const dedupe = await db.collection('inboundDedupe').get();
    expect(dedupe.docs.map((d) => d.id).sort()).toEqual(inbound.map((id) => `${ACCOUNT}__${id}`));
    for (const d of dedupe.docs) {
      expect(schemaProblems(d.data(), INDEX_SCHEMA, d.ref.path)).toEqual([]);
      const threadId = all.find((m) => `${ACCOUNT}__${m.id}` === d.id)!.ref.parent.parent!.id;
      expect(d.data()).toMatchObject({ accountId: ACCOUNT, messageId: d.id.slice(ACCOUNT.length + 2), threadId });
    }
    const index = await db.collection('outboundIndex').get();
    expect(index.docs.map((d) => d.id).sort()).toEqual(outbound.map((id) => `${ACCOUNT}__${id}`));
    for (const d of index.docs) expect(schemaProblems(d.data(), INDEX_SCHEMA, d.ref.path)).toEqual([]);
  });
});
