import { DisconnectReason, proto, toNumber, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimConnector, type SimConnectorOptions, type SimPhone } from '../../src/connectors/sim/index.js';
import { isLongValue, ofType, recordEvents, simContext, sleep, waitFor, type Recorded } from './sim-support.js';

const NOW = Date.UTC(2025, 0, 15, 12);
const FAST = { ackMs: 5, deliveryMs: 5, readMs: 5, historyMs: 1, onDemandMs: 5, pairMs: 0 };
const SyncType = proto.HistorySync.HistorySyncType;
const Status = proto.WebMessageInfo.Status;

const phones: SimPhone[] = [];
afterEach(async () => {
  for (const p of phones.splice(0)) await p.end(undefined);
});

async function connect(
  opts: Partial<SimConnectorOptions> = {},
  accountId = 'acc_phone',
): Promise<{ phone: SimPhone; events: Recorded[]; connector: SimConnector }> {
  const connector = new SimConnector({ chats: 6, messagesPerChat: 12, rate: 0, seed: 'phone-test', now: NOW, delays: FAST, ...opts });
  const phone = (await connector.connect(simContext(accountId))) as SimPhone;
  phones.push(phone);
  return { phone, events: recordEvents(phone), connector };
}

const historyDone = (events: Recorded[], total: number) => () =>
  ofType(events, 'messaging-history.set').reduce((n, e) => n + e.messages.length, 0) >= total;

function connectionUpdates(events: Recorded[]): Array<BaileysEventMap['connection.update']> {
  return ofType(events, 'connection.update');
}

