import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../support/e2e.js';
import { GROUP, PEER_LID, PEER_PN, SCENARIO_ACCOUNT, T, writeScenarioFile } from '../support/scenario-fixture.js';

const ACCOUNT = SCENARIO_ACCOUNT;

/**
 * The scenario (test/support/scenario-fixture.ts) is a recorded-session style file in the simulated
 * phone's format: a history sync, a live message addressed by LID (with the phone number in
 * `remoteJidAlt`), receipts, an edit, a revoke, a protocol message that must be skipped, and a group
 * message with a participant receipt. test/e2e/firestore-scenario.test.ts replays it on Firestore.
 */

describe('end to end: a scenario through the real server', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ WA_SIM_SCENARIO: writeScenarioFile('sqlite') });
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
    const { status, json } = await t.api<{
      success: boolean;
      threads: Array<Record<string, unknown>>;
      count: number;
      nextCursor: string | null;
    }>('GET', `/api/whatsapp/threads/${ACCOUNT}`);
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
    const { json } = await t.api<{
      success: boolean;
      thread: Record<string, unknown>;
      messages: Array<Record<string, unknown>>;
      count: number;
    }>('GET', `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${PEER_PN}`);
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
    const { json } = await t.api<{ messages: Array<Record<string, unknown>> }>(
      'GET',
      `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${GROUP}`,
    );
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
    const sent = await t.api<{ success: boolean; messageId: string; threadId: string; clientJid: string; status: string }>(
      'POST',
      '/api/whatsapp/send',
      {
        accountId: ACCOUNT,
        to: '+40712345678',
        text: 'hello from the API',
        messageId: 'API_SEND_1',
      },
    );
    expect(sent.status).toBe(202);
    expect(sent.json).toMatchObject({ success: true, messageId: 'API_SEND_1', clientJid: PEER_PN, threadId: `${ACCOUNT}__${PEER_PN}` });
    const read = await waitFor('the read receipt', async () => {
      const { json } = await t.api<{ messages: Array<Record<string, unknown>> }>(
        'GET',
        `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${PEER_PN}?limit=1`,
      );
      const m = json.messages[0];
      return m?.id === 'API_SEND_1' && m.status === 'read' ? m : undefined;
    });
    expect(read).toMatchObject({ direction: 'outbound', body: 'hello from the API', syncSource: 'outbound_api', messageType: 'text' });
    expect(typeof read.deliveredAt).toBe('string');
    expect(typeof read.readAt).toBe('string');

    // Retrying with the same id neither duplicates nor regresses the status.
    const again = await t.api<{ status: string }>('POST', '/api/whatsapp/send', {
      accountId: ACCOUNT,
      to: PEER_PN,
      text: 'hello from the API',
      messageId: 'API_SEND_1',
    });
    expect(again.status).toBe(202);
    expect(again.json.status).toBe('read');
    const { json } = await t.api<{ messages: Array<{ id: string }> }>(
      'GET',
      `/api/whatsapp/messages/${ACCOUNT}/${ACCOUNT}__${PEER_PN}?limit=50`,
    );
    expect(json.messages.filter((m) => m.id === 'API_SEND_1')).toHaveLength(1);
  });
});
