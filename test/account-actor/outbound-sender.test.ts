import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BatchWriter, type SubmitOutcome } from '../../src/account-actor/batch-writer.js';
import { OutboundSender } from '../../src/account-actor/outbound-sender.js';
import type { ConnectionStatus } from '../../src/domain/records.js';
import { threadIdOf } from '../../src/domain/thread-id.js';
import { makeMessage } from '../support/records.js';
import { SocketDouble } from '../support/socket-double.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNT = 'account_test_send';
const PEER = '40712345678@s.whatsapp.net';

/** OutboundSender on a real store and batch writer, with a socket double whose send the test controls. */
describe('OutboundSender', () => {
  let temp: TempStore;
  let writer: BatchWriter;
  let sock: SocketDouble;
  let connection: ConnectionStatus;
  let queued: SubmitOutcome[];
  let sender: OutboundSender;
  /** What the store held for the message at the moment the socket was asked to send it. */
  let atSend: Array<{ status: string | undefined; sendError: string | null | undefined }>;

  beforeEach(async () => {
    temp = await openTempStore('send', ACCOUNT);
    writer = new BatchWriter({
      store: temp.store,
      accountId: ACCOUNT,
      maxOps: 500,
      flushMs: 5,
      dryRun: false,
      logger: pino({ level: 'silent' }),
    });
    sock = new SocketDouble();
    connection = 'open';
    queued = [];
    atSend = [];
    sock.sendMessage = async (_jid, _content, options) => {
      const row = await temp.store.getMessage(ACCOUNT, options?.messageId ?? '');
      atSend.push({ status: row?.status, sendError: row?.sendError });
      return undefined;
    };
    sender = new OutboundSender({
      accountId: ACCOUNT,
      store: temp.store,
      submit: (mutations) => writer.submit(mutations, { history: false }),
      socket: () => sock,
      connection: () => connection,
      me: () => '40700000001@s.whatsapp.net',
      pnForLid: (lid) => (lid === '999@lid' ? PEER : undefined),
      onQueued: (outcome) => queued.push(outcome),
      now: () => 1_736_935_000_000,
      storeTimeoutMs: 5_000,
    });
  });
  afterEach(async () => {
    await writer.close(1_000);
    await temp.cleanup();
  });

  it('stores the message as queued before the socket sees it, then answers with its id, thread and status', async () => {
    const out = await sender.send({ to: '+40712345678', text: 'hello' });
    expect(out).toEqual({ messageId: expect.any(String), threadId: threadIdOf(ACCOUNT, PEER), clientJid: PEER, status: 'queued' });
    expect(atSend).toEqual([{ status: 'queued', sendError: null }]);
    const row = await temp.store.getMessage(ACCOUNT, out.messageId);
    expect(row).toMatchObject({ direction: 'outbound', body: 'hello', syncSource: 'outbound_api', fromMe: true, status: 'queued' });
    expect(queued).toHaveLength(1);
    expect(queued[0]?.committed).toEqual([expect.objectContaining({ kind: 'message' })]);
  });

  it('a LID recipient lands in the phone-number thread when the pairing is known', async () => {
    const out = await sender.send({ to: '999@lid', text: 'hi' });
    expect(out.clientJid).toBe(PEER);
  });

  it('a failed send keeps the row with its error and answers SEND_FAILED naming the id to retry with', async () => {
    sock.sendMessage = async () => {
      throw new Error('socket closed');
    };
    const err = await sender.send({ to: PEER, text: 'x', messageId: 'RETRY1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SEND_FAILED', message: expect.stringContaining('retry with messageId RETRY1') });
    expect(await temp.store.getMessage(ACCOUNT, 'RETRY1')).toMatchObject({ status: 'queued', sendError: 'socket closed' });
  });

  it('a retry of an id already sent answers its stored status without sending again', async () => {
    await temp.store.applyMutations(ACCOUNT, [
      {
        kind: 'message',
        record: makeMessage({ accountId: ACCOUNT, clientJid: PEER, id: 'SENT1', direction: 'outbound', status: 'delivered' }),
      },
    ]);
    expect(await sender.send({ to: PEER, text: 'x', messageId: 'SENT1' })).toMatchObject({ messageId: 'SENT1', status: 'delivered' });
    expect(atSend).toHaveLength(0);
  });

  it('refuses an id that belongs to another message (inbound, or another chat)', async () => {
    await temp.store.applyMutations(ACCOUNT, [
      { kind: 'message', record: makeMessage({ accountId: ACCOUNT, clientJid: PEER, id: 'IN1', direction: 'inbound' }) },
    ]);
    await expect(sender.send({ to: PEER, text: 'x', messageId: 'IN1' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(atSend).toHaveLength(0);
  });

  it('NOT_CONNECTED while the connection is not open; nothing is stored', async () => {
    connection = 'reconnecting';
    await expect(sender.send({ to: PEER, text: 'x', messageId: 'LATER' })).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    expect(await temp.store.getMessage(ACCOUNT, 'LATER')).toBeNull();
  });

  it('BAD_REQUEST for a recipient that is neither a phone number nor a JID', async () => {
    await expect(sender.send({ to: 'not a number', text: 'x' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it.each(['1@g.us', '1@lid', '120363000000000000@g.us', '40712345678@newsletter', '123@s.whatsapp.net', 'abc@s.whatsapp.net'])(
    'refuses %s unless it is a chat the account knows; nothing is stored, no thread is created',
    async (to) => {
      await expect(sender.send({ to, text: 'x', messageId: 'REFUSED' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect(atSend).toHaveLength(0);
      expect(await temp.store.getMessage(ACCOUNT, 'REFUSED')).toBeNull();
      expect((await temp.store.listThreads(ACCOUNT, { limit: 10 })).items).toEqual([]);
    },
  );

  it('a group or LID chat the account knows can be written to', async () => {
    const GROUP = '120363000000000001@g.us';
    await temp.store.applyMutations(ACCOUNT, [
      { kind: 'message', record: makeMessage({ accountId: ACCOUNT, clientJid: GROUP, id: 'G1', direction: 'inbound' }) },
    ]);
    expect(await sender.send({ to: GROUP, text: 'hi all' })).toMatchObject({ clientJid: GROUP, status: 'queued' });
    expect(atSend).toHaveLength(1);
  });

  it('STORE_UNAVAILABLE when the queued row cannot commit in time; nothing sent; a retry with the same id sends once', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = new OutboundSender({
      accountId: ACCOUNT,
      store: temp.store,
      submit: async (mutations) => {
        await gate;
        return writer.submit(mutations, { history: false });
      },
      socket: () => sock,
      connection: () => connection,
      me: () => '40700000001@s.whatsapp.net',
      pnForLid: () => undefined,
      onQueued: (outcome) => queued.push(outcome),
      now: () => 1_736_935_000_000,
      storeTimeoutMs: 150,
    });
    const started = Date.now();
    await expect(slow.send({ to: PEER, text: 'x', messageId: 'SLOW1' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1_000);
    release();
    await new Promise((r) => setTimeout(r, 100));
    expect(atSend).toHaveLength(0);
    // The row committed once the store answered, as queued: the retry finds it and sends it.
    expect(await temp.store.getMessage(ACCOUNT, 'SLOW1')).toMatchObject({ status: 'queued' });
    expect(queued).toHaveLength(1);
    expect(await sender.send({ to: PEER, text: 'x', messageId: 'SLOW1' })).toMatchObject({ messageId: 'SLOW1' });
    expect(atSend).toHaveLength(1);
  });
});
