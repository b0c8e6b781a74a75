import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import type { Lease } from '../../src/store/port.js';
import { OwnerLeases } from '../../src/supervisor/fleet/owner-leases.js';

/**
 * The owner-lease keeper against a store double whose answers the test decides: it renews while the
 * store answers, and when the store hangs or fails it stops the actor before the lease can expire at
 * the store (measured from when each renewal was sent), never after. Real timers, a short lease.
 */

type Mode = 'ok' | 'hang' | 'fail' | 'lost';

class LeaseStoreDouble {
  mode: Mode = 'ok';
  /** Until when the store would let anyone else take the lease, by the store's own reckoning. */
  until = 0;
  renewals = 0;
  released: Lease[] = [];
  acquireDelayMs = 0;
  async acquireLease(accountId: string, _name: string, holder: string, ttlMs: number, now: number): Promise<Lease | null> {
    if (this.acquireDelayMs > 0) await new Promise((r) => setTimeout(r, this.acquireDelayMs));
    this.until = Date.now() + ttlMs;
    return { accountId, name: 'owner', holder, acquiredAt: now, until: now + ttlMs, epoch: 1 };
  }
  async renewLease(lease: Lease, ttlMs: number, now: number): Promise<Lease | null> {
    if (this.mode === 'hang') return new Promise(() => undefined);
    if (this.mode === 'fail') throw new Error('UNAVAILABLE');
    if (this.mode === 'lost') return null;
    this.renewals++;
    this.until = Date.now() + ttlMs;
    return { ...lease, until: now + ttlMs };
  }
  async releaseLease(lease: Lease): Promise<void> {
    this.released.push(lease);
  }
}

const TTL = 1_200;
const logger = createLogger({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keepers: OwnerLeases[] = [];

function keeper(store: LeaseStoreDouble) {
  const events: Array<{ kind: 'expiring' | 'lost'; accountId: string; at: number; budgetMs: number }> = [];
  const k = new OwnerLeases({
    store: store as never,
    holder: 'wa-1',
    ttlMs: TTL,
    logger,
    onExpiring: (lease, budgetMs) => events.push({ kind: 'expiring', accountId: lease.accountId, at: Date.now(), budgetMs }),
    onLost: (lease) => events.push({ kind: 'lost', accountId: lease.accountId, at: Date.now(), budgetMs: 0 }),
  });
  keepers.push(k);
  k.start();
  return { k, events };
}

afterEach(() => {
  for (const k of keepers.splice(0)) k.stop();
});

describe('OwnerLeases', () => {
  it('renews from a quarter of the lease on, and keeps the lease as long as the store answers', async () => {
    const store = new LeaseStoreDouble();
    const { k, events } = keeper(store);
    await k.acquire('a');
    await sleep(3 * TTL);
    expect(events).toEqual([]);
    expect(store.renewals).toBeGreaterThanOrEqual(8);
    expect(k.has('a')).toBe(true);
    expect(k.fence('a')).toEqual({ holder: 'wa-1', epoch: 1 });
  });

  it.each([
    ['hangs', 'hang'],
    ['fails', 'fail'],
  ] as const)(
    'a store that %s: the actor is told to stop once, early enough to be gone before the lease expires at the store',
    async (_what, mode) => {
      const store = new LeaseStoreDouble();
      const { k, events } = keeper(store);
      await k.acquire('a');
      await sleep(TTL / 2);
      store.mode = mode;
      const expiresAt = store.until;
      await sleep(TTL * 1.5);
      expect(events).toHaveLength(1);
      const [e] = events;
      expect(e!.kind).toBe('expiring');
      // Stopped within its budget, which ends a safety margin before anyone else may take over.
      expect(e!.at + e!.budgetMs).toBeLessThanOrEqual(expiresAt - k.safetyMs + 20);
      expect(e!.budgetMs).toBeGreaterThan(0);
      expect(k.has('a')).toBe(false);
    },
  );

  it('a renewal that fails and then succeeds keeps the lease (retried at every pass)', async () => {
    const store = new LeaseStoreDouble();
    const { k, events } = keeper(store);
    await k.acquire('a');
    store.mode = 'fail';
    await sleep(TTL / 3);
    store.mode = 'ok';
    await sleep(TTL * 1.5);
    expect(events).toEqual([]);
    expect(k.has('a')).toBe(true);
  });

  it('a renewal that finds the lease taken over: stop at once', async () => {
    const store = new LeaseStoreDouble();
    const { k, events } = keeper(store);
    await k.acquire('a');
    store.mode = 'lost';
    await sleep(TTL / 2);
    expect(events.map((e) => e.kind)).toEqual(['lost']);
    expect(k.has('a')).toBe(false);
  });

  it('release hands the store the lease it holds (compare-and-release on holder and epoch) and forgets it', async () => {
    const store = new LeaseStoreDouble();
    const { k } = keeper(store);
    const lease = await k.acquire('a');
    await k.release('a');
    expect(store.released).toEqual([lease]);
    expect(k.has('a')).toBe(false);
  });

  it('an acquisition that answers too late counts as failed, and the lease it got after all is released', async () => {
    const store = new LeaseStoreDouble();
    store.acquireDelayMs = 300;
    const { k } = keeper(store);
    await expect(k.acquire('a', { timeoutMs: 50 })).rejects.toThrow(/did not answer/);
    await sleep(400);
    expect(k.has('a')).toBe(false);
    expect(store.released.map((l) => l.accountId)).toEqual(['a']);
  });
});
