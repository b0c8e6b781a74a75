import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BufferJSON, proto } from '@whiskeysockets/baileys';
import { startTestApp, waitFor, type TestApp } from '../support/e2e.js';

const ACCOUNT = 'acc_e2e';
const PEER_PN = '40712345678@s.whatsapp.net';
const PEER_LID = '123456789012345@lid';
const GROUP = '120363000000000001@g.us';
const T = (s: number): number => 1_760_000_000 + s; // seconds, like WhatsApp

const line = (obj: unknown): string => JSON.stringify(obj, BufferJSON.replacer);

/**
 * A recorded-session style scenario in the simulated phone's file format: a history sync, a live
 * message addressed by LID (with the phone number in `remoteJidAlt`), receipts, an edit, a revoke, a
 * protocol message that must be skipped, and a group message with a participant receipt.
 */
function scenario(): string {
  const history = {
    chats: [{ id: PEER_PN, name: 'Chat Name', conversationTimestamp: T(20) }],
    contacts: [{ id: PEER_PN, name: 'John Doe', lid: PEER_LID, phoneNumber: PEER_PN }],
    messages: [
      { key: { remoteJid: PEER_PN, fromMe: false, id: 'HIST_IN_1' }, messageTimestamp: T(10), pushName: 'Johnny', message: { conversation: 'Hello from history' } },
      {
        key: { remoteJid: PEER_PN, fromMe: true, id: 'HIST_OUT_1' },
        messageTimestamp: T(20),
        status: proto.WebMessageInfo.Status.READ,
        message: { imageMessage: { caption: 'a photo', mimetype: 'image/jpeg', url: 'https://mmg.whatsapp.net/x', fileLength: 1234, mediaKey: Buffer.from('k'.repeat(32)) } },
      },
      // Key distribution only: skipped, never an error.
      { key: { remoteJid: PEER_PN, fromMe: false, id: 'HIST_SKD' }, messageTimestamp: T(21), message: { senderKeyDistributionMessage: { groupId: GROUP } } },
    ],
    syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    progress: 100,
    isLatest: true,
  };
  const live = {
    type: 'notify',
    messages: [
      {
        key: { remoteJid: PEER_LID, remoteJidAlt: PEER_PN, fromMe: false, id: 'LIVE_IN_1' },
        messageTimestamp: T(30),
        pushName: 'Johnny',
        message: { extendedTextMessage: { text: 'live hello' } },
      },
    ],
  };
  const groupMsg = {
    type: 'notify',
    messages: [
      {
        key: { remoteJid: GROUP, fromMe: true, id: 'GROUP_OUT_1' },
        messageTimestamp: T(31),
        status: proto.WebMessageInfo.Status.SERVER_ACK,
        message: { conversation: 'hi group' },
      },
    ],
  };
  return [
    line({ type: 'event', at: 0, event: 'messaging-history.set', data: history }),
    line({ type: 'event', at: 40, event: 'messages.upsert', data: live }),
    line({ type: 'event', at: 60, event: 'messages.upsert', data: groupMsg }),
    // Receipts out of order: read arrives before delivered; the late delivered must not win.
    line({ type: 'event', at: 80, event: 'message-receipt.update', data: [{ key: { remoteJid: GROUP, fromMe: true, id: 'GROUP_OUT_1' }, receipt: { userJid: '40799999999@s.whatsapp.net', readTimestamp: T(40) } }] }),
    line({ type: 'event', at: 100, event: 'message-receipt.update', data: [{ key: { remoteJid: GROUP, fromMe: true, id: 'GROUP_OUT_1' }, receipt: { userJid: '40799999999@s.whatsapp.net', receiptTimestamp: T(35) } }] }),
    // The person edits the live message, then revokes the history one.
    line({ type: 'event', at: 120, event: 'messages.update', data: [{ key: { remoteJid: PEER_LID, fromMe: false, id: 'LIVE_IN_1' }, update: { message: { editedMessage: { message: { conversation: 'live hello (edited)' } } }, messageTimestamp: T(50) } }] }),
    line({ type: 'event', at: 140, event: 'messages.update', data: [{ key: { remoteJid: PEER_PN, fromMe: false, id: 'HIST_IN_1' }, update: { message: null, messageStubType: proto.WebMessageInfo.StubType.REVOKE } }] }),
  ].join('\n');
}

