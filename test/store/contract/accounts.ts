import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../../src/domain/errors.js';
import type { Store } from '../../../src/store/port.js';
import { BASE_TIME, makeMessage } from '../../support/records.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/** Store contract, accounts: create, list, patch, history-sync counters, delete with and without purge. */
export function accountsContract(ctx: ContractContext): void {
  const { ACC, OTHER, PN, LID, PN_THREAD, msg, upsert, apply, receipt, mapping } = contractFixtures(() => ctx.store);

  describe('accounts', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });

    describe('accounts', () => {
      it('creates, reads and refuses a duplicate', async () => {
        const created = await store.createAccount({ id: ACC, status: 'created', connector: 'sim' });
        expect(created).toMatchObject({ id: ACC, status: 'created', connector: 'sim' });
        expect(typeof created.createdAt).toBe('number');
        expect(typeof created.updatedAt).toBe('number');
        expect(await store.getAccount(ACC)).toEqual(created);
        await expect(store.createAccount({ id: ACC })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.getAccount(OTHER)).toBeNull();
      });

      it('keeps a createdAt given by the caller', async () => {
        const created = await store.createAccount({ id: ACC, createdAt: 123, updatedAt: 456 });
        expect(created).toMatchObject({ createdAt: 123, updatedAt: 456 });
      });

      it('lists accounts by createdAt, then id', async () => {
        await store.createAccount({ id: 'b', createdAt: 20 });
        await store.createAccount({ id: 'c', createdAt: 10 });
        await store.createAccount({ id: 'a', createdAt: 20 });
        expect((await store.listAccounts()).map((a) => a.id)).toEqual(['c', 'a', 'b']);
      });

      it('patches field by field; null is stored as a value', async () => {
        await store.createAccount({ id: ACC, status: 'open', displayName: 'Shop', phoneNumber: '40712345678' });
        await store.patchAccount(ACC, { status: 'reconnecting', displayName: null, reconnectAttempts: 2 });
        const account = await store.getAccount(ACC);
        expect(account).toMatchObject({ id: ACC, status: 'reconnecting', phoneNumber: '40712345678', reconnectAttempts: 2 });
        expect(account).toHaveProperty('displayName', null);
        await store.patchAccount(ACC, {
          phoneNumber: undefined,
          lastBackfillResult: { threads: 1, messages: 2, errors: 0, threadResults: [] },
        });
        expect(await store.getAccount(ACC)).toMatchObject({
          phoneNumber: '40712345678',
          lastBackfillResult: { threads: 1, messages: 2, errors: 0, threadResults: [] },
        });
      });

      it('history-sync fields round-trip: nested maps with nulls, a later snapshot replaces the maps whole', async () => {
        await store.createAccount({ id: ACC });
        const first = {
          historySyncStatus: 'running',
          historySyncProgress: { RECENT: 40, FULL: null },
          historySyncChunks: { INITIAL_BOOTSTRAP: 1, PUSH_NAME: 1, RECENT: 3 },
          historySyncMessagesSaved: 1234,
          historySyncStartedAt: BASE_TIME,
          historySyncUpdatedAt: BASE_TIME + 5000,
          historySyncLastChunkAt: BASE_TIME + 5000,
          historySyncCompletedAt: null,
          historySyncStalled: false,
          historySyncStalledAt: null,
        } as const;
        await store.patchAccount(ACC, first);
        expect(await store.getAccount(ACC)).toMatchObject(first);
        await store.patchAccount(ACC, {
          historySyncStatus: 'waiting',
          historySyncChunks: {},
          historySyncProgress: { RECENT: null, FULL: null },
        });
        const after = await store.getAccount(ACC);
        expect(after?.historySyncChunks).toEqual({});
        expect(after?.historySyncProgress).toEqual({ RECENT: null, FULL: null });
      });

      it('patching a missing account is a NotFoundError', async () => {
        await expect(store.patchAccount('missing', { status: 'open' })).rejects.toBeInstanceOf(NotFoundError);
        expect(await store.getAccount('missing')).toBeNull();
      });

      it('recordHistorySync adds up saved counts', async () => {
        await store.createAccount({ id: ACC });
        const first = { saved: 3, skipped: 1, errors: 0, total: 4, dryRun: false };
        const second = { saved: 4, skipped: 0, errors: 1, total: 5, dryRun: false };
        await store.recordHistorySync(ACC, first, BASE_TIME);
        await store.recordHistorySync(ACC, second, BASE_TIME + 1);
        expect(await store.getAccount(ACC)).toMatchObject({
          historySyncCount: 7,
          lastHistorySyncAt: BASE_TIME + 1,
          lastHistorySyncResult: second,
        });
        await expect(store.recordHistorySync('missing', first, BASE_TIME)).rejects.toBeInstanceOf(NotFoundError);
      });

      async function seedAccountData() {
        await store.createAccount({ id: ACC });
        await store.createAccount({ id: OTHER });
        await store.writeAuthCreds(ACC, new Uint8Array([1]));
        await store.writeAuthKeys(ACC, [{ type: 'session', id: 's1', value: new Uint8Array([2]) }]);
        await apply(...upsert(msg({ id: 'A' })), mapping(LID, PN), receipt('LATER', 'read', BASE_TIME));
        await store.writeAuthCreds(OTHER, new Uint8Array([9]));
        await store.applyMutations(OTHER, upsert(makeMessage({ id: 'O', accountId: OTHER })));
      }

      it('deleteAccount without purge keeps threads and messages', async () => {
        await seedAccountData();
        await store.deleteAccount(ACC, { purge: false });
        expect(await store.getAccount(ACC)).toBeNull();
        expect(await store.readAuthCreds(ACC)).toBeNull();
        expect((await store.readAuthKeys(ACC, 'session', ['s1'])).size).toBe(0);
        expect(await store.listJidMappings(ACC)).toEqual([]);
        expect(await store.countMessages(ACC)).toBe(1);
        expect(await store.getThread(ACC, PN_THREAD)).not.toBeNull();
        // The receipt kept for LATER went with the account.
        await apply(...upsert(msg({ id: 'LATER', status: 'sent', direction: 'outbound' })));
        expect(await store.getMessage(ACC, 'LATER')).toMatchObject({ status: 'sent', readAt: null });
        // Nothing of the other account moved.
        expect(await store.getAccount(OTHER)).not.toBeNull();
        expect(await store.readAuthCreds(OTHER)).toEqual(new Uint8Array([9]));
        expect(await store.countMessages(OTHER)).toBe(1);
      });

      it('deleteAccount with purge removes threads and messages too', async () => {
        await seedAccountData();
        await store.deleteAccount(ACC, { purge: true });
        expect(await store.getAccount(ACC)).toBeNull();
        expect(await store.countMessages(ACC)).toBe(0);
        expect(await store.getMessage(ACC, 'A')).toBeNull();
        expect(await store.getThread(ACC, PN_THREAD)).toBeNull();
        expect((await store.listThreads(ACC, { limit: 10 })).items).toEqual([]);
        expect(await store.countMessages(OTHER)).toBe(1);
        expect((await store.listThreads(OTHER, { limit: 10 })).items).toHaveLength(1);
      });

      it('deleting a missing account is a no-op', async () => {
        await store.deleteAccount('missing', { purge: true });
        expect(await store.listAccounts()).toEqual([]);
      });
    });
  });
}
