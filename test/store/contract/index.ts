import { afterEach, beforeEach, describe } from 'vitest';
import type { Store } from '../../../src/store/port.js';
import { accountsContract } from './accounts.js';
import { authStateContract } from './auth-state.js';
import type { ContractContext } from './fixtures.js';
import { leasesContract } from './leases.js';
import { lifecycleContract } from './lifecycle.js';
import { messagesContract } from './messages.js';
import { pagingContract } from './paging.js';
import { threadsContract } from './threads.js';

/** One area of the port's behaviour, as a suite of tests over the store of the running test. */
export type ContractArea = (ctx: ContractContext) => void;

/** Every area, in the order they run. A backend runs all of them (BullMQ-style conformance suite). */
export const CONTRACT_AREAS: readonly ContractArea[] = [
  lifecycleContract,
  messagesContract,
  threadsContract,
  pagingContract,
  accountsContract,
  authStateContract,
  leasesContract,
];

/**
 * The executable definition of the store port. Every backend runs this suite unchanged, so it talks
 * to the port only. `makeStore` must return an empty store (not necessarily initialised: the suite
 * calls `init()`); the suite closes it before calling `cleanup`.
 */
export function runStoreContract(name: string, makeStore: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`Store contract: ${name}`, () => {
    let current: Store | null = null;
    let cleanup: () => Promise<void> = async () => undefined;
    const ctx: ContractContext = {
      get store(): Store {
        if (!current) throw new Error('the contract store exists only while a test runs');
        return current;
      },
    };

    beforeEach(async () => {
      const made = await makeStore();
      current = made.store;
      cleanup = made.cleanup;
      await current.init();
    });
    afterEach(async () => {
      await current?.close();
      current = null;
      await cleanup();
    });

    for (const area of CONTRACT_AREAS) area(ctx);
  });
}