describe('SimPhone lifecycle', () => {
  it('emits connecting, a QR, open (with user set) and pending notifications, in that order', async () => {
    const connector = new SimConnector({ chats: 2, messagesPerChat: 2, rate: 0, seed: 'lc', now: NOW, delays: FAST });
    const phone = (await connector.connect(simContext())) as SimPhone;
    phones.push(phone);
    const seen: Array<{ update: BaileysEventMap['connection.update']; user: unknown }> = [];
    phone.ev.on('connection.update', (update) => seen.push({ update, user: phone.user }));
    await waitFor(() => seen.some((s) => s.update.receivedPendingNotifications === true), 2000, 'pending notifications');

    expect(seen.map((s) => s.update)).toEqual([
      { connection: 'connecting', receivedPendingNotifications: false, qr: undefined },
      {
        qr: expect.stringMatching(
          /^https:\/\/wa\.me\/settings\/linked_devices#2@[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]{44},[A-Za-z0-9+/=]{44},[A-Za-z0-9+/=]{44},\d+$/,
        ),
      },
      { connection: 'open', isNewLogin: true },
      { receivedPendingNotifications: true },
    ]);
    expect(seen[1]?.user).toBeUndefined();
    expect(seen[2]?.user).toMatchObject({
      id: expect.stringMatching(/^\d+:\d+@s\.whatsapp\.net$/),
      name: expect.any(String),
      lid: expect.stringMatching(/@lid$/),
    });
  });

  it('sends its history after opening: notification upsert, milestones, then the chunk', async () => {
    const { events } = await connect();
    await waitFor(historyDone(events, 6 * 12), 3000, 'history');
    const openAt = events.findIndex((e) => e.event === 'connection.update' && (e.data as { connection?: string }).connection === 'open');
    const firstSet = events.findIndex((e) => e.event === 'messaging-history.set');
    expect(openAt).toBeGreaterThanOrEqual(0);
    expect(firstSet).toBeGreaterThan(openAt);

    // Each chunk is announced by its HISTORY_SYNC_NOTIFICATION protocol message, as Baileys upserts it.
    const before = events[firstSet - 2];
    expect(before?.event).toBe('messages.upsert');
    const notification = (before!.data as BaileysEventMap['messages.upsert']).messages[0];
    expect(notification?.key.fromMe).toBe(true);
    expect(notification?.message?.protocolMessage?.type).toBe(proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION);
    expect(events[firstSet - 1]?.data).toEqual({ syncType: SyncType.INITIAL_BOOTSTRAP, status: 'complete', explicit: true });

    const sets = ofType(events, 'messaging-history.set');
    expect(sets[0]?.isLatest).toBe(true);
    const messages = sets.flatMap((s) => s.messages);
    expect(new Set(messages.map((m) => m.key.id)).size).toBe(6 * 12);
    expect(messages.every((m) => m instanceof proto.WebMessageInfo && isLongValue(m.messageTimestamp))).toBe(true);
    expect(new Set(sets.flatMap((s) => s.chats.map((c) => c.id))).size).toBe(6);
    expect(sets.filter((s) => s.syncType === SyncType.RECENT).at(-1)?.progress).toBe(100);
    expect(ofType(events, 'messaging-history.status').map((s) => s.syncType)).toEqual([SyncType.INITIAL_BOOTSTRAP, SyncType.RECENT]);
  });

  it('a phone gone quiet mid-RECENT: Baileys-style `paused` for RECENT (explicit false) once the pause timer runs out', async () => {
    // 6 chats × 12 messages in chunks of 10: three bootstrap chunks, push names, then three RECENT ones; stop after the first RECENT.
    const { events } = await connect({ chunkSize: 10, historyStopAfter: 5, delays: { ...FAST, historyPausedMs: 150 } });
    await waitFor(() => ofType(events, 'messaging-history.status').some((s) => s.status === 'paused'), 3000, 'paused');
    const sets = ofType(events, 'messaging-history.set');
    expect(sets.map((s) => s.syncType)).toEqual([...Array(3).fill(SyncType.INITIAL_BOOTSTRAP), SyncType.PUSH_NAME, SyncType.RECENT]);
    expect(sets[4]?.progress).toBeLessThan(100);
    expect(ofType(events, 'messaging-history.status')).toEqual([
      { syncType: SyncType.INITIAL_BOOTSTRAP, status: 'complete', explicit: true },
      { syncType: SyncType.RECENT, status: 'paused', explicit: false },
    ]);
    // Reported once: the pause ends RECENT for this connection, as in Baileys.
    await sleep(300);
    expect(ofType(events, 'messaging-history.status')).toHaveLength(2);
  });

  it('RECENT chunks that keep coming within the pause timeout never report `paused`', async () => {
    const { events } = await connect({ chunkSize: 10, delays: { ...FAST, historyMs: 30, historyPausedMs: 100 } });
    await waitFor(historyDone(events, 6 * 12), 5000, 'history');
    await sleep(200);
    expect(ofType(events, 'messaging-history.status').map((s) => s.status)).toEqual(['complete', 'complete']);
  });

  it('re-sends the same history on every connection', async () => {
    const connector = new SimConnector({ chats: 4, messagesPerChat: 5, rate: 0, seed: 'resend', now: NOW, delays: FAST });
    const ids: string[][] = [];
    for (let k = 0; k < 2; k++) {
      const phone = (await connector.connect(simContext('acc_resend'))) as SimPhone;
      phones.push(phone);
      const events = recordEvents(phone);
      await waitFor(historyDone(events, 20), 2000, 'history');
      ids.push(
        ofType(events, 'messaging-history.set')
          .flatMap((s) => s.messages.map((m) => m.key.id as string))
          .sort(),
      );
      await phone.end(undefined);
    }
    expect(ids[1]).toEqual(ids[0]);
  });

  it('emits live inbound messages at the configured rate, shaped like decoded stanzas', async () => {
    const { events } = await connect({ chats: 5, messagesPerChat: 2, rate: 100 });
    await waitFor(historyDone(events, 10), 2000, 'history');
    const live = () =>
      ofType(events, 'messages.upsert')
        .flatMap((u) => (u.type === 'notify' ? u.messages : []))
        // Group changes arrive as stubs (no content, no push name), as Baileys emits them: not messages from a contact.
        .filter((m) => !m.message?.protocolMessage && !m.messageStubType);
    await waitFor(() => live().length >= 10, 3000, 'live messages');
    for (const m of live()) {
      expect(typeof m.messageTimestamp).toBe('number');
      expect(m.key.fromMe).toBe(false);
      expect(m.pushName).toEqual(expect.any(String));
      expect(m.message).toBeInstanceOf(proto.Message);
      expect(['pn', 'lid']).toContain(m.key.addressingMode);
    }
    // Baileys' companions of a live message.
    expect(ofType(events, 'contacts.update').length).toBeGreaterThan(0);
    expect(ofType(events, 'chats.update').some((u) => u[0]?.unreadCount === 1)).toBe(true);
  });

  it('requestPairingCode returns an 8-character code', async () => {
    const { phone } = await connect();
    await expect(phone.requestPairingCode('447700900123')).resolves.toMatch(/^[1-9A-HJ-NP-TV-Z]{8}$/);
    await expect(phone.requestPairingCode('447700900123', 'ABCD1234')).resolves.toBe('ABCD1234');
    await expect(phone.requestPairingCode('447700900123', 'SHORT')).rejects.toThrow(/8 chars/);
  });

  it('supports Baileys’ batched ev.process API', async () => {
    const { phone } = await connect();
    const batches: string[][] = [];
    phone.ev.process((batch) => {
      batches.push(Object.keys(batch));
    });
    await waitFor(() => batches.some((b) => b.includes('messaging-history.set')), 2000, 'processed history');
    expect(batches[0]).toEqual(['connection.update']);
  });

  it('in restart pairing mode, closes with 515 after pairing and resumes without a QR', async () => {
    const connector = new SimConnector({
      chats: 1,
      messagesPerChat: 1,
      rate: 0,
      seed: 'restart',
      now: NOW,
      delays: FAST,
      pairing: 'restart',
    });
    const first = (await connector.connect(simContext('acc_restart'))) as SimPhone;
    phones.push(first);
    const e1 = recordEvents(first);
    await waitFor(() => connectionUpdates(e1).some((u) => u.connection === 'close'), 2000, 'restart close');
    const u1 = connectionUpdates(e1);
    expect(u1.some((u) => typeof u.qr === 'string')).toBe(true);
    expect(u1).toContainEqual({ isNewLogin: true, qr: undefined });
    expect((u1.at(-1)!.lastDisconnect!.error as { output?: { statusCode?: number } }).output?.statusCode).toBe(
      DisconnectReason.restartRequired,
    );

    const second = (await connector.connect(simContext('acc_restart'))) as SimPhone;
    phones.push(second);
    const e2 = recordEvents(second);
    await waitFor(historyDone(e2, 1), 2000, 'history after restart');
    const u2 = connectionUpdates(e2);
    expect(u2.some((u) => 'qr' in u && typeof u.qr === 'string')).toBe(false);
    expect(u2).toContainEqual({ connection: 'open' });
    expect(ofType(e2, 'messaging-history.set')[0]?.isLatest).toBe(false);
  });
});

