import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../src/domain/errors.js';
import type { Store } from '../../../src/store/port.js';
import { BASE_TIME } from '../../support/records.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/** Store contract, leases: acquire, renew, release, expiry, per-name, fencing epochs. */
export function leasesContract(ctx: ContractContext): void {
  const { ACC } = contractFixtures(() => ctx.store);

  describe('leases', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });

    describe('leases', () => {
      const NOW = BASE_TIME;
      const TTL = 30_000;

      beforeEach(async () => {
        await store.createAccount({ id: ACC });
      });

      it('acquires a free lease and records it on the account', async () => {
        const lease = await store.acquireLease(ACC, 'autoBackfill', 'w1', TTL, NOW);
        expect(lease).toEqual({ accountId: ACC, name: 'autoBackfill', holder: 'w1', acquiredAt: NOW, until: NOW + TTL, epoch: 1 });
        expect(await store.getAccount(ACC)).toMatchObject({
          autoBackfillLeaseHolder: 'w1',
          autoBackfillLeaseUntil: NOW + TTL,
          autoBackfillLeaseAcquiredAt: NOW,
          autoBackfillLeaseEpoch: 1,
        });
      });

      it('refuses a second holder while valid, and lets the same holder re-acquire', async () => {
        await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        expect(await store.acquireLease(ACC, 'owner', 'w2', TTL, NOW + TTL - 1)).toBeNull();
        // Acquiring again (a restarted process with the same id) moves the epoch: the old one is fenced off.
        expect(await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW + 10)).toMatchObject({
          holder: 'w1',
          until: NOW + 10 + TTL,
          epoch: 2,
        });
        expect((await store.getAccount(ACC))?.ownerLeaseHolder).toBe('w1');
      });

      it('lets another holder take an expired lease; the old holder can then neither renew nor release it', async () => {
        const old = await store.acquireLease(ACC, 'recentSync', 'w1', TTL, NOW);
        const taken = await store.acquireLease(ACC, 'recentSync', 'w2', TTL, NOW + TTL);
        expect(taken).toMatchObject({ holder: 'w2', acquiredAt: NOW + TTL, epoch: old!.epoch + 1 });
        expect(await store.renewLease(old!, TTL, NOW + TTL + 1)).toBeNull();
        await store.releaseLease(old!);
        expect((await store.getAccount(ACC))?.recentSyncLeaseHolder).toBe('w2');
      });

      it('renews a held lease, even one that expired without being taken', async () => {
        const lease = await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        const renewed = await store.renewLease(lease!, TTL, NOW + 1000);
        expect(renewed).toEqual({ ...lease, until: NOW + 1000 + TTL });
        const late = await store.renewLease(renewed!, TTL, NOW + 10 * TTL);
        expect(late).toMatchObject({ holder: 'w1', until: NOW + 11 * TTL, acquiredAt: NOW, epoch: lease!.epoch });
        expect((await store.getAccount(ACC))?.ownerLeaseUntil).toBe(NOW + 11 * TTL);
      });

      it('releases only by its holder; a released lease cannot be renewed', async () => {
        const lease = await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        await store.releaseLease({ ...lease!, holder: 'intruder' });
        expect((await store.getAccount(ACC))?.ownerLeaseHolder).toBe('w1');
        await store.releaseLease(lease!);
        const account = await store.getAccount(ACC);
        // Released: free, but the epoch stays so that the next acquisition moves past it.
        expect(account).toMatchObject({ ownerLeaseHolder: null, ownerLeaseUntil: null, ownerLeaseAcquiredAt: null, ownerLeaseEpoch: 1 });
        expect(await store.renewLease(lease!, TTL, NOW + 1)).toBeNull();
        expect(await store.acquireLease(ACC, 'owner', 'w2', TTL, NOW + 2)).toMatchObject({ holder: 'w2', epoch: 2 });
      });

      it('keeps leases of different names apart', async () => {
        expect(await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW)).not.toBeNull();
        expect(await store.acquireLease(ACC, 'autoBackfill', 'w2', TTL, NOW)).not.toBeNull();
        expect(await store.acquireLease(ACC, 'recentSync', 'w3', TTL, NOW)).not.toBeNull();
        expect(await store.getAccount(ACC)).toMatchObject({
          ownerLeaseHolder: 'w1',
          autoBackfillLeaseHolder: 'w2',
          recentSyncLeaseHolder: 'w3',
        });
      });

      it('lease fields survive unrelated patches', async () => {
        await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        await store.patchAccount(ACC, { status: 'open' });
        expect(await store.acquireLease(ACC, 'owner', 'w2', TTL, NOW + 1)).toBeNull();
      });

      it('renew and release match the epoch too: an older acquisition by the same holder can do neither', async () => {
        const first = await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        const second = await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW + 1);
        expect(second!.epoch).toBe(first!.epoch + 1);
        expect(await store.renewLease(first!, TTL, NOW + 2)).toBeNull();
        await store.releaseLease(first!);
        expect(await store.getAccount(ACC)).toMatchObject({ ownerLeaseHolder: 'w1', ownerLeaseEpoch: second!.epoch });
        expect(await store.renewLease(second!, TTL, NOW + 3)).toMatchObject({ epoch: second!.epoch, until: NOW + 3 + TTL });
      });

      it('steal takes a valid lease from another holder, with a new epoch', async () => {
        const held = await store.acquireLease(ACC, 'owner', 'dead-process', TTL, NOW);
        expect(await store.acquireLease(ACC, 'owner', 'w2', TTL, NOW + 1)).toBeNull();
        const stolen = await store.acquireLease(ACC, 'owner', 'w2', TTL, NOW + 1, { steal: true });
        expect(stolen).toMatchObject({ holder: 'w2', epoch: held!.epoch + 1 });
        expect(await store.renewLease(held!, TTL, NOW + 2)).toBeNull();
      });

      it('epochs are per lease name', async () => {
        await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        expect(await store.acquireLease(ACC, 'recentSync', 'w1', TTL, NOW)).toMatchObject({ epoch: 1 });
        expect(await store.getAccount(ACC)).toMatchObject({ ownerLeaseEpoch: 2, recentSyncLeaseEpoch: 1 });
      });

      it('concurrent acquisitions: exactly one holder wins, with one epoch', async () => {
        const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((h) => store.acquireLease(ACC, 'owner', h, TTL, NOW)));
        const won = results.filter((r) => r !== null);
        expect(won).toHaveLength(1);
        expect(await store.getAccount(ACC)).toMatchObject({ ownerLeaseHolder: won[0]!.holder, ownerLeaseEpoch: won[0]!.epoch });
      });

      it('acquiring on a missing account is a NotFoundError', async () => {
        await expect(store.acquireLease('missing', 'owner', 'w1', TTL, NOW)).rejects.toBeInstanceOf(NotFoundError);
      });
    });
  });
}
