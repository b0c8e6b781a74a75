import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { proto } from '@whiskeysockets/baileys';
import { AccountActor } from '../../src/account-actor/account-actor.js';
import type { ActorEvent } from '../../src/account-actor/protocol.js';
import { loadConfig } from '../../src/config/index.js';
import { SimConnector } from '../../src/connectors/sim/index.js';
import { generateHistory } from '../../src/connectors/sim/history-generator.js';
import type { Connector } from '../../src/connectors/types.js';
import { ConnectorDouble, SocketDouble } from '../support/socket-double.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNT = 'account_test_hsync';
const NOW = Date.UTC(2025, 0, 15, 12);
const FAST = { ackMs: 5, deliveryMs: 5, readMs: 5, historyMs: 2, onDemandMs: 5, pairMs: 0 };

interface Harness {
  t: TempStore;
  actor: AccountActor;
  events: ActorEvent[];
  logs: Array<{ level: number; msg: string }>;
}

let current: Harness | null = null;
afterEach(async () => {
  if (!current) return;
  await current.actor.stop({ logout: false, timeoutMs: 2_000 }).catch(() => undefined);
  await current.t.cleanup();
  current = null;
});

async function startActor(connector: Connector, env: Record<string, string> = {}): Promise<Harness> {
  const t = await openTempStore('hsync', ACCOUNT);
  const logs: Harness['logs'] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const config = loadConfig({
    DATA_DIR: t.dir,
    WA_CONNECTOR: 'sim',
    AUTO_BACKFILL_ENABLED: 'false',
    RECENT_SYNC_ENABLED: 'false',
    BATCH_FLUSH_MS: '5',
    ...env,
  });
  const events: ActorEvent[] = [];
  const actor = new AccountActor({ accountId: ACCOUNT, store: t.store, connector, config, logger, emit: (e) => events.push(e) });
  current = { t, actor, events, logs };
  await actor.start();
  return current;
}

const account = async () => (await current!.t.store.getAccount(ACCOUNT))!;

describe('history-sync progress through the actor', () => {
  it('a whole sync from the simulated phone: running, then complete, with chunks per type and the messages it stored', async () => {
    const connector = new SimConnector({ chats: 6, messagesPerChat: 30, rate: 0, seed: 'hsync', now: NOW, delays: FAST, chunkSize: 25 });
    const h = await startActor(connector);
    // RECENT completing makes it `complete` for a moment, until the first FULL chunk reopens it: wait for FULL too.
    await vi.waitFor(
      async () => expect(await account()).toMatchObject({ historySyncStatus: 'complete', historySyncProgress: { FULL: 100 } }),
      {
        timeout: 10_000,
        interval: 20,
      },
    );
    await h.actor.stop({ logout: false, timeoutMs: 2_000 });

    const a = await account();
    const stored = await h.t.store.countMessages(ACCOUNT);
    const chunkEvents = h.events.filter((e) => e.type === 'history-sync');
    const perType: Record<string, number> = {};
    for (const e of chunkEvents) if (e.type === 'history-sync' && e.syncType) perType[e.syncType] = (perType[e.syncType] ?? 0) + 1;
    expect(a).toMatchObject({
      historySyncStatus: 'complete',
      historySyncProgress: { RECENT: 100, FULL: 100 },
      historySyncChunks: perType,
      historySyncMessagesSaved: stored,
      historySyncCount: stored,
      historySyncStalled: false,
    });
    expect(Object.keys(perType).sort()).toEqual(['FULL', 'INITIAL_BOOTSTRAP', 'PUSH_NAME', 'RECENT']);
    expect(a.historySyncStartedAt).toBeLessThanOrEqual(a.historySyncCompletedAt!);
    // Every transition went to the supervisor too; the last one is the completion.
    const statuses = h.events.flatMap((e) => (e.type === 'history-sync-status' ? [e.state.status] : []));
    expect(statuses[0]).toBe('waiting');
    expect(statuses).toContain('running');
    expect(statuses.at(-1)).toBe('complete');
    expect(h.logs.filter((l) => l.msg === 'history sync complete').length).toBeGreaterThanOrEqual(1);
  });

  it('historySyncCount counts messages newly stored: a replayed chunk adds nothing and is reported as skipped', async () => {
    const connector = new ConnectorDouble('sim', () => new SocketDouble());
    const h = await startActor(connector);
    const sock = connector.last;
    sock.open();
    const { chunks } = generateHistory({ chats: 4, messagesPerChat: 10, seed: 'replay', now: NOW, chunkSize: 1000 });
    const recent = chunks.find((c) => c.syncType === proto.HistorySync.HistorySyncType.RECENT)!;
    const results = () => h.events.flatMap((e) => (e.type === 'history-sync' ? [e.result] : []));

    sock.emit('messaging-history.set', recent);
    await vi.waitFor(() => expect(results()).toHaveLength(1), { timeout: 5_000, interval: 10 });
    const stored = await h.t.store.countMessages(ACCOUNT);
    expect(stored).toBeGreaterThan(0);
    expect(results()[0]).toEqual({
      saved: stored,
      skipped: recent.messages.length - stored,
      errors: 0,
      total: recent.messages.length,
      dryRun: false,
    });

    // The same chunk again: what a journal replay after a crash, or WhatsApp re-sending it, looks like.
    sock.emit('messaging-history.set', recent);
    await vi.waitFor(() => expect(results()).toHaveLength(2), { timeout: 5_000, interval: 10 });
    expect(results()[1]).toEqual({ saved: 0, skipped: recent.messages.length, errors: 0, total: recent.messages.length, dryRun: false });
    await vi.waitFor(async () => expect((await account()).historySyncCount).toBe(stored), { timeout: 5_000, interval: 10 });
    expect(await h.t.store.countMessages(ACCOUNT)).toBe(stored);
    await h.actor.stop({ logout: false, timeoutMs: 2_000 });
    expect(await account()).toMatchObject({
      lastHistorySyncResult: { saved: 0, skipped: recent.messages.length },
      historySyncMessagesSaved: stored,
      historySyncChunks: { RECENT: 2 },
    });
  });

  it('a phone that goes quiet mid-sync: Baileys pauses RECENT, then the sync is flagged stalled, logged once', async () => {
    const connector = new SimConnector({
      chats: 6,
      messagesPerChat: 30,
      rate: 0,
      seed: 'stall',
      now: NOW,
      delays: { ...FAST, historyPausedMs: 200 },
      chunkSize: 25,
      // Two bootstrap chunks (6 chats × 5 messages), the push names, then the first of four RECENT chunks.
      historyStopAfter: 4,
    });
    const h = await startActor(connector, { HISTORY_SYNC_STALL_MS: '1000' });
    await vi.waitFor(async () => expect((await account()).historySyncStatus).toBe('paused'), { timeout: 5_000, interval: 20 });
    await vi.waitFor(async () => expect((await account()).historySyncStalled).toBe(true), { timeout: 5_000, interval: 20 });
    const a = await account();
    expect(a.historySyncStalledAt! - a.historySyncLastChunkAt!).toBeGreaterThanOrEqual(1000);
    await new Promise((r) => setTimeout(r, 1_300));
    const warnings = h.logs.filter((l) => l.msg.startsWith('history sync stalled'));
    expect(warnings).toHaveLength(1);
    expect(h.logs.filter((l) => l.msg.startsWith('history sync paused'))).toHaveLength(1);
    expect(h.events.filter((e) => e.type === 'history-sync-status' && e.state.stalled)).toHaveLength(1);
  });
});