describe('SimPhone.sendMessage', () => {
  it('keeps a given id, returns a pending WAMessage, appends it, then acks, delivers and reads in order', async () => {
    const { phone, events } = await connect();
    await waitFor(() => phone.connection === 'open', 2000, 'open');
    const jid = '447700900999@s.whatsapp.net';
    const sent = (await phone.sendMessage(jid, { text: 'hello from the API' }, { messageId: 'MY-OWN-ID-1' })) as WAMessage;

    expect(sent).toBeInstanceOf(proto.WebMessageInfo);
    expect(sent.key).toMatchObject({ remoteJid: jid, fromMe: true, id: 'MY-OWN-ID-1' });
    expect(sent.status).toBe(Status.PENDING);
    expect(sent.message?.extendedTextMessage?.text).toBe('hello from the API');
    expect(isLongValue(sent.messageTimestamp)).toBe(true);
    expect(Math.abs(toNumber(sent.messageTimestamp) - Date.now() / 1000)).toBeLessThan(5);

    const updates = () =>
      ofType(events, 'messages.update')
        .flat()
        .filter((u) => u.key.id === 'MY-OWN-ID-1');
    await waitFor(() => updates().length >= 3, 2000, 'receipts');
    const appendAt = events.findIndex(
      (e) => e.event === 'messages.upsert' && (e.data as BaileysEventMap['messages.upsert']).type === 'append',
    );
    const append = events[appendAt]?.data as BaileysEventMap['messages.upsert'];
    expect(append.messages[0]).toBe(sent);
    const firstUpdateAt = events.findIndex((e) => e.event === 'messages.update');
    expect(firstUpdateAt).toBeGreaterThan(appendAt);
    expect(updates().map((u) => u.update.status)).toEqual([Status.SERVER_ACK, Status.DELIVERY_ACK, Status.READ]);
    expect(updates().every((u) => u.key.remoteJid === jid && u.key.fromMe === true && typeof u.update.messageTimestamp === 'number')).toBe(
      true,
    );
  });

  it('generates a Baileys id when none is given', async () => {
    const { phone } = await connect();
    await waitFor(() => phone.connection === 'open', 2000, 'open');
    const sent = await phone.sendMessage('447700900999@s.whatsapp.net', { text: 'x' });
    expect(sent?.key.id).toMatch(/^3EB0[0-9A-F]{18}$/);
  });

  it('builds media messages without uploading anything', async () => {
    const { phone } = await connect();
    await waitFor(() => phone.connection === 'open', 2000, 'open');
    const bytes = Buffer.from('not really a jpeg');
    const sent = await phone.sendMessage('447700900999@s.whatsapp.net', { image: bytes, caption: 'look' });
    const image = sent?.message?.imageMessage;
    expect(image).toBeInstanceOf(proto.Message.ImageMessage);
    expect(image?.caption).toBe('look');
    expect(image?.mimetype).toBe('image/jpeg');
    expect(image?.mediaKey).toHaveLength(32);
    expect(toNumber(image?.fileLength)).toBe(bytes.length);
    expect(image?.directPath).toMatch(/^\/v\/t62\.7118-24\//);
    const doc = await phone.sendMessage('447700900999@s.whatsapp.net', {
      document: bytes,
      mimetype: 'application/pdf',
      fileName: 'a.pdf',
      caption: 'the file',
    });
    expect(doc?.message?.documentMessage).toMatchObject({ fileName: 'a.pdf', caption: 'the file', mimetype: 'application/pdf' });
  });

  it('emits the update Baileys derives from an own edit', async () => {
    const { phone, events } = await connect();
    await waitFor(() => phone.connection === 'open', 2000, 'open');
    const jid = '447700900999@s.whatsapp.net';
    const first = await phone.sendMessage(jid, { text: 'tpyo' });
    await phone.sendMessage(jid, { text: 'typo', edit: first?.key as WAMessage['key'] });
    await waitFor(
      () =>
        ofType(events, 'messages.update')
          .flat()
          .some((u) => u.update.message?.editedMessage),
      2000,
      'edit update',
    );
    const edit = ofType(events, 'messages.update')
      .flat()
      .find((u) => u.update.message?.editedMessage);
    expect(edit?.key.id).toBe(first?.key.id);
    expect(edit?.update.message?.editedMessage?.message?.extendedTextMessage?.text).toBe('typo');
  });

  it('rejects when the phone is not connected', async () => {
    const connector = new SimConnector({ chats: 1, messagesPerChat: 1, rate: 0, seed: 'nc', now: NOW, delays: FAST, autoStart: false });
    const phone = (await connector.connect(simContext())) as SimPhone;
    phones.push(phone);
    await expect(phone.sendMessage('1@s.whatsapp.net', { text: 'x' })).rejects.toThrow(/not connected/);
    await phone.end(undefined);
    await expect(phone.sendMessage('1@s.whatsapp.net', { text: 'x' })).rejects.toThrow(/not connected/);
  });
});

describe('SimPhone.fetchMessageHistory', () => {
  async function withHistory(opts: Partial<SimConnectorOptions> = {}) {
    const ctx = await connect({ chats: 12, messagesPerChat: 10, archivePerChat: 6, ...opts });
    await waitFor(historyDone(ctx.events, 120), 3000, 'history');
    const sets = ofType(ctx.events, 'messaging-history.set');
    return { ...ctx, sets, messages: sets.flatMap((s) => s.messages), chats: sets.flatMap((s) => s.chats) };
  }
  const onDemand = (events: Recorded[], id: string) =>
    ofType(events, 'messaging-history.set').find((s) => s.syncType === SyncType.ON_DEMAND && s.peerDataRequestSessionId === id);
  function oldestOf(messages: WAMessage[], jid: string): WAMessage {
    const own = messages.filter((m) => m.key.remoteJid === jid);
    return own.reduce((a, b) => (toNumber(b.messageTimestamp) < toNumber(a.messageTimestamp) ? b : a));
  }

  it('returns up to `count` archived messages strictly older than the anchor, newest first, with the request id', async () => {
    const { phone, events, messages, chats } = await withHistory();
    const jid = chats[0]?.id as string;
    const anchor = oldestOf(messages, jid);
    const requestId = await phone.fetchMessageHistory(4, anchor.key, anchor.messageTimestamp as number);
    expect(requestId).toEqual(expect.any(String));
    await waitFor(() => onDemand(events, requestId) !== undefined, 2000, 'on-demand chunk');
    const set = onDemand(events, requestId);
    expect(set?.syncType).toBe(6);
    expect(set?.isLatest).toBeUndefined();
    const got = set?.messages ?? [];
    expect(got).toHaveLength(4);
    const anchorTs = toNumber(anchor.messageTimestamp);
    const ts = got.map((m) => toNumber(m.messageTimestamp));
    expect(ts.every((t) => t < anchorTs)).toBe(true);
    expect(ts).toEqual([...ts].sort((a, b) => b - a));
    expect(got.every((m) => m.key.remoteJid === jid && m instanceof proto.WebMessageInfo)).toBe(true);
    const historyIds = new Set(messages.map((m) => m.key.id));
    expect(got.some((m) => historyIds.has(m.key.id))).toBe(false);
    expect(set?.chats[0]?.endOfHistoryTransferType).toBe(
      proto.Conversation.EndOfHistoryTransferType.COMPLETE_ON_DEMAND_SYNC_BUT_MORE_MSG_REMAIN_ON_PRIMARY,
    );

    // Paging on from the oldest returned message reaches the end of the archive.
    const last = got.at(-1) as WAMessage;
    const next = await phone.fetchMessageHistory(50, last.key, last.messageTimestamp as number);
    await waitFor(() => onDemand(events, next) !== undefined, 2000, 'second page');
    const page2 = onDemand(events, next);
    expect(page2?.messages).toHaveLength(2);
    expect(page2?.chats[0]?.endOfHistoryTransferType).toBe(
      proto.Conversation.EndOfHistoryTransferType.COMPLETE_AND_NO_MORE_MESSAGE_REMAIN_ON_PRIMARY,
    );
  });

  it('accepts a millisecond anchor and a Long anchor alike', async () => {
    const { phone, events, messages, chats } = await withHistory();
    const jid = chats[1]?.id as string;
    const anchor = oldestOf(messages, jid);
    const secs = toNumber(anchor.messageTimestamp);
    const a = await phone.fetchMessageHistory(3, anchor.key, secs * 1000);
    const b = await phone.fetchMessageHistory(3, anchor.key, anchor.messageTimestamp as number);
    await waitFor(() => onDemand(events, a) !== undefined && onDemand(events, b) !== undefined, 2000, 'both');
    expect(onDemand(events, a)?.messages.map((m) => m.key.id)).toEqual(onDemand(events, b)?.messages.map((m) => m.key.id));
  });

  it('finds a LID-addressed chat asked for by its phone number', async () => {
    const { phone, events, messages, chats } = await withHistory();
    const lidChat = chats.find((c) => c.id?.endsWith('@lid') && c.pnJid);
    expect(lidChat, 'the seed should give a LID chat with a known phone number').toBeDefined();
    const anchor = oldestOf(messages, lidChat?.id as string);
    const id = await phone.fetchMessageHistory(2, { ...anchor.key, remoteJid: lidChat?.pnJid }, anchor.messageTimestamp as number);
    await waitFor(() => onDemand(events, id) !== undefined, 2000, 'on-demand');
    const set = onDemand(events, id);
    expect(set?.messages).toHaveLength(2);
    expect(set?.messages.every((m) => m.key.remoteJid === lidChat?.id)).toBe(true);
    expect(set?.lidPnMappings).toContainEqual({ lid: lidChat?.id, pn: lidChat?.pnJid });
  });

  it('serves live messages it received, too', async () => {
    const { phone, events } = await connect({ chats: 0, messagesPerChat: 0 });
    await waitFor(() => phone.connection === 'open', 2000, 'open');
    const jid = '111111111111111@lid';
    const msgs = [1, 2, 3].map((k) => ({
      key: { remoteJid: jid, remoteJidAlt: '447700900111@s.whatsapp.net', fromMe: false, id: `LIVE${k}` },
      messageTimestamp: 1_736_900_000 + k,
      message: proto.Message.fromObject({ conversation: `m${k}` }),
    }));
    phone.emitScenarioEvent('messages.upsert', { type: 'notify', messages: msgs });
    const id = await phone.fetchMessageHistory(10, { remoteJid: '447700900111@s.whatsapp.net', id: 'LIVE3' }, 1_736_900_003);
    await waitFor(() => onDemand(events, id) !== undefined, 2000, 'on-demand');
    const set = onDemand(events, id);
    expect(set?.messages.map((m) => m.key.id)).toEqual(['LIVE2', 'LIVE1']);
    expect(set?.chats[0]).toMatchObject({ id: jid, pnJid: '447700900111@s.whatsapp.net' });
  });
});

describe('SimPhone shutdown', () => {
  it('end() emits close with the error, stops every timer and emits nothing afterwards', async () => {
    const { phone, events } = await connect({ chats: 3, messagesPerChat: 3, rate: 200 });
    await waitFor(historyDone(events, 9), 2000, 'history');
    await waitFor(() => ofType(events, 'messages.upsert').length > 15, 2000, 'live traffic');
    await phone.sendMessage('447700900999@s.whatsapp.net', { text: 'pending receipts' });
    expect(phone.pendingTimers).toBeGreaterThan(0);
    const emit = vi.spyOn(phone.ev, 'emit');

    await phone.end(new Error('shutting down'));
    const close = connectionUpdates(events).at(-1);
    expect(close?.connection).toBe('close');
    const error = close?.lastDisconnect?.error as Error & { output?: { statusCode?: number } };
    expect(error.message).toBe('shutting down');
    expect(error.output?.statusCode).toBe(DisconnectReason.connectionClosed);
    expect(close?.lastDisconnect?.date).toBeInstanceOf(Date);
    expect(phone.pendingTimers).toBe(0);

    const calls = emit.mock.calls.length;
    await sleep(80);
    expect(emit.mock.calls.length).toBe(calls);
    // Idempotent, like Baileys.
    await phone.end(new Error('again'));
    expect(emit.mock.calls.length).toBe(calls);
  });

  it('end() passes a Boom-like error through with its status code', async () => {
    const { phone, events } = await connect();
    await waitFor(() => phone.connection === 'open', 2000, 'open');
    const boom = Object.assign(new Error('replaced'), { output: { statusCode: DisconnectReason.connectionReplaced } });
    await phone.end(boom);
    expect(connectionUpdates(events).at(-1)?.lastDisconnect?.error).toBe(boom);
  });

  it('logout() closes with 401 loggedOut', async () => {
    const { phone, events } = await connect();
    await waitFor(() => phone.connection === 'open', 2000, 'open');
    await phone.logout();
    const close = connectionUpdates(events).at(-1);
    expect(close?.connection).toBe('close');
    expect((close!.lastDisconnect!.error as { output?: { statusCode?: number } }).output?.statusCode).toBe(DisconnectReason.loggedOut);
    expect(phone.pendingTimers).toBe(0);
    await expect(phone.sendMessage('1@s.whatsapp.net', { text: 'x' })).rejects.toThrow(/not connected/);
  });
});
