import { beforeEach, describe, expect, it } from 'vitest';
import { loggedMessage, type ChangeEvent } from '../../../src/domain/change-events.js';
import { NotFoundError } from '../../../src/domain/errors.js';
import { FROM_OLDEST, type ChangeBatch } from '../../../src/store/change-log.js';
import type { Store } from '../../../src/store/port.js';
import { BASE_TIME } from '../../support/records.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/**
 * Store contract, the change log (src/store/change-log.ts): the events each write logs in its own
 * transaction, per-account numbering without gaps, reading, pruning, and single-use keys.
 */
export function changeLogContract(ctx: ContractContext): void {
  const { ACC, OTHER, PN, LID, PN_THREAD, LID_THREAD, msg, upsert, apply, receipt, name, mapping } = contractFixtures(() => ctx.store);

  describe('change log', () => {
    let store: Store;
    beforeEach(async () => {
      store = ctx.store;
      await store.createAccount({ id: ACC });
      await store.createAccount({ id: OTHER });
    });

    async function batches(accountId = ACC): Promise<ChangeBatch[]> {
      const page = await store.readChanges(accountId, 0, 1000);
      if (page.status !== 'ok') throw new Error(`unexpected ${page.status}`);
      return page.batches;
    }
    const types = (b: ChangeBatch) => b.events.map((e) => e.type);

    it('logs what applyMutations changed, one numbered batch per call, with the message as stored', async () => {
      const a = msg({ id: 'A', createdAt: BASE_TIME, rawMessage: new Uint8Array([1, 2]) });
      const b = msg({ id: 'B', createdAt: BASE_TIME + 1 });
      await apply(...upsert(a, b));
      const [first] = await batches();
      await apply(receipt('A', 'read', BASE_TIME + 10));
      const log = await batches();
      expect(log.map((x) => x.seq)).toEqual([1, 2]);
      expect(log.every((x) => x.accountId === ACC && x.committedAt > 0)).toBe(true);
      expect(types(log[0]!)).toEqual(['message.created', 'message.created', 'thread.updated']);
      const created = first!.events[0] as Extract<ChangeEvent, { type: 'message.created' }>;
      expect(created.data).toEqual({ threadId: PN_THREAD, message: loggedMessage(a) });
      // Read later, a message event carries the message as committed (Firestore) or as it is now
      // (SQLite resolves it at read time), never older than the event.
      const later = log[0]!.events[0] as Extract<ChangeEvent, { type: 'message.created' }>;
      expect(['delivered', 'read']).toContain(later.data.message.status);
      expect(later.data.message.id).toBe('A');
      expect(created.data.message).not.toHaveProperty('rawMessage');
      expect(created.data.message).not.toHaveProperty('media');
      const thread = log[0]!.events[2] as Extract<ChangeEvent, { type: 'thread.updated' }>;
      expect(thread.data.thread).toMatchObject({ id: PN_THREAD, lastMessageId: 'B', lastMessageAt: BASE_TIME + 1 });
      expect(thread.data.changes).toEqual(['created']);
      expect(thread.data.mergedFrom).toBeNull();
      const updated = log[1]!.events[0] as Extract<ChangeEvent, { type: 'message.updated' }>;
      expect(log[1]!.events).toHaveLength(1);
      expect(updated.data.message).toMatchObject({ id: 'A', status: 'read', readAt: BASE_TIME + 10 });
      expect(updated.data.changes.sort()).toEqual(['deliveredAt', 'readAt', 'status']);
      expect(updated.data.threadId).toBe(PN_THREAD);
    });

    it('logs nothing for writes that change nothing (replays, receipts that do not move a status)', async () => {
      const a = msg({ id: 'A', status: 'read', readAt: BASE_TIME, deliveredAt: BASE_TIME });
      await apply(...upsert(a));
      await apply(...upsert(a));
      await apply(receipt('A', 'delivered', BASE_TIME + 5));
      await apply(name(PN, 'Ana', 'pushName'), name(PN, 'Ana', 'pushName'));
      await apply(name(PN, 'Ana', 'pushName'));
      const log = await batches();
      expect(log.map((b) => b.seq)).toEqual([1, 2]);
      expect(types(log[1]!)).toEqual(['thread.updated']);
      expect(await store.changeLogHead(ACC)).toBe(2);
    });

    it('one event per message per batch, with its final state; a receipt for a message not stored yet logs nothing', async () => {
      await apply(receipt('LATE', 'read', BASE_TIME + 1));
      expect(await batches()).toEqual([]);
      await apply(...upsert(msg({ id: 'NEW', status: 'sent', direction: 'outbound' })), receipt('NEW', 'delivered', BASE_TIME + 2));
      await apply(...upsert(msg({ id: 'LATE' })));
      const [first, second] = await batches();
      expect(types(first!)).toEqual(['message.created', 'thread.updated']);
      expect(first!.events[0]!.data).toMatchObject({ message: { id: 'NEW', status: 'delivered', deliveredAt: BASE_TIME + 2 } });
      expect(second!.events[0]).toMatchObject({ type: 'message.created', data: { message: { id: 'LATE', status: 'read' } } });
    });

    it('logs edits, revokes and merges that fill a stub', async () => {
      await apply(...upsert(msg({ id: 'E', body: 'first' }), msg({ id: 'S', body: '', createdAt: BASE_TIME - 10 })));
      await apply({ kind: 'edit', accountId: ACC, clientJid: PN, messageId: 'E', body: 'second', editedAt: BASE_TIME + 1 });
      await apply({ kind: 'revoke', accountId: ACC, clientJid: PN, messageId: 'E', revokedAt: BASE_TIME + 2 });
      await apply(...upsert(msg({ id: 'S', body: 'filled', createdAt: BASE_TIME - 10 })));
      const [, edit, revoke, fill] = await batches();
      expect(types(edit!)).toEqual(['message.updated', 'thread.updated']);
      expect(edit!.events[0]!.data).toMatchObject({ message: { body: 'second', editedAt: BASE_TIME + 1 }, changes: ['body', 'editedAt'] });
      expect(edit!.events[1]!.data).toMatchObject({ thread: { lastMessagePreview: 'second' }, changes: ['lastMessagePreview'] });
      expect(revoke!.events).toEqual([
        expect.objectContaining({ type: 'message.updated', data: expect.objectContaining({ changes: ['revokedAt'] }) }),
      ]);
      expect(fill!.events).toEqual([
        expect.objectContaining({ type: 'message.updated', data: expect.objectContaining({ changes: ['body'] }) }),
      ]);
    });

    it('a LID→PN merge names the thread merged from and the one it went into', async () => {
      await apply(...upsert(msg({ id: 'P1', clientJid: PN }), msg({ id: 'L1', clientJid: LID, createdAt: BASE_TIME + 5 })));
      await apply(mapping(LID, PN));
      const merge = (await batches()).at(-1)!;
      expect(merge.events).toEqual([
        {
          type: 'thread.updated',
          data: {
            thread: expect.objectContaining({ id: PN_THREAD, lidJid: LID, lastMessageId: 'L1' }),
            changes: expect.arrayContaining(['lidJid']),
            mergedFrom: LID_THREAD,
          },
        },
      ]);
      // In the same batch as the mapping, a message of the LID thread is logged under the thread it ended in.
      await apply(...upsert(msg({ id: 'L2', clientJid: '99999@lid' })), mapping('99999@lid', PN));
      const last = (await batches()).at(-1)!;
      expect(last.events[0]).toMatchObject({
        type: 'message.created',
        data: { threadId: PN_THREAD, message: { id: 'L2', clientJid: PN } },
      });
    });

    it('patchAccount logs account.updated for the fields clients follow, not for diagnostics, then the events given', async () => {
      await store.patchAccount(ACC, { lastRealtimeIngestAt: BASE_TIME, lastRealtimeError: null });
      await store.patchAccount(ACC, { autoBackfillLeaseHolder: 'x' });
      expect(await batches()).toEqual([]);
      await store.patchAccount(ACC, { status: 'open', statusReason: null, statusAt: BASE_TIME, lastRealtimeIngestAt: BASE_TIME });
      const extra: ChangeEvent = {
        type: 'backfill.completed',
        data: {
          reason: 'manual',
          kind: 'backfill',
          result: { threads: 1, messages: 2, errors: 0, threadResults: [] },
          completedAt: BASE_TIME,
        },
      };
      await store.patchAccount(ACC, { lastBackfillAt: BASE_TIME }, [extra]);
      const [status, backfill] = await batches();
      expect(status!.events).toEqual([
        { type: 'account.updated', data: { fields: { status: 'open', statusReason: null, statusAt: BASE_TIME } } },
      ]);
      expect(backfill!.events).toEqual([extra]);
      expect((await store.getAccount(ACC))?.lastBackfillAt).toBe(BASE_TIME);
    });

    it('recordHistorySync and appendChanges log the events given; an unknown account is refused and logs nothing', async () => {
      const progress: ChangeEvent = {
        type: 'history-sync.progress',
        data: {
          syncType: 'RECENT',
          progress: 40,
          status: 'chunk',
          explicit: null,
          chunk: { saved: 3, skipped: 1, errors: 0, total: 4, dryRun: false },
        },
      };
      await store.recordHistorySync(ACC, { saved: 3, skipped: 1, errors: 0, total: 4, dryRun: false }, BASE_TIME, [progress]);
      await store.appendChanges(ACC, [{ ...progress, data: { ...progress.data, status: 'complete', explicit: true, chunk: null } }]);
      await store.appendChanges(ACC, []);
      await expect(store.appendChanges('nobody', [progress])).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.patchAccount('nobody', { status: 'open' })).rejects.toBeInstanceOf(NotFoundError);
      expect((await batches()).map((b) => b.events[0]!.data)).toEqual([progress.data, expect.objectContaining({ status: 'complete' })]);
      expect(await store.changeLogHead('nobody')).toBe(0);
      expect((await store.getAccount(ACC))?.historySyncCount).toBe(3);
    });

    it('reads in pages, from a position or from the oldest kept; accounts never mix', async () => {
      for (let i = 0; i < 5; i++) await apply(...upsert(msg({ id: `M${i}`, createdAt: BASE_TIME + i })));
      await store.applyMutations(OTHER, upsert(msg({ id: 'O1', accountId: OTHER })));
      const page = await store.readChanges(ACC, 1, 2);
      expect(page.status === 'ok' && page.batches.map((b) => b.seq)).toEqual([2, 3]);
      const oldest = await store.readChanges(ACC, FROM_OLDEST, 10);
      expect(oldest.status === 'ok' && oldest.batches.map((b) => b.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(await store.readChanges(ACC, 5, 10)).toEqual({ status: 'ok', batches: [] });
      expect(await store.readChanges(ACC, 6, 10)).toEqual({ status: 'resync', reason: 'ahead' });
      const other = await batches(OTHER);
      expect(other.map((b) => [b.accountId, b.seq])).toEqual([[OTHER, 1]]);
      expect(await store.changeLogHeads()).toEqual(
        new Map([
          [ACC, 5],
          [OTHER, 1],
        ]),
      );
      await expect(store.readChanges(ACC, -1, 10)).rejects.toThrow();
      await expect(store.readChanges(ACC, 0, 0)).rejects.toThrow();
    });

    it('prunes batches older than the cutoff but each account’s last; a position in the pruned part reads as resync', async () => {
      for (let i = 0; i < 3; i++) await apply(...upsert(msg({ id: `M${i}` })));
      const before = await store.changeLogEpoch();
      expect(await store.pruneChanges(Date.now() + 60_000)).toBe(2);
      expect(await store.readChanges(ACC, 0, 10)).toEqual({ status: 'resync', reason: 'pruned' });
      expect(await store.readChanges(ACC, 1, 10)).toEqual({ status: 'resync', reason: 'pruned' });
      const atHead = await store.readChanges(ACC, 2, 10);
      expect(atHead.status === 'ok' && atHead.batches.map((b) => b.seq)).toEqual([3]);
      expect(await store.readChanges(ACC, 3, 10)).toEqual({ status: 'ok', batches: [] });
      const oldest = await store.readChanges(ACC, FROM_OLDEST, 10);
      expect(oldest.status === 'ok' && oldest.batches.map((b) => b.seq)).toEqual([3]);
      await apply(...upsert(msg({ id: 'M9' })));
      expect(await store.changeLogHead(ACC)).toBe(4);
      expect(await store.pruneChanges(0)).toBe(0);
      expect(await store.changeLogEpoch()).toBe(before);
    });

    it('a purge deletes the account’s log; its numbering goes on, so an old position reads as resync', async () => {
      await apply(...upsert(msg({ id: 'A' })));
      await apply(...upsert(msg({ id: 'B' })));
      await store.deleteAccount(ACC, { purge: false });
      expect((await store.readChanges(ACC, 0, 10)).status).toBe('ok');
      await store.createAccount({ id: ACC });
      await store.deleteAccount(ACC, { purge: true });
      await store.createAccount({ id: ACC });
      await apply(...upsert(msg({ id: 'C' })));
      expect(await store.changeLogHead(ACC)).toBe(3);
      expect(await store.readChanges(ACC, 1, 10)).toEqual({ status: 'resync', reason: 'pruned' });
      const head = await store.readChanges(ACC, 2, 10);
      expect(head.status === 'ok' && head.batches.map((b) => [b.seq, b.events[0]?.type])).toEqual([[3, 'message.created']]);
    });

    it('is shared and numbered without gaps when two stores write one account at once', async () => {
      const other = await ctx.reopen();
      expect(await other.changeLogEpoch()).toBe(await store.changeLogEpoch());
      const writes: Array<Promise<unknown>> = [];
      for (let i = 0; i < 12; i++) {
        const s = i % 2 === 0 ? store : other;
        writes.push(s.applyMutations(ACC, upsert(msg({ id: `C${i}` }))));
        writes.push(s.patchAccount(ACC, { status: i % 2 === 0 ? 'open' : 'reconnecting' }));
      }
      await Promise.all(writes);
      const log = await batches();
      expect(log.map((b) => b.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      const created = log.flatMap((b) => b.events).filter((e) => e.type === 'message.created');
      expect(created.map((e) => (e.data as { message: { id: string } }).message.id).sort()).toEqual(
        Array.from({ length: 12 }, (_, i) => `C${i}`).sort(),
      );
      const seen = await other.readChanges(ACC, 0, 1000);
      expect(seen.status === 'ok' && seen.batches.map((b) => b.seq)).toEqual(log.map((b) => b.seq));
    });

    it('a reader tailing while three stores write never meets a gap: a missing number means pruned, never "not yet"', async () => {
      const writers = [store, await ctx.reopen(), await ctx.reopen()];
      const reader = await ctx.reopen();
      let done = false;
      const writing = Promise.all(
        writers.map(async (s, w) => {
          for (let i = 0; i < 8; i++) await s.applyMutations(ACC, upsert(msg({ id: `W${w}_${i}` })));
        }),
      ).finally(() => {
        done = true;
      });
      const seen: number[] = [];
      let after = 0;
      try {
        for (;;) {
          const finished = done;
          const page = await reader.readChanges(ACC, after, 5);
          if (page.status !== 'ok') throw new Error(`the tail met ${page.reason} at ${after}`);
          for (const b of page.batches) seen.push(b.seq);
          after = seen.at(-1) ?? after;
          if (finished && page.batches.length === 0) break;
        }
      } finally {
        await writing;
      }
      expect(seen).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    });

    it('announces its own commits that logged something, after they committed', async () => {
      const seen: Array<{ ids: readonly string[]; head: number }> = [];
      const pending: Array<Promise<void>> = [];
      const off = store.onChangesCommitted((ids) => {
        pending.push(store.changeLogHead(ids[0]!).then((head) => void seen.push({ ids, head })));
      });
      await apply(...upsert(msg({ id: 'A' })));
      await store.patchAccount(ACC, { lastRealtimeIngestAt: BASE_TIME });
      await store.patchAccount(ACC, { status: 'open' });
      off();
      await apply(...upsert(msg({ id: 'B' })));
      await Promise.all(pending);
      expect(seen).toEqual([
        { ids: [ACC], head: 1 },
        { ids: [ACC], head: 2 },
      ]);
    });

    it('single-use keys: true once, false afterwards, on every store sharing the data', async () => {
      const other = await ctx.reopen();
      const until = Date.now() + 60_000;
      expect(await store.useOnce('ticket:abc', until)).toBe(true);
      expect(await store.useOnce('ticket:abc', until)).toBe(false);
      expect(await other.useOnce('ticket:abc', until)).toBe(false);
      expect(await other.useOnce('ticket:def', until)).toBe(true);
      await expect(store.useOnce('bad key/', until)).rejects.toThrow();
    });
  });
}
