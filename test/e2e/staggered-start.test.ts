import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActorEvent } from '../../src/account-actor/protocol.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { startTestApp, waitFor } from '../support/e2e.js';

/**
 * Start-up with stored accounts: the real supervisor and worker-thread actors on the simulated phone,
 * started a bounded number at a time (ACTOR_START_CONCURRENCY) rather than all at once.
 */
describe('staggered start of stored accounts', () => {
  it('starts one account at a time with ACTOR_START_CONCURRENCY=1: the next only once the previous is open', async () => {
    const ids = ['acc_a', 'acc_b', 'acc_c', 'acc_d'];
    const seedAccounts = async (dataDir: string): Promise<void> => {
      const seed = openSqliteStore({ file: path.join(dataDir, 'wasync.db') });
      await seed.init();
      for (const [i, id] of ids.entries()) await seed.createAccount({ id, createdAt: 1_000 + i, connector: 'sim', status: 'open' });
      await seed.close();
    };
    const { app, close } = await startTestApp(
      {
        WA_SIM_CHATS: '2',
        WA_SIM_MESSAGES_PER_CHAT: '5',
        ACTOR_START_CONCURRENCY: '1',
        ACTOR_START_JITTER_MS: '20',
        // However slow this machine is, a start keeps its slot until it opens: the order below is exact.
        ACTOR_START_TIMEOUT_MS: '0',
      },
      seedAccounts,
    );
    const timeline: Array<{ id: string; connection: string }> = [];
    app.accounts.on('actor-event', (e: ActorEvent) => {
      if (e.type === 'connection') timeline.push({ id: e.accountId, connection: e.status.connection });
    });
    try {
      // Right after start-up, accounts waiting for their turn already read `starting`, not `stopped`.
      const early = ids.map((id) => app.accounts.runtimeOf(id)?.actor);
      expect(early.every((a) => a === 'starting' || a === 'running')).toBe(true);
      expect(early.filter((a) => a === 'running').length).toBeLessThanOrEqual(1);

      await waitFor(
        'every account open',
        async () => (ids.every((id) => app.accounts.runtimeOf(id)?.connection === 'open') ? true : undefined),
        90_000,
        100,
      );
      await expect(app.accounts.startup).resolves.toEqual({ started: 4, timedOut: 0 });

      // Each account's first event comes after the previous account's `open`: never two starting at once.
      const firstSeen = ids.map((id) => timeline.findIndex((t) => t.id === id));
      const opened = ids.map((id) => timeline.findIndex((t) => t.id === id && t.connection === 'open'));
      expect(firstSeen.every((i) => i >= 0)).toBe(true);
      const order = [...ids].sort((a, b) => firstSeen[ids.indexOf(a)]! - firstSeen[ids.indexOf(b)]!);
      for (let k = 1; k < order.length; k++) {
        const prev = ids.indexOf(order[k - 1]!);
        const cur = ids.indexOf(order[k]!);
        expect(firstSeen[cur], `${order[k]} started before ${order[k - 1]} was open`).toBeGreaterThan(opened[prev]!);
      }
    } finally {
      await close();
    }
  }, 120_000);
});
