import { beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../../src/store/port.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/** Store contract, auth state: creds and signal keys per account. */
export function authStateContract(ctx: ContractContext): void {
  const { ACC, OTHER } = contractFixtures(() => ctx.store);

  describe('auth-state', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });

    describe('auth state', () => {
      it('round-trips creds', async () => {
        expect(await store.readAuthCreds(ACC)).toBeNull();
        await store.writeAuthCreds(ACC, new Uint8Array([1, 2, 3]));
        expect(await store.readAuthCreds(ACC)).toEqual(new Uint8Array([1, 2, 3]));
        await store.writeAuthCreds(ACC, new Uint8Array([4]));
        expect(await store.readAuthCreds(ACC)).toEqual(new Uint8Array([4]));
        expect(await store.readAuthCreds(OTHER)).toBeNull();
      });

      it('round-trips keys; null deletes; types and accounts are separate', async () => {
        await store.writeAuthKeys(ACC, [
          { type: 'pre-key', id: '1', value: new Uint8Array([1]) },
          { type: 'pre-key', id: '2', value: new Uint8Array([2]) },
          { type: 'session', id: '1', value: new Uint8Array([3]) },
        ]);
        await store.writeAuthKeys(OTHER, [{ type: 'pre-key', id: '1', value: new Uint8Array([9]) }]);
        expect(await store.readAuthKeys(ACC, 'pre-key', ['1', '2', '3'])).toEqual(
          new Map([
            ['1', new Uint8Array([1])],
            ['2', new Uint8Array([2])],
          ]),
        );
        await store.writeAuthKeys(ACC, [
          { type: 'pre-key', id: '1', value: null },
          { type: 'pre-key', id: '2', value: new Uint8Array([22]) },
        ]);
        expect(await store.readAuthKeys(ACC, 'pre-key', ['1', '2'])).toEqual(new Map([['2', new Uint8Array([22])]]));
        expect(await store.readAuthKeys(ACC, 'session', ['1'])).toEqual(new Map([['1', new Uint8Array([3])]]));
        expect(await store.readAuthKeys(OTHER, 'pre-key', ['1'])).toEqual(new Map([['1', new Uint8Array([9])]]));
        expect((await store.readAuthKeys(ACC, 'pre-key', [])).size).toBe(0);
      });

      it('clearAuthState removes creds and keys of that account only', async () => {
        await store.createAccount({ id: ACC });
        await store.writeAuthCreds(ACC, new Uint8Array([1]));
        await store.writeAuthKeys(ACC, [{ type: 'session', id: 'x', value: new Uint8Array([1]) }]);
        await store.writeAuthCreds(OTHER, new Uint8Array([2]));
        await store.clearAuthState(ACC);
        expect(await store.readAuthCreds(ACC)).toBeNull();
        expect((await store.readAuthKeys(ACC, 'session', ['x'])).size).toBe(0);
        expect(await store.readAuthCreds(OTHER)).toEqual(new Uint8Array([2]));
        expect(await store.getAccount(ACC)).not.toBeNull();
      });
    });
  });
}
