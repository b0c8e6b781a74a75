import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { proto, type BaileysEventMap, type WAMessageKey } from '@whiskeysockets/baileys';
import { BackfillRunner } from '../../src/account-actor/backfill-runner.js';
import type { ActorEvent } from '../../src/account-actor/protocol.js';
import { threadIdOf } from '../../src/domain/thread-id.js';
import { makeMessage } from '../support/records.js';
import { SocketDouble } from '../support/socket-double.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNT = 'account_test_runner';
const PN = '40712345678@s.whatsapp.net';
const LID = '123456789@lid';
const S = 1_000;

/** The ON_DEMAND answer as the actor hands it over after ingesting it. */
function answer(chat: string, requestId?: string): BaileysEventMap['messaging-history.set'] {
  return {
    chats: [],
    contacts: [],
    messages: [{ key: { remoteJid: chat, id: 'OLD1', fromMe: false }, messageTimestamp: 10 }],
    syncType: proto.HistorySync.HistorySyncType.ON_DEMAND,
    ...(requestId === undefined ? {} : { peerDataRequestSessionId: requestId }),
  };
}

/**
 * BackfillRunner on a real store: the socket double records the history requests, the test plays the
 * phone's answers through `onAnswer`, as the actor does once it ingested them.
 */
describe('BackfillRunner', () => {
  let temp: TempStore;
  let sock: SocketDouble;
  let requests: Array<{ count: number; key: WAMessageKey; ts: number }>;
  let events: ActorEvent[];
  let runner: BackfillRunner;

  beforeEach(async () => {
    temp = await openTempStore('runner', ACCOUNT);
    await temp.store.applyMutations(ACCOUNT, [
      { kind: 'message', record: makeMessage({ accountId: ACCOUNT, clientJid: PN, id: 'M100', createdAt: 100 * S }) },
      { kind: 'message', record: makeMessage({ accountId: ACCOUNT, clientJid: PN, id: 'M200', createdAt: 200 * S }) },
      { kind: 'jid-mapping', accountId: ACCOUNT, lid: LID, pn: PN },
    ]);
    sock = new SocketDouble();
    requests = [];
    sock.fetchMessageHistory = async (count, key, ts) => {
      requests.push({ count, key, ts: Number(ts) });
      return `req-${requests.length}`;
    };
    events = [];
    runner = new BackfillRunner({
      accountId: ACCOUNT,
      store: temp.store,
      logger: pino({ level: 'silent' }),
      now: () => 1_736_935_000_000,
      socket: () => sock,
      emit: (e) => events.push(e),
      pnForLid: (lid) => (lid === LID ? PN : undefined),
      responseTimeoutMs: 200,
    });
  });
  afterEach(() => temp.cleanup());

  const untilRequests = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && requests.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  };

  it('asks for the history before the oldest stored message and counts what the answer saved', async () => {
    const run = runner.run({ threads: 5, count: 25, reason: 'manual' });
    await untilRequests(1);
    expect(requests[0]).toEqual({ count: 25, key: { remoteJid: PN, id: 'M100', fromMe: false, remoteJidAlt: LID }, ts: 100 });
    runner.onAnswer(answer(PN, 'req-1'), 7);
    const result = await run;
    expect(result).toEqual({ threads: 1, messages: 7, errors: 0, threadResults: [{ threadId: threadIdOf(ACCOUNT, PN), messages: 7 }] });
    expect((await temp.store.getAccount(ACCOUNT))?.lastBackfillResult).toEqual(result);
    expect(events).toEqual([{ type: 'backfill', accountId: ACCOUNT, reason: 'manual', record: 'backfill', result }]);
  });

  it('matches an answer without the request id by its chat, also when the phone names it by LID', async () => {
    const run = runner.run({ threads: 5, count: 10, reason: 'auto' });
    await untilRequests(1);
    runner.onAnswer(answer(LID), 3);
    await expect(run).resolves.toMatchObject({ threads: 1, messages: 3, errors: 0 });
  });

  it('an answer that never comes is a thread error (ACTOR_TIMEOUT), not a hung run', async () => {
    const result = await runner.run({ threads: 5, count: 10, reason: 'auto' });
    expect(result).toMatchObject({ threads: 0, errors: 1 });
    expect(result.threadResults[0]?.error).toMatch(/did not answer/);
  });

  it('an answer nobody asked for settles nothing', async () => {
    runner.onAnswer(answer('40799999999@s.whatsapp.net', 'req-404'), 5);
    const run = runner.run({ threads: 5, count: 10, reason: 'auto' });
    await untilRequests(1);
    runner.onAnswer(answer(PN, 'req-1'), 1);
    await expect(run).resolves.toMatchObject({ messages: 1 });
  });

  it('without a socket it fails at once with NOT_CONNECTED', async () => {
    const offline = new BackfillRunner({
      accountId: ACCOUNT,
      store: temp.store,
      logger: pino({ level: 'silent' }),
      now: Date.now,
      socket: () => {
        throw Object.assign(new Error('account is reconnecting, not connected'), { code: 'NOT_CONNECTED' });
      },
      emit: () => undefined,
      pnForLid: () => undefined,
    });
    await expect(offline.run({ threads: 1, count: 1, reason: 'manual' })).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });
});
