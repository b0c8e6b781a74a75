import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/e2e.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';

/**
 * SQLite is one process per data directory: the real entry point takes an operating-system lock on
 * DATA_DIR/wasync.lock for its whole life. A second process on the same directory exits with a clear
 * message; after `kill -9` of the first (no shutdown, no clean-up) the lock is gone with it, and the
 * next process starts at once and takes its accounts back without waiting for their owner leases.
 */
const TOKEN = 'sqlite-lock-token-0123456789';

describe('SQLite: one process per DATA_DIR', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-lock-'));
  const started: SpawnedServer[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop('SIGKILL', 10_000).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });
  const env = (id: string) => ({
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    INSTANCE_ID: id,
    HOST: '127.0.0.1',
    PORT: '0',
    API_TOKEN: TOKEN,
    WA_CONNECTOR: 'sim',
    WA_DEMO: 'true',
    WA_SIM_CHATS: '2',
    WA_SIM_MESSAGES_PER_CHAT: '2',
    AUTO_BACKFILL_ENABLED: 'false',
    RECENT_SYNC_ENABLED: 'false',
    LOG_LEVEL: 'warn',
  });
  const get = async <T>(server: SpawnedServer, urlPath: string): Promise<T> =>
    (await (await fetch(`${server.url}${urlPath}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as T;

  it('a second process on one DATA_DIR refuses to start, naming the holder; after kill -9 of the first, the next one starts', async () => {
    const first = await spawnServer({ env: env('first') });
    started.push(first);
    await waitFor('the demo account open', async () => {
      const r = await get<{ account?: { runtime?: { connection?: string; actor?: string } } }>(first, '/api/whatsapp/accounts/demo');
      return r.account?.runtime?.connection === 'open' && r.account.runtime.actor === 'running' ? true : undefined;
    });

    const refused = await spawnServer({ env: env('second') }).then(
      (s) => {
        started.push(s);
        return null;
      },
      (err: unknown) => (err as Error).message,
    );
    expect(refused).toMatch(/exited \(1\) before listening/);
    expect(refused).toContain(`wasync: failed to start: another wasync process is already using DATA_DIR ${dataDir}`);
    expect(refused).toContain(`held by pid ${first.child.pid}, INSTANCE_ID first`);
    expect(refused).toMatch(/several instances on one database need STORE=firestore/);

    first.child.kill('SIGKILL');
    await first.stop(null);
    const restartedAt = Date.now();
    const third = await spawnServer({ env: env('third') });
    started.push(third);
    // Its predecessor's owner lease (30 s) is taken over at once: the lock proves the holder dead.
    await waitFor(
      'the demo account open again',
      async () => {
        const r = await get<{ account?: { runtime?: { connection?: string; actor?: string; owner?: { instanceId: string } } } }>(
          third,
          '/api/whatsapp/accounts/demo',
        );
        const runtime = r.account?.runtime;
        return runtime?.actor === 'running' && runtime.connection === 'open' && runtime.owner?.instanceId === 'third' ? runtime : undefined;
      },
      20_000,
    );
    expect(Date.now() - restartedAt).toBeLessThan(20_000);
    const fleet = await get<{ instances: Array<{ instanceId: string; alive: boolean; accounts: Array<{ accountId: string }> }> }>(
      third,
      '/api/whatsapp/instances',
    );
    expect(fleet.instances.map((i) => [i.instanceId, i.alive, i.accounts.map((a) => a.accountId)])).toEqual([['third', true, ['demo']]]);
  }, 90_000);
});
