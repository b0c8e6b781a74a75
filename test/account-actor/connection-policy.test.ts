import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { AccountActor } from '../../src/account-actor/account-actor.js';
import type { ActorEvent } from '../../src/account-actor/protocol.js';
import { loadConfig } from '../../src/config/index.js';
import type { ConnectionStatus } from '../../src/domain/records.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { ConnectorDouble, SocketDouble } from '../support/socket-double.js';

const ACCOUNT = 'account_test_conn';
const logger = pino({ level: 'silent' });
/** Longer than the first reconnect delay (backoff attempt 1: at most 1 s): no reconnect may follow. */
const QUIET_MS = 1_300;

/**
 * A socket implementing `WaSocket` whose `ev` is Baileys' own event emitter (the shared
 * `SocketDouble`), driven by the test as WhatsApp would drive the real one.
 */
describe('AccountActor connection policy (socket double through the real actor)', () => {
  let dir: string;
  let store: Store;
  let connector: ConnectorDouble<SocketDouble>;
  let actor: AccountActor;
  let events: ActorEvent[];

  const statusInStore = async (): Promise<ConnectionStatus | undefined> => (await store.getAccount(ACCOUNT))?.status;
  const waitForStatus = (status: ConnectionStatus) =>
    vi.waitFor(async () => expect(await statusInStore()).toBe(status), { timeout: 5_000, interval: 10 });
  const waitForSockets = (n: number) => vi.waitFor(() => expect(connector.sockets).toHaveLength(n), { timeout: 5_000, interval: 10 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function seedSession(): Promise<void> {
    await store.writeAuthCreds(ACCOUNT, Buffer.from('{"registered":true}'));
    await store.writeAuthKeys(ACCOUNT, [
      { type: 'session', id: '40712345678.0', value: Buffer.from('session-bytes') },
      { type: 'pre-key', id: '1', value: Buffer.from('pre-key-bytes') },
      { type: 'app-state-sync-key', id: 'AAAAAE1b', value: Buffer.from('app-state-key') },
    ]);
  }
  async function sessionLeft(): Promise<{ creds: boolean; keys: number }> {
    const creds = (await store.readAuthCreds(ACCOUNT)) !== null;
    let keys = 0;
    keys += (await store.readAuthKeys(ACCOUNT, 'session', ['40712345678.0'])).size;
    keys += (await store.readAuthKeys(ACCOUNT, 'pre-key', ['1'])).size;
    keys += (await store.readAuthKeys(ACCOUNT, 'app-state-sync-key', ['AAAAAE1b'])).size;
    return { creds, keys };
  }

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-conn-'));
    store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: ACCOUNT });
    const config = loadConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      WA_CONNECTOR: 'sim',
      AUTO_BACKFILL_ENABLED: 'false',
      RECENT_SYNC_ENABLED: 'false',
      BATCH_FLUSH_MS: '5',
    });
    connector = new ConnectorDouble('sim', () => new SocketDouble());
    events = [];
    actor = new AccountActor({ accountId: ACCOUNT, store, connector, config, logger, emit: (e) => events.push(e) });
  });
  afterEach(async () => {
    await actor.stop({ logout: false, timeoutMs: 1_000 }).catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('408 reconnects with a new socket; 440 then stops as `replaced` and never connects again', async () => {
    await seedSession();
    await actor.start();
    expect(connector.sockets).toHaveLength(1);
    expect(connector.contexts[0]?.accountId).toBe(ACCOUNT);

    connector.last.open();
    await waitForStatus('open');
    expect((await store.getAccount(ACCOUNT))?.phoneNumber).toBe('40700000001@s.whatsapp.net');

    connector.sockets[0]?.close(DisconnectReason.connectionLost, 'Connection Lost');
    await waitForStatus('reconnecting');
    expect((await store.getAccount(ACCOUNT))?.statusReason).toMatch(/^408/);
    await waitForSockets(2);
    expect(actor.status().reconnectAttempts).toBe(1);

    connector.last.open();
    await waitForStatus('open');
    expect(actor.status().reconnectAttempts).toBe(0);

    connector.last.close(DisconnectReason.connectionReplaced, 'Connection Replaced');
    await waitForStatus('replaced');
    await sleep(QUIET_MS);
    expect(connector.sockets).toHaveLength(2);
    expect(actor.status().connection).toBe('replaced');
    // Another client holds the session legitimately: our session is kept for a deliberate restart.
    expect(await sessionLeft()).toEqual({ creds: true, keys: 3 });
  });

  it('401 marks the account logged_out, wipes creds and keys, and does not reconnect', async () => {
    await seedSession();
    await actor.start();
    connector.last.open();
    await waitForStatus('open');

    connector.last.close(DisconnectReason.loggedOut, 'Connection Failure');
    await waitForStatus('logged_out');
    await vi.waitFor(async () => expect(await sessionLeft()).toEqual({ creds: false, keys: 0 }), { timeout: 5_000 });
    await sleep(QUIET_MS);
    expect(connector.sockets).toHaveLength(1);
    expect(events.some((e) => e.type === 'connection' && e.status.connection === 'logged_out')).toBe(true);
  });

  it('403 marks the account forbidden and wipes the session, without reconnecting', async () => {
    await seedSession();
    await actor.start();
    connector.last.open();
    await waitForStatus('open');
    connector.last.close(DisconnectReason.forbidden, 'forbidden');
    await waitForStatus('forbidden');
    await vi.waitFor(async () => expect(await sessionLeft()).toEqual({ creds: false, keys: 0 }), { timeout: 5_000 });
    await sleep(QUIET_MS);
    expect(connector.sockets).toHaveLength(1);
  });

  it('515 (the pairing restart) reconnects at once and keeps the creds the pairing wrote', async () => {
    await seedSession();
    await actor.start();
    connector.last.emit('connection.update', { qr: '2@ref,noise,identity,adv' });
    await waitForStatus('qr');

    const closedAt = Date.now();
    connector.last.close(DisconnectReason.restartRequired, 'Stream Errored (restart required)');
    await waitForSockets(2);
    // Delay 0 (no backoff): well under the smallest backoff step (500 ms).
    expect(Date.now() - closedAt).toBeLessThan(400);
    expect(await sessionLeft()).toEqual({ creds: true, keys: 3 });

    connector.last.open();
    await waitForStatus('open');
    expect(actor.status().qr).toBeNull();
  });

  it('ignores late events from a socket it has replaced', async () => {
    await actor.start();
    connector.last.open();
    await waitForStatus('open');
    const first = connector.last;
    first.close(DisconnectReason.restartRequired);
    await waitForSockets(2);
    connector.last.open();
    await waitForStatus('open');

    first.close(DisconnectReason.loggedOut);
    await sleep(100);
    expect(await statusInStore()).toBe('open');
    expect(connector.sockets).toHaveLength(2);
  });

  it('a network error without a code reconnects with backoff', async () => {
    await actor.start();
    connector.last.open();
    await waitForStatus('open');
    const closedAt = Date.now();
    connector.last.close(undefined, 'ECONNRESET');
    await waitForStatus('reconnecting');
    await waitForSockets(2);
    // First backoff step: 1 s with equal jitter, so at least 500 ms.
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(450);
  });
});
