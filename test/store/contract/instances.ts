import { beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/domain/errors.js';
import type { InstanceRecord } from '../../../src/store/instances.js';
import type { Store } from '../../../src/store/port.js';
import { BASE_TIME } from '../../support/records.js';
import type { ContractContext } from './fixtures.js';

/** Store contract, the instance registry: heartbeats by instance id, listed in id order, deleted idempotently. */
export function instancesContract(ctx: ContractContext): void {
  const record = (instanceId: string, o: Partial<InstanceRecord> = {}): InstanceRecord => ({
    instanceId,
    url: `http://10.0.0.1:8080/${instanceId}`,
    mode: 'active',
    state: 'running',
    startedAt: BASE_TIME,
    heartbeatAt: BASE_TIME + 1000,
    accounts: [],
    maxAccounts: 0,
    ...o,
  });

  describe('instance registry', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });

    it('round-trips records and replaces them on each heartbeat', async () => {
      expect(await store.listInstances()).toEqual([]);
      await store.putInstance(record('wa-2', { mode: 'passive', url: null }));
      await store.putInstance(record('wa-1', { accounts: ['acc-1', 'acc-2'], maxAccounts: 50 }));
      expect(await store.listInstances()).toEqual([
        record('wa-1', { accounts: ['acc-1', 'acc-2'], maxAccounts: 50 }),
        record('wa-2', { mode: 'passive', url: null }),
      ]);
      await store.putInstance(record('wa-1', { heartbeatAt: BASE_TIME + 5000, state: 'draining', accounts: [] }));
      const [first] = await store.listInstances();
      expect(first).toEqual(record('wa-1', { heartbeatAt: BASE_TIME + 5000, state: 'draining', accounts: [] }));
    });

    it('is shared by every connection to the same data', async () => {
      await store.putInstance(record('wa-1'));
      const other = await ctx.reopen();
      expect((await other.listInstances()).map((r) => r.instanceId)).toEqual(['wa-1']);
      await other.deleteInstance('wa-1');
      expect(await store.listInstances()).toEqual([]);
      await other.deleteInstance('wa-1');
    });

    it('refuses malformed records and ids', async () => {
      await expect(store.putInstance(record('has/slash'))).rejects.toBeInstanceOf(BadRequestError);
      await expect(store.putInstance(record('wa-1', { mode: 'standby' as never }))).rejects.toBeInstanceOf(BadRequestError);
      await expect(store.putInstance(record('wa-1', { heartbeatAt: -1 }))).rejects.toBeInstanceOf(BadRequestError);
      await expect(store.deleteInstance('')).rejects.toBeInstanceOf(BadRequestError);
      expect(await store.listInstances()).toEqual([]);
    });
  });
}
