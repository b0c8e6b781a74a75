import { beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError, ConflictError } from '../../../src/domain/errors.js';
import type { Store } from '../../../src/store/port.js';
import type { WebhookAttempt } from '../../../src/store/webhooks.js';
import { BASE_TIME, makeWebhookEndpoint } from '../../support/records.js';
import type { ContractContext } from './fixtures.js';

/** Store contract, webhook endpoints (src/store/webhooks.ts): records, delivery state and the dispatch lease. */
export function webhooksContract(ctx: ContractContext): void {
  const endpoint = makeWebhookEndpoint;

  describe('webhooks', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });

    it('creates, reads, lists oldest first and deletes endpoints; a second create of an id conflicts', async () => {
      const a = endpoint({ id: 'wh_a', accountId: 'acc-1', events: ['message.created', 'message.updated'], description: 'inbox' });
      const b = endpoint({ id: 'wh_b', createdAt: BASE_TIME - 10, cursor: { 'acc-1': 3 * 65536 + 65535, 'acc.2': 7 } });
      await store.createWebhook(a);
      await store.createWebhook(b);
      await expect(store.createWebhook(a)).rejects.toBeInstanceOf(ConflictError);
      expect(await store.getWebhook('wh_a')).toEqual(a);
      expect(await store.listWebhooks()).toEqual([b, a]);
      expect(await store.getWebhook('nope')).toBeNull();
      expect(await store.deleteWebhook('wh_a')).toBe(true);
      expect(await store.deleteWebhook('wh_a')).toBe(false);
      expect((await store.listWebhooks()).map((e) => e.id)).toEqual(['wh_b']);
      await expect(store.createWebhook(endpoint({ id: 'bad/id' }))).rejects.toBeInstanceOf(BadRequestError);
    });

    it('updates field by field; the guarded form needs the lease', async () => {
      await store.createWebhook(endpoint());
      const failure: WebhookAttempt = {
        eventId: 'evt_1',
        deliveryId: 'dlv_1',
        accountId: 'acc-1',
        event: 'message.created',
        attempts: 1,
        firstAttemptAt: BASE_TIME,
        lastAttemptAt: BASE_TIME,
        lastStatus: 410,
        lastError: 'HTTP 410',
        nextAttemptAt: null,
      };
      const updated = await store.updateWebhook('wh_1', { state: 'failed', failure, cursor: { 'acc-1': 9 } }, { now: BASE_TIME + 5 });
      expect(updated).toMatchObject({ state: 'failed', failure, cursor: { 'acc-1': 9 }, updatedAt: BASE_TIME + 5, url: endpoint().url });
      expect(await store.getWebhook('wh_1')).toEqual(updated);
      expect(await store.updateWebhook('nope', { state: 'active' }, { now: BASE_TIME })).toBeNull();
      // Not the holder: nothing written.
      expect(await store.updateWebhook('wh_1', { delivered: 5 }, { holder: 'i1', now: BASE_TIME })).toBeNull();
      expect((await store.getWebhook('wh_1'))?.delivered).toBe(0);
      expect(await store.acquireWebhookLease('wh_1', 'i1', 1000, BASE_TIME)).toBe(true);
      expect(await store.updateWebhook('wh_1', { delivered: 5, retry: null }, { holder: 'i1', now: BASE_TIME + 1 })).toMatchObject({
        delivered: 5,
      });
      // Expired: the holder may no longer write.
      expect(await store.updateWebhook('wh_1', { delivered: 6 }, { holder: 'i1', now: BASE_TIME + 1000 })).toBeNull();
      // A revision guard: only while the endpoint is at the revision the writer loaded.
      expect(await store.updateWebhook('wh_1', { revision: 1, cursor: {} }, { revision: 0, now: BASE_TIME + 2 })).toMatchObject({
        revision: 1,
      });
      expect(await store.updateWebhook('wh_1', { cursor: { 'acc-1': 1 } }, { revision: 0, now: BASE_TIME + 3 })).toBeNull();
      expect((await store.getWebhook('wh_1'))?.cursor).toEqual({});
    });

    it('one instance holds an endpoint’s lease at a time; it renews, releases, and an expired one is taken over', async () => {
      await store.createWebhook(endpoint());
      const other = await ctx.reopen();
      expect(await store.acquireWebhookLease('wh_1', 'i1', 1000, BASE_TIME)).toBe(true);
      expect(await other.acquireWebhookLease('wh_1', 'i2', 1000, BASE_TIME + 1)).toBe(false);
      expect(await store.acquireWebhookLease('wh_1', 'i1', 1000, BASE_TIME + 500)).toBe(true);
      expect(await other.acquireWebhookLease('wh_1', 'i2', 1000, BASE_TIME + 1200)).toBe(false);
      expect(await other.acquireWebhookLease('wh_1', 'i2', 1000, BASE_TIME + 1500)).toBe(true);
      await store.releaseWebhookLease('wh_1', 'i1');
      expect((await store.getWebhook('wh_1'))?.leaseHolder).toBe('i2');
      await other.releaseWebhookLease('wh_1', 'i2');
      expect(await store.getWebhook('wh_1')).toMatchObject({ leaseHolder: null, leaseUntil: null });
      expect(await store.acquireWebhookLease('nope', 'i1', 1000, BASE_TIME)).toBe(false);
    });

    it('concurrent acquires of a free lease: exactly one wins', async () => {
      await store.createWebhook(endpoint());
      const stores = [store, await ctx.reopen(), await ctx.reopen()];
      const wins = await Promise.all(stores.map((s, i) => s.acquireWebhookLease('wh_1', `i${i}`, 10_000, BASE_TIME)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });
  });
}