describe('end to end: a scenario through the real server', () => {
  let t: TestApp;

  beforeAll(async () => {
    const dir = (await import('node:os')).tmpdir();
    const file = path.join(dir, `wasync-scenario-${process.pid}.jsonl`);
    writeFileSync(file, scenario());
    t = await startTestApp({ WA_SIM_SCENARIO: file });
    const created = await t.api('POST', '/api/whatsapp/accounts', { accountId: ACCOUNT });
    expect(created.status).toBe(201);
    await waitFor('the revoke to land', async () => {
      const { json } = await t.api<{ messages: Array<{ id: string; revokedAt: string | null }> }>(
        'GET',
        `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${PEER_PN}?limit=50`,
      );
      return json.messages?.find((m) => m.id === 'HIST_IN_1' && m.revokedAt) ? true : undefined;
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('lists one thread per person, in the seed shape, named from the contact', async () => {
    const { status, json } = await t.api<{ success: boolean; threads: Array<Record<string, unknown>>; count: number; nextCursor: string | null }>(
      'GET',
      `/api/whatsapp/threads/${ACCOUNT}`,
    );
    expect(status).toBe(200);
    expect(json.success).toBe(true);
    expect(json.count).toBe(2);
    const person = json.threads.find((x) => x.clientJid === PEER_PN)!;
    expect(person).toMatchObject({
      id: `${ACCOUNT}__${PEER_PN}`,
      accountId: ACCOUNT,
      clientJid: PEER_PN,
      displayName: 'John Doe',
      lidJid: PEER_LID,
      lastMessagePreview: 'live hello (edited)',
      lastMessageAt: new Date(T(30) * 1000).toISOString(),
      lastBackfillAt: null,
    });
    // No thread survives under the LID.
    expect(json.threads.some((x) => x.clientJid === PEER_LID)).toBe(false);
    // Newest first.
    expect(json.threads[0]!.clientJid).toBe(GROUP);
  });

  it('returns messages field by field as the runbook defines them', async () => {
    const { json } = await t.api<{ success: boolean; thread: Record<string, unknown>; messages: Array<Record<string, unknown>>; count: number }>(
      'GET',
      `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${PEER_PN}`,
    );
    expect(json.success).toBe(true);
    expect(json.thread).toMatchObject({ id: `${ACCOUNT}__${PEER_PN}`, accountId: ACCOUNT, clientJid: PEER_PN });
    expect(json.messages.map((m) => m.id)).toEqual(['LIVE_IN_1', 'HIST_OUT_1', 'HIST_IN_1']);
    const [live, out, hist] = json.messages as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];

    expect(live).toMatchObject({
      accountId: ACCOUNT,
      clientJid: PEER_PN,
      direction: 'inbound',
      body: 'live hello (edited)',
      waMessageId: 'LIVE_IN_1',
      status: 'delivered',
      messageType: 'text',
      tsClient: new Date(T(30) * 1000).toISOString(),
      createdAt: new Date(T(30) * 1000).toISOString(),
      syncSource: 'realtime',
      syncedAt: null,
      editedAt: new Date(T(50) * 1000).toISOString(),
    });
    expect(typeof live.tsServer).toBe('string');

    expect(out).toMatchObject({
      direction: 'outbound',
      body: 'a photo',
      status: 'read',
      messageType: 'image',
      mediaType: 'image',
      mediaMimetype: 'image/jpeg',
      mediaUrl: 'https://mmg.whatsapp.net/x',
      syncSource: 'history_sync',
      createdAt: new Date(T(20) * 1000).toISOString(),
    });
    expect(typeof out.syncedAt).toBe('string');
    // The media key never leaves the server.
    expect(JSON.stringify(out)).not.toContain(Buffer.from('k'.repeat(32)).toString('base64'));

    expect(hist).toMatchObject({ body: 'Hello from history', syncSource: 'history_sync' });
    expect(typeof hist.revokedAt).toBe('string');
  });

  it('applies receipts forward only: a late delivered never overwrites read', async () => {
    const { json } = await t.api<{ messages: Array<Record<string, unknown>> }>('GET', `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${GROUP}`);
    expect(json.messages[0]).toMatchObject({
      id: 'GROUP_OUT_1',
      status: 'read',
      readAt: new Date(T(40) * 1000).toISOString(),
    });
    expect(json.messages[0]!.deliveredAt).not.toBeNull();
  });

  it('records the history sync result on the account, as the runbook says', async () => {
    const { json } = await t.api<{ account: Record<string, unknown> }>('GET', `/api/whatsapp/accounts/${ACCOUNT}`);
    expect(json.account).toMatchObject({
      id: ACCOUNT,
      historySyncCount: 2,
      lastHistorySyncResult: { saved: 2, skipped: 1, errors: 0, total: 3, dryRun: false },
    });
    expect(typeof json.account.lastHistorySyncAt).toBe('string');
    const realtime = await waitFor('realtime diagnostics', async () => {
      const r = await t.api<{ account: Record<string, unknown> }>('GET', `/api/whatsapp/accounts/${ACCOUNT}`);
      return r.json.account.lastRealtimeIngestAt ? r.json.account : undefined;
    });
    expect(realtime.lastRealtimeError).toBeNull();
  });

  it('sends through the simulated phone: queued first, then sent, delivered, read', async () => {
    const sent = await t.api<{ success: boolean; messageId: string; threadId: string; clientJid: string; status: string }>('POST', '/api/whatsapp/send', {
      accountId: ACCOUNT,
      to: '+40712345678',
      text: 'hello from the API',
      messageId: 'API_SEND_1',
    });
    expect(sent.status).toBe(202);
    expect(sent.json).toMatchObject({ success: true, messageId: 'API_SEND_1', clientJid: PEER_PN, threadId: `${ACCOUNT}__${PEER_PN}` });
    const read = await waitFor('the read receipt', async () => {
      const { json } = await t.api<{ messages: Array<Record<string, unknown>> }>('GET', `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${PEER_PN}?limit=1`);
      const m = json.messages[0];
      return m?.id === 'API_SEND_1' && m.status === 'read' ? m : undefined;
    });
    expect(read).toMatchObject({ direction: 'outbound', body: 'hello from the API', syncSource: 'outbound_api', messageType: 'text' });
    expect(typeof read.deliveredAt).toBe('string');
    expect(typeof read.readAt).toBe('string');

    // Retrying with the same id neither duplicates nor regresses the status.
    const again = await t.api<{ status: string }>('POST', '/api/whatsapp/send', { accountId: ACCOUNT, to: PEER_PN, text: 'hello from the API', messageId: 'API_SEND_1' });
    expect(again.status).toBe(202);
    expect(again.json.status).toBe('read');
    const { json } = await t.api<{ messages: Array<{ id: string }> }>('GET', `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${PEER_PN}?limit=50`);
    expect(json.messages.filter((m) => m.id === 'API_SEND_1')).toHaveLength(1);
  });
});
