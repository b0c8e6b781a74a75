import { beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/domain/errors.js';
import { threadIdOf } from '../../../src/domain/records.js';
import type { MessageScanKey, MessageScanOptions, ScannedMessage, Store } from '../../../src/store/port.js';
import { BASE_TIME, makeMessage } from '../../support/records.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/**
 * Store contract, scans: `scanMessages`, the export's read path. Every message of an account (or of
 * one thread, or from an instant on) exactly once, in (thread id, createdAt, id) order, whatever the
 * page size; another account's messages never.
 */
export function scanContract(ctx: ContractContext): void {
  const { ACC, OTHER, PN, LID, GROUP, upsert, apply, msg } = contractFixtures(() => ctx.store);

  async function scanAll(store: Store, accountId: string, opts: Omit<MessageScanOptions, 'after'>, start: MessageScanKey | null = null) {
    const items: ScannedMessage[] = [];
    let after = start;
    let pages = 0;
    do {
      const page = await store.scanMessages(accountId, { ...opts, after });
      pages++;
      expect(page.items.length).toBeLessThanOrEqual(opts.limit);
      if (page.next !== null) expect(page.items.length).toBe(opts.limit);
      items.push(...page.items);
      after = page.next;
      if (pages > 10_000) throw new Error('scan does not terminate');
    } while (after !== null);
    return { items, pages };
  }

  /** Byte order of ASCII ids, then time, then id: the order the port promises. */
  const order = (a: { threadId: string; ts: number; id: string }, b: { threadId: string; ts: number; id: string }): number =>
    a.threadId !== b.threadId ? (a.threadId < b.threadId ? -1 : 1) : a.ts !== b.ts ? a.ts - b.ts : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

  describe('scans (exports)', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });

    // Four threads, 3 distinct times per thread so page boundaries fall inside runs of equal times.
    const JIDS = [PN, GROUP, LID, '40799999999@s.whatsapp.net'];
    const PER_THREAD = [17, 1, 9, 24];
    const seeded = JIDS.flatMap((clientJid, t) =>
      Array.from({ length: PER_THREAD[t]! }, (_, i) =>
        msg({ id: `t${t}-m${String((i * 7) % PER_THREAD[t]!).padStart(2, '0')}`, clientJid, createdAt: BASE_TIME + (i % 3) * 1000 }),
      ),
    );
    const expected = seeded
      .map((m) => ({ threadId: threadIdOf(ACC, m.clientJid), ts: m.createdAt, id: m.id }))
      .sort(order)
      .map((k) => k.id);

    async function seed() {
      for (let i = 0; i < seeded.length; i += 13) await apply(...upsert(...seeded.slice(i, i + 13).reverse()));
      // Another account whose id starts with this one's, and one whose thread ids sort right after.
      for (const other of [OTHER, `${ACC}x`, `${ACC}_z`]) {
        await store.applyMutations(other, upsert(makeMessage({ id: `${other}-m`, accountId: other, clientJid: PN, createdAt: BASE_TIME })));
      }
    }

    it.each([1, 2, 5, 16, 17, 50, 51, 500])('the whole account, limit %i: every message once, in order', async (limit) => {
      await seed();
      const { items, pages } = await scanAll(store, ACC, { limit });
      expect(items.map((s) => s.message.id)).toEqual(expected);
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / limit)));
      for (const s of items) {
        expect(s.threadId).toBe(threadIdOf(ACC, s.message.clientJid));
        expect(s.message.accountId).toBe(ACC);
      }
    });

    it('returns the full message records', async () => {
      await seed();
      const { items } = await scanAll(store, ACC, { limit: 500 });
      const byId = new Map(seeded.map((m) => [m.id, m]));
      for (const s of items) {
        const stored = await store.getMessage(ACC, s.message.id, s.message.clientJid);
        expect(s.message).toEqual(stored);
        expect(s.message.body).toBe(byId.get(s.message.id)!.body);
      }
    });

    it('one thread, and since: only those, still in order', async () => {
      await seed();
      const thread = threadIdOf(ACC, JIDS[3]!);
      const one = await scanAll(store, ACC, { limit: 5, threadId: thread });
      expect(one.items.map((s) => s.message.id)).toEqual(expected.filter((id) => id.startsWith('t3-')));
      const since = BASE_TIME + 1000;
      const recent = await scanAll(store, ACC, { limit: 4, since });
      const wanted = seeded.filter((m) => m.createdAt >= since).map((m) => m.id);
      expect(recent.items.map((s) => s.message.id)).toEqual(expected.filter((id) => wanted.includes(id)));
      const both = await scanAll(store, ACC, { limit: 3, threadId: thread, since: BASE_TIME + 2000 });
      expect(both.items.map((s) => s.message.id)).toEqual(
        expected.filter((id) => id.startsWith('t3-') && seeded.find((m) => m.id === id)!.createdAt >= BASE_TIME + 2000),
      );
      expect((await store.scanMessages(ACC, { limit: 10, since: BASE_TIME + 10_000 })).items).toEqual([]);
    });

    it("another account's thread, an unknown thread or account: no rows", async () => {
      await seed();
      expect(await store.scanMessages(ACC, { limit: 10, threadId: threadIdOf(OTHER, PN) })).toEqual({ items: [], next: null });
      expect(await store.scanMessages(ACC, { limit: 10, threadId: threadIdOf(ACC, '1@s.whatsapp.net') })).toEqual({
        items: [],
        next: null,
      });
      expect(await store.scanMessages('nobody', { limit: 10 })).toEqual({ items: [], next: null });
      const other = await scanAll(store, OTHER, { limit: 10 });
      expect(other.items.map((s) => s.message.id)).toEqual([`${OTHER}-m`]);
    });

    it('messages written behind the position are not seen, those ahead are', async () => {
      await seed();
      const first = await store.scanMessages(ACC, { limit: 20 });
      const position = first.next!;
      await apply(
        ...upsert(
          msg({ id: 'late-behind', clientJid: PN, createdAt: BASE_TIME - 5000 }),
          msg({ id: 'late-ahead', clientJid: JIDS[3]!, createdAt: BASE_TIME + 99_000 }),
        ),
      );
      const rest = await scanAll(store, ACC, { limit: 20 }, position);
      const ids = [...first.items, ...rest.items].map((s) => s.message.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toContain('late-ahead');
      expect(ids.filter((id) => id !== 'late-ahead')).toEqual(expected.filter((id) => id !== 'late-behind'));
    });

    it('refuses a limit out of range', async () => {
      for (const limit of [0, 501, 1.5]) await expect(store.scanMessages(ACC, { limit })).rejects.toBeInstanceOf(BadRequestError);
    });
  });
}
