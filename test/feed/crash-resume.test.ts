import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { E2E_TOKEN } from '../support/e2e.js';
import { FeedTestClient } from '../support/feed-client.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';

/**
 * `kill -9` of a real server process in the middle of a stream: the client resumes from its last
 * cursor against the restarted server and, compared with the database itself afterwards, has every
 * message the server ever stored after its first cursor, once.
 */

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-crash-feed-'));
const servers: SpawnedServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL', 5_000).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

const env = {
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  DATA_DIR: dataDir,
  API_TOKEN: E2E_TOKEN,
  WA_CONNECTOR: 'sim',
  WA_DEMO: 'true',
  WA_SIM_CHATS: '4',
  WA_SIM_MESSAGES_PER_CHAT: '3',
  WA_SIM_RATE: '200',
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  AUTO_BACKFILL_ENABLED: 'false',
  RECENT_SYNC_ENABLED: 'false',
  BATCH_FLUSH_MS: '10',
};

async function start(): Promise<SpawnedServer> {
  const server = await spawnServer({ env });
  servers.push(server);
  return server;
}

describe('kill -9 mid-stream (SQLite, a real server process)', () => {
  it('the client resumes from its last cursor after the restart: nothing the server stored is missing', async () => {
    const first = await start();
    const client = await FeedTestClient.connect(first.url, { token: E2E_TOKEN });
    client.subscribe('demo');
    const startCursor = (await client.waitForFrame('subscribed')).cursor!;
    await client.waitFor('a stream', () => client.events.filter((e) => e.event === 'message.created').length >= 150, 30_000);
    const killed = await first.stop('SIGKILL', 10_000);
    expect(killed.signal).toBe('SIGKILL');
    await client.waitFor('the close', () => client.closed !== null);
    const resumeFrom = client.lastCursor!;

    const second = await start();
    const resumed = await FeedTestClient.connect(second.url, { token: E2E_TOKEN });
    resumed.subscribe('demo', resumeFrom);
    await resumed.waitForFrame('live', 30_000);
    // Live messages again from the restarted phone, then a clean stop.
    await resumed.waitFor('live messages after the restart', () => resumed.events.length > 50, 30_000);
    await resumed.close();
    await second.stop('SIGTERM');

    const union = [...client.events, ...resumed.events];
    expect(new Set(union.map((e) => e.id)).size).toBe(union.length);
    const received = new Set(union.filter((e) => e.event === 'message.created').map((e) => e.data!.id as string));
    // What the database holds: every message.created logged after the first cursor, up to the last event received.
    const store = openSqliteStore({ file: path.join(dataDir, 'wasync.db') });
    await store.init();
    try {
      const fromSeq = Number(JSON.parse(Buffer.from(startCursor.slice(1), 'base64url').toString())[4]) >> 16;
      const lastSeq = Number(JSON.parse(Buffer.from(union.at(-1)!.cursor!.slice(1), 'base64url').toString())[4]) >> 16;
      const page = await store.readChanges('demo', fromSeq, 1000);
      if (page.status !== 'ok') throw new Error(page.reason);
      const logged = page.batches
        .filter((b) => b.seq <= lastSeq)
        .flatMap((b) => b.events)
        .filter((e) => e.type === 'message.created')
        .map((e) => (e.data as { message: { id: string } }).message.id);
      expect(logged.length).toBeGreaterThan(150);
      expect(logged.filter((id) => !received.has(id))).toEqual([]);
      expect(received.size).toBe(logged.length);
      // And every message stored is in the log (the transactional outbox: data and event commit together).
      const messages = await store.countMessages('demo');
      const page0 = await store.readChanges('demo', 0, 1000);
      const everCreated =
        page0.status === 'ok' ? page0.batches.flatMap((b) => b.events).filter((e) => e.type === 'message.created').length : -1;
      expect(everCreated).toBe(messages);
    } finally {
      await store.close();
    }
  });
});
