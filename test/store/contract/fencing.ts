import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError, NotFoundError } from '../../../src/domain/errors.js';
import type { Lease, LeaseFence, Store } from '../../../src/store/port.js';
import { BASE_TIME } from '../../support/records.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/**
 * Store contract, fencing: session writes (creds, signal keys, the history journal that lives among
 * them, clears) and fenced account patches carry the writer's owner lease; the store refuses them
 * with `LeaseLostError` once a newer epoch holds the account, in the same transaction as the write.
 */
export function fencingContract(ctx: ContractContext): void {
  const { ACC } = contractFixtures(() => ctx.store);
  const TTL = 30_000;
  const NOW = BASE_TIME;
  const fenceOf = (lease: Lease | null): LeaseFence => ({ holder: lease!.holder, epoch: lease!.epoch });
  const key = (id: string, value: number | null) => ({ type: 'session', id, value: value === null ? null : new Uint8Array([value]) });

  describe('fencing', () => {
    let store: Store;
    let old: LeaseFence;
    let current: LeaseFence;
    beforeEach(async () => {
      store = ctx.store;
      await store.createAccount({ id: ACC });
      old = fenceOf(await store.acquireLease(ACC, 'owner', 'i1', TTL, NOW));
      // i1 stops renewing; its lease expires and i2 takes the account over.
      current = fenceOf(await store.acquireLease(ACC, 'owner', 'i2', TTL, NOW + TTL));
    });

    it('the current owner writes creds, keys, clears and status under its fence', async () => {
      await store.writeAuthCreds(ACC, new Uint8Array([7]), current);
      await store.writeAuthKeys(ACC, [key('peer', 1)], current);
      expect(await store.readAuthCreds(ACC)).toEqual(new Uint8Array([7]));
      expect(await store.readAuthKeys(ACC, 'session', ['peer'])).toEqual(new Map([['peer', new Uint8Array([1])]]));
      await store.patchAccount(ACC, { status: 'open' }, [], current);
      expect((await store.getAccount(ACC))?.status).toBe('open');
      await store.clearAuthState(ACC, current);
      expect(await store.readAuthCreds(ACC)).toBeNull();
      expect(await store.readAuthKeys(ACC, 'session', ['peer'])).toEqual(new Map());
    });

    it('a superseded owner is refused, and nothing it sent is written', async () => {
      await store.writeAuthCreds(ACC, new Uint8Array([1]), current);
      await store.writeAuthKeys(ACC, [key('peer', 1)], current);
      await store.patchAccount(ACC, { status: 'open' }, [], current);
      await expect(store.writeAuthCreds(ACC, new Uint8Array([9]), old)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.writeAuthKeys(ACC, [key('peer', 9), key('other', 9)], old)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.clearAuthState(ACC, old)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.patchAccount(ACC, { status: 'replaced' }, [], old)).rejects.toMatchObject({ code: 'LEASE_LOST' });
      expect(await store.readAuthCreds(ACC)).toEqual(new Uint8Array([1]));
      expect(await store.readAuthKeys(ACC, 'session', ['peer', 'other'])).toEqual(new Map([['peer', new Uint8Array([1])]]));
      expect((await store.getAccount(ACC))?.status).toBe('open');
    });

    it('an expired or released lease still lets its own epoch write until someone newer acquires', async () => {
      const lease = await store.acquireLease(ACC, 'owner', 'i3', TTL, NOW + 5 * TTL);
      const mine = fenceOf(lease);
      await store.releaseLease(lease!);
      await store.writeAuthCreds(ACC, new Uint8Array([3]), mine);
      expect(await store.readAuthCreds(ACC)).toEqual(new Uint8Array([3]));
      await store.acquireLease(ACC, 'owner', 'i4', TTL, NOW + 6 * TTL);
      await expect(store.writeAuthCreds(ACC, new Uint8Array([4]), mine)).rejects.toBeInstanceOf(LeaseLostError);
    });

    it('unfenced writes are unconditional (tools, migrations)', async () => {
      await store.writeAuthCreds(ACC, new Uint8Array([5]));
      await store.writeAuthKeys(ACC, [key('peer', 5)]);
      expect(await store.readAuthCreds(ACC)).toEqual(new Uint8Array([5]));
    });

    it('a fenced write for a deleted account is refused', async () => {
      await store.deleteAccount(ACC, { purge: false });
      await expect(store.writeAuthCreds(ACC, new Uint8Array([1]), current)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.patchAccount(ACC, { status: 'open' })).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.readAuthCreds(ACC)).toBeNull();
    });

    it('a takeover racing a stream of fenced writes: every write that landed was made before the takeover', async () => {
      const writes = Array.from({ length: 12 }, (_, i) =>
        store.writeAuthKeys(ACC, [key(`k${i}`, i)], current).then(
          () => i,
          (err: unknown) => {
            expect(err).toBeInstanceOf(LeaseLostError);
            return null;
          },
        ),
      );
      const takeover = store.acquireLease(ACC, 'owner', 'i5', TTL, NOW + 3 * TTL);
      const [landed, next] = await Promise.all([Promise.all(writes), takeover]);
      expect(next).not.toBeNull();
      const stored = await store.readAuthKeys(
        ACC,
        'session',
        landed.map((_, i) => `k${i}`),
      );
      // What the store holds is exactly what it acknowledged; after the takeover nothing more lands.
      expect([...stored.keys()].sort()).toEqual(
        landed
          .filter((i): i is number => i !== null)
          .map((i) => `k${i}`)
          .sort(),
      );
      await expect(store.writeAuthKeys(ACC, [key('late', 1)], current)).rejects.toBeInstanceOf(LeaseLostError);
    });
  });
}
