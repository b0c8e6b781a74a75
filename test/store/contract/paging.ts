import { beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/domain/errors.js';
import { threadIdOf } from '../../../src/domain/records.js';
import type { Store } from '../../../src/store/port.js';
import { BASE_TIME, makeMessage } from '../../support/records.js';
import { contractFixtures, collect, byKey, type ContractContext } from './fixtures.js';

/** Store contract, paging: keyset pagination of messages and threads, cursors. */
export function pagingContract(ctx: ContractContext): void {
  const { ACC, OTHER, PN, GROUP, PN_THREAD, msg, upsert, apply, name } = contractFixtures(() => ctx.store);

  describe('paging', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });

    describe('keyset pagination', () => {
      // 61 messages over 3 distinct timestamps: most page boundaries fall inside a run of equal times.
      const N = 61;
      const messages = Array.from({ length: N }, (_, i) =>
        msg({ id: `m${String((i * 37) % N).padStart(3, '0')}`, createdAt: BASE_TIME + (i % 3) * 1000 }),
      );
      const ascending = [...messages].sort(byKey((m) => [m.createdAt, m.id])).map((m) => m.id);

      async function seedMessages() {
        // Several batches in an arbitrary order: storage order must not matter.
        for (let i = 0; i < N; i += 20) await apply(...upsert(...messages.slice(i, i + 20).reverse()));
        // Noise in another thread and another account.
        await apply(...upsert(msg({ id: 'elsewhere', clientJid: GROUP, createdAt: BASE_TIME + 1000 })));
        await store.applyMutations(OTHER, upsert(makeMessage({ id: 'm000', accountId: OTHER, clientJid: PN })));
      }

      const pageCases = [1, 2, 7, 20, 60, 61, 62, 500].flatMap((limit) => (['asc', 'desc'] as const).map((order) => ({ limit, order })));
      it.each(pageCases)('messages: limit $limit, $order, visits every row exactly once', async ({ limit, order }) => {
        await seedMessages();
        const { items, pages } = await collect((cursor) => store.listMessages(ACC, PN_THREAD, { limit, cursor, order }), limit);
        const expected = order === 'asc' ? ascending : [...ascending].reverse();
        expect(items.map((m) => m.id)).toEqual(expected);
        expect(pages).toBe(Math.max(1, Math.ceil(N / limit)));
      });

      it('messages default to newest first', async () => {
        await seedMessages();
        const page = await store.listMessages(ACC, PN_THREAD, { limit: 5 });
        expect(page.items.map((m) => m.id)).toEqual([...ascending].reverse().slice(0, 5));
        expect(page.nextCursor).not.toBeNull();
      });

      it('rows written between pages neither shift nor repeat the remaining pages', async () => {
        await seedMessages();
        const first = await store.listMessages(ACC, PN_THREAD, { limit: 10, order: 'desc' });
        await apply(...upsert(msg({ id: 'zzz-newest', createdAt: BASE_TIME + 99_000 })));
        const rest = await collect(
          (cursor) => store.listMessages(ACC, PN_THREAD, { limit: 10, order: 'desc', cursor }),
          10,
          first.nextCursor,
        );
        expect([...first.items, ...rest.items].map((m) => m.id)).toEqual([...ascending].reverse());
      });

      it('an unknown thread or a thread of another account gives an empty page', async () => {
        await seedMessages();
        expect(await store.listMessages(ACC, threadIdOf(ACC, 'nobody@s.whatsapp.net'), { limit: 10 })).toEqual({
          items: [],
          nextCursor: null,
        });
        expect(await store.listMessages(ACC, threadIdOf(OTHER, PN), { limit: 10 })).toEqual({ items: [], nextCursor: null });
        expect(await store.listMessages(OTHER, PN_THREAD, { limit: 10 })).toEqual({ items: [], nextCursor: null });
      });

      const T = 23;
      const threadJids = Array.from({ length: T }, (_, i) => `4070000${String((i * 7) % T).padStart(4, '0')}@s.whatsapp.net`);
      async function seedThreads() {
        for (let i = 0; i < T; i++) {
          await apply(...upsert(msg({ id: `t${i}`, clientJid: threadJids[i]!, createdAt: BASE_TIME + (i % 4) * 1000 })));
        }
        await apply(name('unnamed-empty@s.whatsapp.net', 'No messages', 'pushName'));
      }
      const threadsAscending = threadJids
        .map((jid, i) => ({ id: threadIdOf(ACC, jid), at: BASE_TIME + (i % 4) * 1000 }))
        .sort(byKey((t) => [t.at, t.id]))
        .map((t) => t.id);

      const threadPageCases = [1, 4, 5, 22, 23, 50].flatMap((limit) => (['asc', 'desc'] as const).map((order) => ({ limit, order })));
      it.each(threadPageCases)('threads: limit $limit, $order, visits every thread exactly once', async ({ limit, order }) => {
        await seedThreads();
        const { items, pages } = await collect((cursor) => store.listThreads(ACC, { limit, cursor, order }), limit);
        expect(items.map((t) => t.id)).toEqual(order === 'asc' ? threadsAscending : [...threadsAscending].reverse());
        expect(pages).toBe(Math.max(1, Math.ceil(T / limit)));
      });

      it('threads default to newest first and belong to the account', async () => {
        await seedThreads();
        const page = await store.listThreads(ACC, { limit: 3 });
        expect(page.items.map((t) => t.id)).toEqual([...threadsAscending].reverse().slice(0, 3));
        expect((await store.listThreads(OTHER, { limit: 10 })).items).toEqual([]);
      });

      const badCursors = [
        'not a cursor!',
        Buffer.from('hello', 'utf8').toString('base64url'),
        Buffer.from('{"ts":1,"id":"x"}', 'utf8').toString('base64url'),
        Buffer.from('[1.5,"x"]', 'utf8').toString('base64url'),
        Buffer.from('["1","x"]', 'utf8').toString('base64url'),
        Buffer.from('[1,2]', 'utf8').toString('base64url'),
      ];
      it.each(badCursors)('a malformed cursor is a BadRequestError: %s', async (cursor) => {
        await seedMessages();
        await expect(store.listMessages(ACC, PN_THREAD, { limit: 5, cursor })).rejects.toBeInstanceOf(BadRequestError);
        await expect(store.listThreads(ACC, { limit: 5, cursor })).rejects.toBeInstanceOf(BadRequestError);
      });
    });
  });
}
