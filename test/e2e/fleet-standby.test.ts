import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimServer } from '../../src/connectors/sim/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { createFirestoreStore, type FirestoreStore } from '../../src/store/firestore/index.js';
import { waitFor } from '../support/e2e.js';
import { openFirestoreEmulator, type Connection, type EmulatorClient } from '../support/firestore-emulator.js';
import { testProjectId } from '../support/firestore-emulator-client.js';
import { firestoreInstanceEnv, spawnServer, type SpawnedServer } from '../support/spawn-server.js';

/**
 * INSTANCE_MODE=passive on Google's emulator: a standby serves the API, forwards commands and runs no
 * account while an active instance has room (`/ready` says `passive`); when the active instance dies it
 * takes the accounts within lease + tick (`/ready`: `active`), and when an active instance is back it
 * hands them over gradually and is a standby again.
 */
const LEASE_MS = 9_000;
const TICK_MS = 3_000;
const TOKEN = 'standby-token-0123456789abcdef';
const ACCOUNTS = ['sb-0', 'sb-1', 'sb-2', 'sb-3'];

describe('a passive standby', () => {
  let emulator: EmulatorClient;
  let admin: Connection;
  let store: FirestoreStore;
  let sim: SimServer;
  let projectId: string;
  const servers = new Map<string, SpawnedServer>();
  const dirs: string[] = [];

  async function start(id: string, mode: 'active' | 'passive'): Promise<SpawnedServer> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), `wasync-standby-${id}-`));
    dirs.push(dataDir);
    const server = await spawnServer({
      env: {
        ...firestoreInstanceEnv({ firestoreHost: emulator.host, projectId, instanceId: id, dataDir, token: TOKEN, simUrl: sim.url }),
        INSTANCE_MODE: mode,
        OWNER_LEASE_MS: String(LEASE_MS),
        FLEET_TICK_MS: String(TICK_MS),
        LOG_LEVEL: 'warn',
      },
      startTimeoutMs: 60_000,
    });
    servers.set(id, server);
    return server;
  }
  const ready = async (id: string) => (await (await fetch(`${servers.get(id)!.url}/ready`)).json()) as { mode: string };
  /** Holder of each account's valid owner lease, and who is connected to the sim server for it. */
  const placement = async () => {
    const now = Date.now();
    const stats = sim.allStats();
    return Object.fromEntries(
      (await store.listAccounts()).map((a) => [
        a.id,
        [(a.ownerLeaseUntil ?? 0) > now ? a.ownerLeaseHolder : null, stats[a.id]?.connectedInstance ?? null],
      ]),
    ) as Record<string, [string | null, string | null]>;
  };
  const allOn = (id: string) => async () => {
    const p = await placement();
    return ACCOUNTS.every((a) => p[a]?.[0] === id && p[a]?.[1] === id) ? p : undefined;
  };

  beforeAll(async () => {
    emulator = openFirestoreEmulator();
    projectId = testProjectId('wasync-standby');
    admin = emulator.connect(projectId);
    store = createFirestoreStore({ firestore: admin.firestore, batching: { jitterMs: 0 } });
    sim = new SimServer({ chats: 2, messagesPerChat: 1, logger: createLogger({ level: 'silent' }) });
    await sim.start();
    await Promise.all([start('wa-active', 'active'), start('wa-standby', 'passive')]);
  }, 90_000);

  afterAll(async () => {
    for (const s of servers.values()) await s.stop('SIGKILL', 10_000).catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    sim?.stop();
    await store?.close();
    await admin?.close();
    await emulator?.close();
  });

  it('runs nothing while an active instance has room, even for accounts created through it', async () => {
    // Both started together: the standby must have seen the active instance's heartbeat first (until
    // then, as far as it knows, no active instance can take an account, and it rightly would).
    await waitFor(
      'the standby to see the active instance alive',
      async () => {
        const res = await fetch(`${servers.get('wa-standby')!.url}/api/whatsapp/instances`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const fleet = (await res.json()) as { instances?: Array<{ instanceId: string; alive: boolean }> };
        return fleet.instances?.some((i) => i.instanceId === 'wa-active' && i.alive) ? true : undefined;
      },
      30_000,
      100,
    );
    // … in its own view of the registry, which its next tick reads (the API above reads the store).
    await new Promise((r) => setTimeout(r, TICK_MS + 500));
    for (const accountId of ACCOUNTS) {
      const res = await fetch(`${servers.get('wa-standby')!.url}/api/whatsapp/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ accountId }),
      });
      expect(res.status).toBe(201);
    }
    await waitFor('every account on the active instance', allOn('wa-active'), 60_000, 250);
    expect(await ready('wa-standby')).toMatchObject({ mode: 'passive' });
    expect(await ready('wa-active')).toMatchObject({ mode: 'active' });
    expect(ACCOUNTS.flatMap((a) => sim.connections(a).map((c) => c.instance))).not.toContain('wa-standby');
  }, 90_000);

  it('takes every account over within lease + tick when the active instance dies, and reports active', async () => {
    const killed = servers.get('wa-active')!;
    const killedAt = Date.now();
    killed.child.kill('SIGKILL');
    await killed.stop(null);
    servers.delete('wa-active');
    await waitFor('every account on the standby', allOn('wa-standby'), 60_000, 250);
    const acquired = (await store.listAccounts()).map((a) => (a.ownerLeaseAcquiredAt ?? 0) - killedAt);
    expect(Math.max(...acquired)).toBeLessThanOrEqual(LEASE_MS + TICK_MS + 1_500);
    expect(await ready('wa-standby')).toMatchObject({ mode: 'active' });
  }, 90_000);

  it('hands them back to an active instance that joins, and is a standby again', async () => {
    await start('wa-active-2', 'active');
    await waitFor('every account back on an active instance', allOn('wa-active-2'), 90_000, 250);
    await waitFor('the standby passive again', async () => ((await ready('wa-standby')).mode === 'passive' ? true : undefined));
    expect(Object.values(sim.allStats()).every((s) => s.maxConcurrent === 1)).toBe(true);
  }, 120_000);
});
