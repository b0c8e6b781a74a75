import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AccountActor } from '../../src/account-actor/account-actor.js';
import type { ActorEvent } from '../../src/account-actor/protocol.js';
import { loadConfig } from '../../src/config/index.js';
import type { LeaseFence, Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { ConnectorDouble, SocketDouble } from '../support/socket-double.js';

/**
 * The actor as one owner of a fleet (several instances on one store): it runs under its owner lease's
 * fence. A 440 while another instance holds the lease is that owner connecting: step aside quietly,
 * no `replaced` on the account. A 440 while the lease is still ours is a client outside the fleet:
 * `replaced`, as with one process. Once superseded, its status and session writes are refused.
 */
const ACCOUNT = 'account_fleet_actor';
const TTL = 30_000;
const logger = pino({ level: 'silent' });
const QUIET_MS = 1_300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AccountActor under an owner lease', () => {
  let dir: string;
  let store: Store;
  let connector: ConnectorDouble<SocketDouble>;
  let actor: AccountActor;
  let events: ActorEvent[];
  let fence: LeaseFence;

  const account = () => store.getAccount(ACCOUNT);
  const waitForStatus = (status: string) =>
    vi.waitFor(async () => expect((await account())?.status).toBe(status), { timeout: 5_000, interval: 10 });
  const leaseLost = () => events.filter((e) => e.type === 'lease-lost');
  /** Another instance takes the account over (our lease expired while we were away). */
  const takeover = async () => (await store.acquireLease(ACCOUNT, 'owner', 'wa-2', TTL, Date.now() + 2 * TTL))!;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-fleet-actor-'));
    store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: ACCOUNT });
    const lease = (await store.acquireLease(ACCOUNT, 'owner', 'wa-1', TTL, Date.now()))!;
    fence = { holder: lease.holder, epoch: lease.epoch };
    const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', WA_CONNECTOR: 'sim', BATCH_FLUSH_MS: '5' });
    connector = new ConnectorDouble('sim', () => new SocketDouble());
    events = [];
    actor = new AccountActor({ accountId: ACCOUNT, store, connector, config, logger, emit: (e) => events.push(e), fence });
    await actor.start();
    connector.last.open();
    await waitForStatus('open');
  });
  afterEach(async () => {
    await actor.stop({ logout: false, timeoutMs: 1_000 }).catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('440 while another instance holds the lease: steps aside, writes no status, does not reconnect', async () => {
    await takeover();
    // The new owner writes its own status as it connects.
    await store.patchAccount(ACCOUNT, { status: 'connecting' });
    connector.last.close(DisconnectReason.connectionReplaced, 'Stream Errored (conflict)');
    await vi.waitFor(() => expect(leaseLost()).toHaveLength(1), { timeout: 5_000, interval: 10 });
    expect((leaseLost()[0] as { reason: string }).reason).toMatch(/instance wa-2 holds its owner lease \(epoch 2, ours 1\)/);
    await sleep(QUIET_MS);
    expect((await account())?.status).toBe('connecting');
    expect(connector.sockets).toHaveLength(1);
    // Stopping it afterwards writes nothing either.
    await actor.stop({ logout: false, timeoutMs: 1_000 });
    expect((await account())?.status).toBe('connecting');
  });

  it('440 while the lease is still ours: a client outside the fleet took the session, `replaced` as with one process', async () => {
    connector.last.close(DisconnectReason.connectionReplaced, 'Stream Errored (conflict)');
    await waitForStatus('replaced');
    expect(leaseLost()).toEqual([]);
    await sleep(QUIET_MS);
    expect(connector.sockets).toHaveLength(1);
  });

  it('superseded while connected: its next status write is refused, and it steps aside', async () => {
    await takeover();
    await store.patchAccount(ACCOUNT, { status: 'open', statusReason: null });
    connector.last.close(DisconnectReason.connectionLost, 'Connection Lost');
    await vi.waitFor(() => expect(leaseLost()).toHaveLength(1), { timeout: 5_000, interval: 10 });
    expect((leaseLost()[0] as { reason: string }).reason).toMatch(/status write was refused/);
    await sleep(QUIET_MS);
    // Its `reconnecting` never landed, and it did not reconnect.
    expect((await account())?.status).toBe('open');
    expect(connector.sockets).toHaveLength(1);
  });

  it('its session writes go through its fence: refused once superseded', async () => {
    const session = connector.contexts[0]!.store;
    await session.writeAuthCreds(ACCOUNT, Buffer.from('mine'));
    expect(Buffer.from((await store.readAuthCreds(ACCOUNT))!).toString()).toBe('mine');
    await takeover();
    await expect(session.writeAuthKeys(ACCOUNT, [{ type: 'session', id: 'x', value: Buffer.from('late') }])).rejects.toMatchObject({
      code: 'LEASE_LOST',
    });
    await vi.waitFor(() => expect(leaseLost()).toHaveLength(1), { timeout: 5_000, interval: 10 });
    expect((await store.readAuthKeys(ACCOUNT, 'session', ['x'])).size).toBe(0);
  });

  it('a handover stop flushes and leaves the status to the next owner', async () => {
    await actor.stop({ logout: false, timeoutMs: 1_000, handover: true });
    expect((await account())?.status).toBe('open');
    expect(actor.status().connection).toBe('stopped');
  });
});
