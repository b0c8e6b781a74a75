import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { proto, type BaileysEventMap } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AccountActor } from '../../src/account-actor/account-actor.js';
import { loadConfig } from '../../src/config/index.js';
import { generateHistory } from '../../src/connectors/sim/history-generator.js';
import type { ChangeEvent } from '../../src/domain/change-events.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { ConnectorDouble, SocketDouble } from '../support/socket-double.js';

/**
 * The change-log events the actor adds itself, through the real actor on a socket double (Baileys'
 * own event emitter): a history chunk's `history-sync.progress` with its counts, Baileys'
 * `messaging-history.status` after the chunk before it, and a backfill's progress and completion.
 */

const ACCOUNT = 'account_test_feed_events';
const RECENT = proto.HistorySync.HistorySyncType.RECENT;
const ON_DEMAND = proto.HistorySync.HistorySyncType.ON_DEMAND;

describe('actor change-log events', () => {
  let dir: string;
  let store: Store;
  let connector: ConnectorDouble<SocketDouble>;
  let actor: AccountActor;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-actor-feed-'));
    store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: ACCOUNT });
    const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', WA_CONNECTOR: 'sim', BATCH_FLUSH_MS: '5' });
    connector = new ConnectorDouble('sim', () => new SocketDouble());
    actor = new AccountActor({ accountId: ACCOUNT, store, connector, config, logger: pino({ level: 'silent' }), emit: () => undefined });
    await actor.start();
    connector.sockets[0]!.open();
  });
  afterEach(async () => {
    await actor.stop({ logout: false, timeoutMs: 5_000 });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function events(): Promise<Array<{ seq: number; e: ChangeEvent }>> {
    const page = await store.readChanges(ACCOUNT, 0, 1000);
    if (page.status !== 'ok') throw new Error(page.reason);
    return page.batches.flatMap((b) => b.events.map((e) => ({ seq: b.seq, e })));
  }
  const ofType = (all: Array<{ seq: number; e: ChangeEvent }>, type: ChangeEvent['type']) => all.filter((x) => x.e.type === type);

  it('a history chunk logs its progress with its counts, and messaging-history.status comes after it', async () => {
    const { chunks } = generateHistory({ chats: 3, messagesPerChat: 4, seed: 'actor-feed' });
    const sock = connector.sockets[0]!;
    const chunk: BaileysEventMap['messaging-history.set'] = { ...chunks[0]!, syncType: RECENT, progress: 100 };
    sock.emit('messaging-history.set', chunk);
    // Baileys emits the status as soon as it sees progress 100, before the chunk is stored.
    sock.emit('messaging-history.status', { syncType: RECENT, status: 'complete', explicit: true });
    await vi.waitFor(async () => expect(ofType(await events(), 'history-sync.progress')).toHaveLength(2), { timeout: 5_000 });
    const all = await events();
    const [chunkEvent, statusEvent] = ofType(all, 'history-sync.progress');
    expect(chunkEvent!.e.data).toMatchObject({ status: 'chunk', syncType: 'RECENT', progress: 100, chunk: { errors: 0, dryRun: false } });
    const saved = (chunkEvent!.e.data as { chunk: { saved: number } }).chunk.saved;
    expect(saved).toBeGreaterThan(0);
    expect((await store.getAccount(ACCOUNT))?.historySyncCount).toBe(saved);
    expect(statusEvent!.e.data).toEqual({ syncType: 'RECENT', progress: 100, status: 'complete', explicit: true, chunk: null });
    // After the chunk's messages and its progress.
    const lastCreated = Math.max(...ofType(all, 'message.created').map((x) => x.seq));
    expect(chunkEvent!.seq).toBeGreaterThan(lastCreated);
    expect(statusEvent!.seq).toBeGreaterThan(chunkEvent!.seq);
  });

  it('a backfill logs progress per thread and its completion with the result it records', async () => {
    const { chunks } = generateHistory({ chats: 2, messagesPerChat: 3, seed: 'actor-backfill' });
    const sock = connector.sockets[0]!;
    sock.emit('messaging-history.set', { ...chunks[0]!, syncType: RECENT });
    await vi.waitFor(async () => expect(ofType(await events(), 'history-sync.progress')).toHaveLength(1), { timeout: 5_000 });
    // The phone answers each history request with an empty ON_DEMAND chunk for that chat.
    sock.fetchMessageHistory = async (_count, key) => {
      const id = `req-${key.remoteJid}`;
      setTimeout(
        () =>
          sock.emit('messaging-history.set', { chats: [], contacts: [], messages: [], syncType: ON_DEMAND, peerDataRequestSessionId: id }),
        5,
      );
      return id;
    };
    const result = await actor.backfill({ threads: 10, count: 5, reason: 'manual' });
    expect(result.threads).toBeGreaterThan(0);
    const all = await events();
    const progress = ofType(all, 'backfill.progress').map((x) => x.e.data as { threadsDone: number; threadsTotal: number; kind: string });
    expect(progress.map((p) => p.threadsDone)).toEqual(Array.from({ length: result.threads }, (_, i) => i + 1));
    expect(progress.every((p) => p.kind === 'backfill' && p.threadsTotal === result.threadResults.length)).toBe(true);
    const [completed] = ofType(all, 'backfill.completed');
    expect(completed!.e.data).toMatchObject({ reason: 'manual', kind: 'backfill', result });
    expect((await store.getAccount(ACCOUNT))?.lastBackfillResult).toEqual(result);
  });
});
