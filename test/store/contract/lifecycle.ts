import { beforeEach, describe, expect, it } from 'vitest';
import { WasyncError } from '../../../src/domain/errors.js';
import type { Store } from '../../../src/store/port.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/** Store contract, lifecycle: init, health, close. */
export function lifecycleContract(ctx: ContractContext): void {
  const { ACC, msg, upsert, apply } = contractFixtures(() => ctx.store);

  describe('lifecycle', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });

    describe('lifecycle', () => {
      it('init is idempotent and keeps data', async () => {
        await apply(...upsert(msg({ id: 'A' })));
        await store.init();
        expect(await store.countMessages(ACC)).toBe(1);
      });

      it('reports health', async () => {
        const health = await store.health();
        expect(health.status).toBe('ok');
        expect(health.backend).toBe(store.backend);
        expect(health.latencyMs).toBeGreaterThanOrEqual(0);
      });

      it('rejects calls after close with STORE_CLOSED', async () => {
        await store.close();
        const err = await store.getMessage(ACC, 'A').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WasyncError);
        expect((err as WasyncError).code).toBe('STORE_CLOSED');
        await expect(apply(...upsert(msg()))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      });
    });
  });
}
