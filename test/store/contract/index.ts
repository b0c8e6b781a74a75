import { afterEach, beforeEach, describe } from 'vitest';
import type { Store } from '../../../src/store/port.js';
import { accountsContract } from './accounts.js';
import { authStateContract } from './auth-state.js';
import { changeLogContract } from './change-log.js';
import { fencingContract } from './fencing.js';
import type { ContractContext } from './fixtures.js';
import { instancesContract } from './instances.js';
import { leasesContract } from './leases.js';
import { lifecycleContract } from './lifecycle.js';
import { mediaQueueContract } from './media-queue.js';
import { messagesContract } from './messages.js';
import { pagingContract } from './paging.js';
import { scanContract } from './scan.js';
import { settingsContract } from './settings.js';
import { threadsContract } from './threads.js';
import { webhooksContract } from './webhooks.js';

/** One area of the port's behaviour, as a suite of tests over the store of the running test. */
export type ContractArea = (ctx: ContractContext) => void;

/** Every area, in the order they run. A backend runs all of them (BullMQ-style conformance suite). */
export const CONTRACT_AREAS: readonly ContractArea[] = [
  lifecycleContract,
  messagesContract,
  threadsContract,
  pagingContract,
  scanContract,
  accountsContract,
  authStateContract,
  leasesContract,
  fencingContract,
  instancesContract,
  settingsContract,
  mediaQueueContract,
  changeLogContract,
  webhooksContract,
];

/** What a backend gives the suite for each test. */
export interface ContractBackend {
  /** An empty store (not necessarily initialised: the suite calls `init()`). */
  store: Store;
  /** A second store on the same data (another instance, or the process after a restart), not initialised. */
  reopen: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

/**
 * The executable definition of the store port. Every backend runs this suite unchanged, so it talks
 * to the port only. The suite closes the store and every reopened one before calling `cleanup`.
 */
export function runStoreContract(name: string, makeStore: () => Promise<ContractBackend>): void {
  describe(`Store contract: ${name}`, () => {
    let current: ContractBackend | null = null;
    const reopened: Store[] = [];
    const ctx: ContractContext = {
      get store(): Store {
        if (!current) throw new Error('the contract store exists only while a test runs');
        return current.store;
      },
      async reopen(): Promise<Store> {
        if (!current) throw new Error('the contract store exists only while a test runs');
        const other = await current.reopen();
        reopened.push(other);
        await other.init();
        return other;
      },
    };

    beforeEach(async () => {
      current = await makeStore();
      await current.store.init();
    });
    afterEach(async () => {
      for (const other of reopened.splice(0)) await other.close();
      await current?.store.close();
      await current?.cleanup();
      current = null;
    });

    for (const area of CONTRACT_AREAS) area(ctx);
  });
}
