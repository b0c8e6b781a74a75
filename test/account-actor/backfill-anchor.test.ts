import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { proto, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import { AccountActor } from '../../src/account-actor/account-actor.js';
import type { ActorEvent } from '../../src/account-actor/protocol.js';
import { loadConfig } from '../../src/config/index.js';
import { LidPnPairs, MessageArchive } from '../../src/connectors/sim/archive.js';
import { SimPhone } from '../../src/connectors/sim/sim-phone.js';
import { threadIdOf } from '../../src/domain/records.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';
import { makeMessage } from '../support/records.js';
import { ConnectorDouble } from '../support/socket-double.js';

const ACCOUNT = 'account_test_anchor';
const JID = '40712345678@s.whatsapp.net';
const THREAD = threadIdOf(ACCOUNT, JID);
const logger = pino({ level: 'silent' });
const S = 1_000;

interface FetchCall {
  count: number;
  key: WAMessageKey;
  ts: number;
}

function waMessage(id: string, seconds: number, fromMe = false): WAMessage {
  return { key: { remoteJid: JID, id, fromMe }, messageTimestamp: seconds, message: { conversation: `text ${id}` } };
}

/**
 * Everything the phone holds of the chat: what the store has (M100-M300; Q400 never left), older
 * messages (OLD50, OLD60) and one a disconnect kept from the store (GAP250). The simulated phone
 * answers `fetchMessageHistory` from it as WhatsApp does: later, with an ON_DEMAND
 * `messaging-history.set` echoing the request id, holding the messages older than the anchor.
 */
const PHONE_HISTORY = [
  waMessage('OLD50', 50),
  waMessage('OLD60', 60),
  waMessage('M100', 100),
  waMessage('M200', 200),
  waMessage('GAP250', 250),
  waMessage('M300', 300, true),
];

/** The simulated phone, with the requests it gets recorded (and how many wait for their answer at once). */
function simulatedPhone(): { phone: SimPhone; calls: FetchCall[]; maxInFlight: () => number } {
  const archive = new MessageArchive();
  for (const m of PHONE_HISTORY) archive.add(m);
  const phone = new SimPhone({
    user: { id: '40700000001:12@s.whatsapp.net' },
    script: { kind: 'scenario', events: [], scripted: false },
    archive,
    pairs: new LidPnPairs(),
    logger,
    delays: { onDemandMs: 30 },
  });
  const calls: FetchCall[] = [];
  let inFlight = 0;
  let max = 0;
  const fetch = phone.fetchMessageHistory.bind(phone);
  phone.fetchMessageHistory = (count, key, ts) => {
    calls.push({ count, key, ts: Number(ts) });
    max = Math.max(max, ++inFlight);
    return fetch(count, key, ts);
  };
  phone.ev.on('messaging-history.set', (set) => {
    if (set.syncType === proto.HistorySync.HistorySyncType.ON_DEMAND) inFlight--;
  });
  return { phone, calls, maxInFlight: () => max };
}

describe('AccountActor backfill anchors and the fields a run reports into', () => {
  let temp: TempStore;
  let phone: ReturnType<typeof simulatedPhone>;
  let actor: AccountActor;
  let events: ActorEvent[];

  beforeEach(async () => {
    temp = await openTempStore('anchor', ACCOUNT);
    // Stored: three messages at 100, 200 and 300 s, then our own send at 400 s that never left (queued).
    await temp.store.applyMutations(ACCOUNT, [
      { kind: 'message', record: makeMessage({ accountId: ACCOUNT, clientJid: JID, id: 'M100', createdAt: 100 * S }) },
      { kind: 'message', record: makeMessage({ accountId: ACCOUNT, clientJid: JID, id: 'M200', createdAt: 200 * S }) },
      {
        kind: 'message',
        record: makeMessage({ accountId: ACCOUNT, clientJid: JID, id: 'M300', createdAt: 300 * S, direction: 'outbound' }),
      },
      {
        kind: 'message',
        record: makeMessage({
          accountId: ACCOUNT,
          clientJid: JID,
          id: 'Q400',
          createdAt: 400 * S,
          direction: 'outbound',
          status: 'queued',
          syncSource: 'outbound_api',
        }),
      },
    ]);
    phone = simulatedPhone();
    const connector = new ConnectorDouble('sim', () => phone.phone);
    const config = loadConfig({ DATA_DIR: temp.dir, LOG_LEVEL: 'silent', WA_CONNECTOR: 'sim', BATCH_FLUSH_MS: '5' });
    events = [];
    actor = new AccountActor({ accountId: ACCOUNT, store: temp.store, connector, config, logger, emit: (e) => events.push(e) });
    await actor.start();
    await vi.waitFor(async () => expect((await temp.store.getAccount(ACCOUNT))?.status).toBe('open'), { timeout: 5_000, interval: 5 });
  });
  afterEach(async () => {
    await actor.stop({ logout: false, timeoutMs: 1_000 }).catch(() => undefined);
    await temp.cleanup();
  });

  it('oldest (manual, auto): asks for history older than the oldest stored message, sets lastBackfillAt on account, thread', async () => {
    const result = await actor.backfill({ threads: 10, count: 25, reason: 'auto' });
    expect(phone.calls).toHaveLength(1);
    expect(phone.calls[0]).toMatchObject({ count: 25, key: { remoteJid: JID, id: 'M100', fromMe: false }, ts: 100 });
    expect(result).toMatchObject({ threads: 1, messages: 2, errors: 0 });
    const account = await temp.store.getAccount(ACCOUNT);
    expect(account?.lastBackfillResult).toEqual(result);
    expect(account?.lastBackfillAt).toEqual(expect.any(Number));
    expect(account?.lastRecentSyncAt ?? null).toBeNull();
    expect((await temp.store.getThread(ACCOUNT, THREAD))?.lastBackfillAt).toEqual(expect.any(Number));
    expect((await temp.store.getMessage(ACCOUNT, 'OLD50'))?.syncSource).toBe('backfill');
    expect(events).toContainEqual(expect.objectContaining({ type: 'backfill', reason: 'auto', record: 'backfill' }));
  });

  it('newest (recent sync): anchors at the newest message the phone knows, fills the gap below it, leaves lastBackfillAt', async () => {
    // The phone holds a message at 250 s that a disconnect kept from us.
    const result = await actor.backfill({ threads: 10, count: 20, reason: 'recent', anchor: 'newest', record: 'recentSync' });
    // Q400 was never sent: the anchor is the newest message WhatsApp has seen.
    expect(phone.calls[0]).toMatchObject({ count: 20, key: { remoteJid: JID, id: 'M300', fromMe: true }, ts: 300 });
    expect(result).toMatchObject({ threads: 1, errors: 0 });
    expect((await temp.store.getMessage(ACCOUNT, 'GAP250'))?.syncSource).toBe('backfill');
    const account = await temp.store.getAccount(ACCOUNT);
    expect(account?.lastRecentSyncResult).toEqual(result);
    expect(account?.lastRecentSyncAt).toEqual(expect.any(Number));
    expect(account?.lastBackfillAt ?? null).toBeNull();
    expect(account?.lastBackfillResult ?? null).toBeNull();
    expect((await temp.store.getThread(ACCOUNT, THREAD))?.lastBackfillAt ?? null).toBeNull();
    expect(events).toContainEqual(expect.objectContaining({ type: 'backfill', reason: 'recent', record: 'recentSync' }));
  });

  it('runs never overlap; a request of a kind already waiting shares that run', async () => {
    const auto = actor.backfill({ threads: 10, count: 5, reason: 'auto' });
    const recent = actor.backfill({ threads: 10, count: 5, reason: 'recent', anchor: 'newest', record: 'recentSync' });
    const manual = actor.backfill({ threads: 10, count: 5, reason: 'manual' });
    const recentAgain = actor.backfill({ threads: 10, count: 5, reason: 'recent', anchor: 'newest', record: 'recentSync' });
    expect(manual).toBe(auto);
    expect(recentAgain).toBe(recent);
    await Promise.all([auto, recent]);
    expect(phone.calls.map((c) => c.key.id)).toEqual(['M100', 'M300']);
    expect(phone.maxInFlight()).toBe(1);
    // Once finished, a new request runs again.
    await actor.backfill({ threads: 10, count: 5, reason: 'manual' });
    expect(phone.calls).toHaveLength(3);
  });

  it('a run that throws does not block the next one, of either kind', async () => {
    const listThreads = temp.store.listThreads.bind(temp.store);
    temp.store.listThreads = async () => {
      throw new Error('store down');
    };
    const failing = actor.backfill({ threads: 10, count: 5, reason: 'auto' });
    const queued = actor.backfill({ threads: 10, count: 5, reason: 'recent', anchor: 'newest', record: 'recentSync' });
    await expect(failing).rejects.toThrow('store down');
    await expect(queued).rejects.toThrow('store down');
    temp.store.listThreads = listThreads;
    await expect(actor.backfill({ threads: 10, count: 5, reason: 'auto' })).resolves.toMatchObject({ threads: 1, errors: 0 });
    await expect(
      actor.backfill({ threads: 10, count: 5, reason: 'recent', anchor: 'newest', record: 'recentSync' }),
    ).resolves.toMatchObject({
      threads: 1,
      errors: 0,
    });
  });
});
