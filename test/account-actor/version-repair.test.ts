import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Boom } from '@hapi/boom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { makeEventBuffer, type UserFacingSocketConfig, type WASocket } from '@whiskeysockets/baileys';
import { AccountActor } from '../../src/account-actor/account-actor.js';
import { loadConfig } from '../../src/config/index.js';
import { BaileysConnector } from '../../src/connectors/baileys/baileys-connector.js';
import { WA_VERSION_SETTING, type WaVersion, type WaVersionFetcher } from '../../src/connectors/baileys/wa-version.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

const ACCOUNT = 'account_test_405';
const logger = pino({ level: 'silent' });
const OLD: WaVersion = [2, 3000, 1_000_000_001];
const NEW: WaVersion = [2, 3000, 1_050_000_002];

/**
 * The real actor and the real Baileys connector (socket factory injected, fetcher injected: no
 * network here): WhatsApp refusing the version (405) leads to one refetch and one immediate retry
 * that announces the new version; a second refusal goes to the ordinary backoff.
 */
describe('AccountActor: a refused WhatsApp Web version', () => {
  let dir: string;
  let store: Store;
  let actor: AccountActor;
  let sockets: Array<{ config: UserFacingSocketConfig; ev: ReturnType<typeof makeEventBuffer>; at: number }>;
  let fetches: number;

  const makeSocket = (config: UserFacingSocketConfig): WASocket => {
    const ev = makeEventBuffer(logger);
    sockets.push({ config, ev, at: Date.now() });
    return { ev, end: async () => undefined, logout: async () => undefined, user: undefined } as unknown as WASocket;
  };
  const refuse = (i: number): void => {
    sockets[i]!.ev.emit('connection.update', {
      connection: 'close',
      lastDisconnect: {
        error: new Boom('Connection Failure', { statusCode: 405, data: { reason: '405', location: 'cln' } }),
        date: new Date(),
      },
    });
  };
  const waitForSockets = (n: number, timeout = 5_000) => vi.waitFor(() => expect(sockets).toHaveLength(n), { timeout, interval: 5 });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-405-'));
    store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: ACCOUNT });
    // What the main thread cached a while ago.
    await store.putSetting(WA_VERSION_SETTING, { version: OLD, fetchedAt: Date.now() - 3_600_000 });
    sockets = [];
    fetches = 0;
    const fetcher: WaVersionFetcher = async () => {
      fetches += 1;
      return NEW;
    };
    const connector = new BaileysConnector({ syncFullHistory: true, logLevel: 'silent', makeSocket, waVersion: { fetcher } });
    const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', AUTO_BACKFILL_ENABLED: 'false', RECENT_SYNC_ENABLED: 'false' });
    actor = new AccountActor({ accountId: ACCOUNT, store, connector, config, logger, emit: () => undefined });
  });
  afterEach(async () => {
    await actor.stop({ logout: false, timeoutMs: 1_000 }).catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refetches once and retries at once with the new version; a second refusal backs off like any close', async () => {
    await actor.start();
    expect(sockets[0]!.config.version).toEqual(OLD);

    const refusedAt = Date.now();
    refuse(0);
    await waitForSockets(2);
    expect(fetches).toBe(1);
    expect(sockets[1]!.config.version).toEqual(NEW);
    // No backoff: the retry follows the refetch, not the reconnect timer (≥ 500 ms on attempt 1).
    expect(sockets[1]!.at - refusedAt).toBeLessThan(400);
    expect(actor.status().reconnectAttempts).toBe(0);
    expect((await store.getSetting(WA_VERSION_SETTING))?.value).toMatchObject({ version: NEW });

    refuse(1);
    await vi.waitFor(() => expect(actor.status().reconnectAttempts).toBe(1), { timeout: 2_000, interval: 5 });
    expect(fetches).toBe(1);
    expect((await store.getAccount(ACCOUNT))?.status).toBe('reconnecting');
    expect((await store.getAccount(ACCOUNT))?.statusReason).toMatch(/^405/);
    await waitForSockets(3);
    expect(sockets[2]!.config.version).toEqual(NEW);
  });

  it('a connection that opens earns a new repair for the next refusal', async () => {
    await actor.start();
    refuse(0);
    await waitForSockets(2);
    sockets[1]!.ev.emit('connection.update', { connection: 'open' });
    await vi.waitFor(async () => expect((await store.getAccount(ACCOUNT))?.status).toBe('open'), { timeout: 2_000, interval: 5 });
    // Days later WhatsApp refuses NEW as well; the cache is old by then, so it is fetched again.
    await store.putSetting(WA_VERSION_SETTING, { version: NEW, fetchedAt: Date.now() - 86_400_000 });
    refuse(1);
    await waitForSockets(3);
    expect(fetches).toBe(2);
    expect(actor.status().reconnectAttempts).toBe(0);
  });
});
