import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError, ConflictError, NotFoundError, WasyncError } from '../../src/domain/errors.js';
import type { Mutation } from '../../src/domain/mutations.js';
import {
  threadIdOf,
  type DisplayNameSource,
  type MessageRecord,
  type MessageStatus,
} from '../../src/domain/records.js';
import type { Page, SortOrder, Store } from '../../src/store/port.js';
import { BASE_TIME, makeMessage } from '../support/records.js';

/**
 * The executable definition of the store port. Every backend runs this suite unchanged, so it talks
 * to the port only. `makeStore` must return an empty store (not necessarily initialised: the suite
 * calls `init()`); the suite closes it before calling `cleanup`.
 */
export function runStoreContract(
  name: string,
  makeStore: () => Promise<{ store: Store; cleanup: () => Promise<void> }>,
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
      await store.init();
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    const ACC = 'acc-1';
    const OTHER = 'acc-2';
    const PN = '40712345678@s.whatsapp.net';
    const LID = '178294512345678@lid';
    const GROUP = '120363012345678901@g.us';
    const PN_THREAD = threadIdOf(ACC, PN);
    const LID_THREAD = threadIdOf(ACC, LID);

    const msg = (overrides: Partial<MessageRecord> = {}): MessageRecord =>
      makeMessage({ accountId: ACC, clientJid: PN, ...overrides });
    const upsert = (...records: MessageRecord[]): Mutation[] => records.map((record) => ({ kind: 'message', record }));
    const apply = (...mutations: Mutation[]) => store.applyMutations(ACC, mutations);
    const receipt = (messageId: string, status: MessageStatus, at: number): Mutation => ({
      kind: 'status',
      accountId: ACC,
      clientJid: PN,
      messageId,
      status,
      at,
    });
    const name = (clientJid: string, displayName: string, source: DisplayNameSource): Mutation => ({
      kind: 'thread',
      accountId: ACC,
      clientJid,
      displayName,
      source,
    });
    const mapping = (lid: string, pn: string): Mutation => ({ kind: 'jid-mapping', accountId: ACC, lid, pn });

    async function allThreads(accountId = ACC) {
      return collect((cursor) => store.listThreads(accountId, { limit: 500, cursor }), 500);
    }
    async function allMessages(threadId: string, order: SortOrder = 'asc') {
      return collect((cursor) => store.listMessages(ACC, threadId, { limit: 500, cursor, order }), 500);
    }

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

    describe('message upserts', () => {
      it('stores every field and reads it back unchanged', async () => {
        const record = msg({
          id: '3EB0FULL',
          direction: 'outbound',
          fromMe: true,
          status: 'sent',
          body: 'see attached',
          messageType: 'image',
          contentType: 'imageMessage',
          mediaType: 'image',
          mediaUrl: 'https://mmg.whatsapp.net/x',
          mediaMimetype: 'image/jpeg',
          mediaFilename: 'photo.jpg',
          mediaSize: 12345,
          media: {
            directPath: '/v/t62/x',
            url: 'https://mmg.whatsapp.net/x',
            mediaKey: 'a2V5',
            fileEncSha256: 'ZW5j',
            fileSha256: 'c2hh',
            fileLength: 12345,
          },
          participant: null,
          pushName: 'Me',
          syncType: 'FULL',
          syncSource: 'history_sync',
          syncedAt: BASE_TIME + 5000,
          refMessageId: 'QUOTED1',
          sendError: 'timeout',
          rawMessage: new Uint8Array([0, 1, 2, 250, 255]),
        });
        const result = await apply(...upsert(record));
        expect(result).toMatchObject({ inserted: 1, merged: 0 });
        expect(await store.getMessage(ACC, record.id)).toEqual(record);
        expect(await store.getMessage(ACC, record.id, PN)).toEqual(record);
      });

      it('returns null for an unknown message and for a message of another account', async () => {
        await apply(...upsert(msg({ id: 'A' })));
        expect(await store.getMessage(ACC, 'nope')).toBeNull();
        expect(await store.getMessage(OTHER, 'A')).toBeNull();
      });

      it('is idempotent: a replayed batch merges instead of duplicating', async () => {
        const batch = upsert(msg({ id: 'A' }), msg({ id: 'B', createdAt: BASE_TIME + 1 }));
        expect(await apply(...batch)).toMatchObject({ inserted: 2, merged: 0 });
        expect(await apply(...batch)).toMatchObject({ inserted: 0, merged: 2 });
        expect(await store.countMessages(ACC)).toBe(2);
        expect((await allMessages(PN_THREAD)).items.map((m) => m.id)).toEqual(['A', 'B']);
      });

      it('merges a duplicate inside one batch', async () => {
        const result = await apply(...upsert(msg({ id: 'A', body: 'first' }), msg({ id: 'A', body: 'second' })));
        expect(result).toMatchObject({ inserted: 1, merged: 1 });
        expect(await store.countMessages(ACC)).toBe(1);
        expect((await store.getMessage(ACC, 'A'))?.body).toBe('first');
      });

      it('keeps the same message id apart per account', async () => {
        await apply(...upsert(msg({ id: 'SAME' })));
        await store.applyMutations(OTHER, upsert(makeMessage({ id: 'SAME', accountId: OTHER, body: 'other' })));
        expect(await store.countMessages(ACC)).toBe(1);
        expect(await store.countMessages(OTHER)).toBe(1);
        expect((await store.getMessage(ACC, 'SAME'))?.body).toBe('hello');
        expect((await store.getMessage(OTHER, 'SAME'))?.body).toBe('other');
      });

      const mergeCases: Array<{
        case: string;
        stored: Partial<MessageRecord>;
        incoming: Partial<MessageRecord>;
        expected: Partial<MessageRecord>;
      }> = [
        { case: 'status takes the maximum (lower incoming)', stored: { status: 'read' }, incoming: { status: 'sent' }, expected: { status: 'read' } },
        { case: 'status takes the maximum (higher incoming)', stored: { status: 'sent' }, incoming: { status: 'delivered' }, expected: { status: 'delivered' } },
        { case: 'deliveredAt is set once', stored: { deliveredAt: 100 }, incoming: { deliveredAt: 200 }, expected: { deliveredAt: 100 } },
        { case: 'deliveredAt fills when empty', stored: { deliveredAt: null }, incoming: { deliveredAt: 200 }, expected: { deliveredAt: 200 } },
        { case: 'readAt is set once', stored: { readAt: 300 }, incoming: { readAt: 400 }, expected: { readAt: 300 } },
        { case: 'body is never overwritten', stored: { body: 'original' }, incoming: { body: 'changed' }, expected: { body: 'original' } },
        { case: 'an empty body is filled', stored: { body: '' }, incoming: { body: 'completed' }, expected: { body: 'completed' } },
        {
          case: 'time and origin keep their first value',
          stored: { createdAt: BASE_TIME, syncSource: 'realtime', tsServer: 1 },
          incoming: { createdAt: BASE_TIME + 999, syncSource: 'history_sync', tsServer: 2, syncedAt: 77 },
          expected: { createdAt: BASE_TIME, syncSource: 'realtime', tsServer: 1, syncedAt: 77 },
        },
        {
          case: 'media fills in when missing',
          stored: { mediaUrl: null, mediaMimetype: null },
          incoming: { mediaUrl: 'https://x', mediaMimetype: 'image/png' },
          expected: { mediaUrl: 'https://x', mediaMimetype: 'image/png' },
        },
        {
          case: 'a later successful sighting clears sendError',
          stored: { status: 'queued', sendError: 'boom', direction: 'outbound' },
          incoming: { status: 'sent', sendError: null, direction: 'outbound' },
          expected: { status: 'sent', sendError: null },
        },
        {
          case: 'raw message bytes are kept',
          stored: { rawMessage: new Uint8Array([1, 2]) },
          incoming: { rawMessage: new Uint8Array([3]) },
          expected: { rawMessage: new Uint8Array([1, 2]) },
        },
      ];
      it.each(mergeCases)('merge rule: $case', async ({ stored, incoming, expected }) => {
        await apply(...upsert(msg({ id: 'M', ...stored })));
        expect(await apply(...upsert(msg({ id: 'M', ...incoming })))).toMatchObject({ inserted: 0, merged: 1 });
        expect(await store.getMessage(ACC, 'M')).toMatchObject(expected);
        expect(await store.countMessages(ACC)).toBe(1);
      });

      it('applies a batch atomically: one bad mutation writes nothing', async () => {
        const foreign = makeMessage({ id: 'F', accountId: OTHER });
        await expect(apply(...upsert(msg({ id: 'A' })), { kind: 'message', record: foreign })).rejects.toThrow();
        expect(await store.countMessages(ACC)).toBe(0);
        expect(await store.countMessages(OTHER)).toBe(0);
        expect(await store.getThread(ACC, PN_THREAD)).toBeNull();
      });

      it('accepts an empty batch', async () => {
        expect(await apply()).toEqual({
          inserted: 0,
          merged: 0,
          statusesApplied: 0,
          statusesDeferred: 0,
          edits: 0,
          revokes: 0,
          threadsMerged: 0,
        });
      });
    });

    describe('receipts', () => {
      const T1 = BASE_TIME + 10_000;
      const T2 = BASE_TIME + 20_000;
      const T3 = BASE_TIME + 30_000;
      const sequences: Array<{
        case: string;
        steps: Array<[MessageStatus, number]>;
        expected: { status: MessageStatus; deliveredAt: number | null; readAt: number | null };
      }> = [
        { case: 'delivered then read', steps: [['delivered', T1], ['read', T2]], expected: { status: 'read', deliveredAt: T1, readAt: T2 } },
        // read implies delivered: the read time is the best bound known for delivery.
        { case: 'read before delivered', steps: [['read', T2], ['delivered', T1]], expected: { status: 'read', deliveredAt: T2, readAt: T2 } },
        { case: 'a late delivered never overwrites read', steps: [['delivered', T1], ['read', T2], ['delivered', T3]], expected: { status: 'read', deliveredAt: T1, readAt: T2 } },
        { case: 'delivered twice keeps the first time', steps: [['delivered', T1], ['delivered', T2]], expected: { status: 'delivered', deliveredAt: T1, readAt: null } },
        { case: 'read twice keeps the first time', steps: [['read', T2], ['read', T3]], expected: { status: 'read', deliveredAt: T2, readAt: T2 } },
        { case: 'a sent receipt does not move status back', steps: [['delivered', T1], ['sent', T2]], expected: { status: 'delivered', deliveredAt: T1, readAt: null } },
      ];

      it.each(sequences)('on a stored message: $case', async ({ steps, expected }) => {
        await apply(...upsert(msg({ id: 'OUT', direction: 'outbound', status: 'sent' })));
        for (const [status, at] of steps) {
          expect(await apply(receipt('OUT', status, at))).toMatchObject({ statusesApplied: 1, statusesDeferred: 0 });
        }
        expect(await store.getMessage(ACC, 'OUT')).toMatchObject(expected);
      });

      it.each(sequences)('before the message exists, applied when it arrives: $case', async ({ steps, expected }) => {
        for (const [status, at] of steps) {
          expect(await apply(receipt('OUT', status, at))).toMatchObject({ statusesApplied: 0, statusesDeferred: 1 });
        }
        expect(await store.getMessage(ACC, 'OUT')).toBeNull();
        expect(await apply(...upsert(msg({ id: 'OUT', direction: 'outbound', status: 'sent' })))).toMatchObject({
          inserted: 1,
        });
        expect(await store.getMessage(ACC, 'OUT')).toMatchObject(expected);
      });

      it('a kept receipt is consumed once: later receipts apply to the stored message', async () => {
        await apply(receipt('OUT', 'delivered', T1));
        await apply(...upsert(msg({ id: 'OUT', direction: 'outbound', status: 'sent' })));
        expect(await apply(receipt('OUT', 'read', T2))).toMatchObject({ statusesApplied: 1, statusesDeferred: 0 });
        // A replay of the message must not re-apply anything stale.
        await apply(...upsert(msg({ id: 'OUT', direction: 'outbound', status: 'sent' })));
        expect(await store.getMessage(ACC, 'OUT')).toMatchObject({ status: 'read', deliveredAt: T1, readAt: T2 });
      });

      it('a receipt listed before its message in the same batch still finds it', async () => {
        const result = await apply(
          receipt('OUT', 'read', T2),
          ...upsert(msg({ id: 'OUT', direction: 'outbound', status: 'sent' })),
        );
        expect(result).toMatchObject({ inserted: 1, statusesApplied: 1, statusesDeferred: 0 });
        expect(await store.getMessage(ACC, 'OUT')).toMatchObject({ status: 'read', readAt: T2 });
      });

      it('a receipt clears sendError once the message is known to have gone out', async () => {
        await apply(...upsert(msg({ id: 'OUT', direction: 'outbound', status: 'queued', sendError: 'timeout' })));
        await apply(receipt('OUT', 'delivered', T1));
        expect(await store.getMessage(ACC, 'OUT')).toMatchObject({ status: 'delivered', sendError: null });
      });

      it('a kept receipt belongs to its account only', async () => {
        await apply(receipt('X', 'read', T2));
        await store.applyMutations(OTHER, upsert(makeMessage({ id: 'X', accountId: OTHER, status: 'sent', direction: 'outbound' })));
        expect(await store.getMessage(OTHER, 'X')).toMatchObject({ status: 'sent', readAt: null });
      });
    });

    describe('edits and revokes', () => {
      it('an edit sets body and editedAt and refreshes the preview of the last message', async () => {
        await apply(...upsert(msg({ id: 'OLD', createdAt: BASE_TIME }), msg({ id: 'LAST', createdAt: BASE_TIME + 1, body: 'typo' })));
        expect(
          await apply({ kind: 'edit', accountId: ACC, clientJid: PN, messageId: 'LAST', body: 'fixed', editedAt: BASE_TIME + 50 }),
        ).toMatchObject({ edits: 1 });
        expect(await store.getMessage(ACC, 'LAST')).toMatchObject({ body: 'fixed', editedAt: BASE_TIME + 50 });
        expect((await store.getThread(ACC, PN_THREAD))?.lastMessagePreview).toBe('fixed');

        await apply({ kind: 'edit', accountId: ACC, clientJid: PN, messageId: 'OLD', body: 'older edited', editedAt: BASE_TIME + 60 });
        expect((await store.getMessage(ACC, 'OLD'))?.body).toBe('older edited');
        expect((await store.getThread(ACC, PN_THREAD))?.lastMessagePreview).toBe('fixed');
      });

      it('a replayed older edit does not undo a newer one', async () => {
        await apply(...upsert(msg({ id: 'A' })));
        await apply({ kind: 'edit', accountId: ACC, clientJid: PN, messageId: 'A', body: 'v2', editedAt: BASE_TIME + 200 });
        await apply({ kind: 'edit', accountId: ACC, clientJid: PN, messageId: 'A', body: 'v1', editedAt: BASE_TIME + 100 });
        expect(await store.getMessage(ACC, 'A')).toMatchObject({ body: 'v2', editedAt: BASE_TIME + 200 });
      });

      it('a re-upsert after an edit keeps the edited body', async () => {
        await apply(...upsert(msg({ id: 'A', body: 'v1' })));
        await apply({ kind: 'edit', accountId: ACC, clientJid: PN, messageId: 'A', body: 'v2', editedAt: BASE_TIME + 200 });
        await apply(...upsert(msg({ id: 'A', body: 'v1' })));
        expect(await store.getMessage(ACC, 'A')).toMatchObject({ body: 'v2' });
        expect((await store.getThread(ACC, PN_THREAD))?.lastMessagePreview).toBe('v2');
      });

      it('a revoke sets revokedAt once', async () => {
        await apply(...upsert(msg({ id: 'A' })));
        expect(await apply({ kind: 'revoke', accountId: ACC, clientJid: PN, messageId: 'A', revokedAt: BASE_TIME + 5 })).toMatchObject({
          revokes: 1,
        });
        await apply({ kind: 'revoke', accountId: ACC, clientJid: PN, messageId: 'A', revokedAt: BASE_TIME + 9 });
        expect(await store.getMessage(ACC, 'A')).toMatchObject({ revokedAt: BASE_TIME + 5, body: 'hello' });
      });

      it('edits and revokes of a message that is not stored are ignored', async () => {
        const result = await apply(
          { kind: 'edit', accountId: ACC, clientJid: PN, messageId: 'GHOST', body: 'x', editedAt: BASE_TIME },
          { kind: 'revoke', accountId: ACC, clientJid: PN, messageId: 'GHOST', revokedAt: BASE_TIME },
        );
        expect(result).toMatchObject({ edits: 0, revokes: 0 });
        expect(await store.getMessage(ACC, 'GHOST')).toBeNull();
        await apply(...upsert(msg({ id: 'GHOST', body: 'real' })));
        expect(await store.getMessage(ACC, 'GHOST')).toMatchObject({ body: 'real', editedAt: null, revokedAt: null });
      });
    });

    describe('thread summaries', () => {
      it('the first message creates the thread', async () => {
        await apply(...upsert(msg({ id: 'A', body: 'hi there', createdAt: BASE_TIME })));
        expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({
          id: PN_THREAD,
          accountId: ACC,
          clientJid: PN,
          displayName: null,
          lastMessageAt: BASE_TIME,
          lastMessagePreview: 'hi there',
          lastMessageId: 'A',
          lastBackfillAt: null,
          lidJid: null,
          isGroup: false,
        });
        await apply(...upsert(msg({ id: 'G', clientJid: GROUP, participant: PN })));
        expect((await store.getThread(ACC, threadIdOf(ACC, GROUP)))?.isGroup).toBe(true);
        expect(await store.getThread(OTHER, PN_THREAD)).toBeNull();
      });

      const arrivals: Array<{ case: string; batches: Array<Array<[string, number]>>; expected: string }> = [
        { case: 'newer after older', batches: [[['A', 1]], [['B', 2]]], expected: 'B' },
        { case: 'a late older message never moves it back', batches: [[['B', 2]], [['A', 1]]], expected: 'B' },
        { case: 'equal time: the larger id wins (larger first)', batches: [[['B', 5]], [['A', 5]]], expected: 'B' },
        { case: 'equal time: the larger id wins (smaller first)', batches: [[['A', 5]], [['B', 5]]], expected: 'B' },
        { case: 'one unordered batch', batches: [[['C', 2], ['E', 3], ['A', 1], ['D', 3], ['B', 0]]], expected: 'E' },
        { case: 'a replay of an old batch after newer ones', batches: [[['A', 1]], [['C', 9]], [['A', 1], ['B', 2]]], expected: 'C' },
      ];
      it.each(arrivals)('moves forward only: $case', async ({ batches, expected }) => {
        for (const batch of batches) {
          await apply(...upsert(...batch.map(([id, t]) => msg({ id, createdAt: BASE_TIME + t * 1000, body: `body ${id}` }))));
        }
        const thread = await store.getThread(ACC, PN_THREAD);
        const all = batches.flat();
        const at = all.find(([id]) => id === expected)![1];
        expect(thread).toMatchObject({
          lastMessageId: expected,
          lastMessageAt: BASE_TIME + at * 1000,
          lastMessagePreview: `body ${expected}`,
        });
      });

      const previews: Array<{ case: string; body: string; messageType: MessageRecord['messageType']; expected: string }> = [
        { case: 'short text', body: 'hello', messageType: 'text', expected: 'hello' },
        { case: 'exactly 100', body: 'x'.repeat(100), messageType: 'text', expected: 'x'.repeat(100) },
        { case: 'cut to 100', body: 'y'.repeat(150), messageType: 'text', expected: 'y'.repeat(100) },
        { case: 'emoji counted as one code point each', body: '😀'.repeat(150), messageType: 'text', expected: '😀'.repeat(100) },
        { case: 'mixed', body: `${'a'.repeat(99)}😀b`, messageType: 'text', expected: `${'a'.repeat(99)}😀` },
        { case: 'media without caption', body: '', messageType: 'image', expected: '[image]' },
      ];
      it.each(previews)('preview: $case', async ({ body, messageType, expected }) => {
        await apply(...upsert(msg({ id: 'P', body, messageType })));
        const preview = (await store.getThread(ACC, PN_THREAD))?.lastMessagePreview;
        expect(preview).toBe(expected);
        expect(Array.from(preview ?? '').length).toBeLessThanOrEqual(100);
      });

      it('a completed stub refreshes the preview of the same last message', async () => {
        await apply(...upsert(msg({ id: 'S', body: '', messageType: 'other', contentType: '' })));
        expect((await store.getThread(ACC, PN_THREAD))?.lastMessagePreview).toBe('[other]');
        await apply(...upsert(msg({ id: 'S', body: 'now complete', messageType: 'text' })));
        expect((await store.getThread(ACC, PN_THREAD))?.lastMessagePreview).toBe('now complete');
      });

      it('setThreadBackfilledAt sets lastBackfillAt and ignores unknown threads', async () => {
        await apply(...upsert(msg({ id: 'A' })));
        await store.setThreadBackfilledAt(ACC, PN_THREAD, BASE_TIME + 42);
        expect((await store.getThread(ACC, PN_THREAD))?.lastBackfillAt).toBe(BASE_TIME + 42);
        await store.setThreadBackfilledAt(ACC, threadIdOf(ACC, 'nobody@s.whatsapp.net'), BASE_TIME);
        expect(await store.getThread(ACC, threadIdOf(ACC, 'nobody@s.whatsapp.net'))).toBeNull();
      });
    });

    describe('thread names', () => {
      const nameCases: Array<{ case: string; updates: Array<[string, DisplayNameSource]>; expected: [string, DisplayNameSource] }> = [
        { case: 'higher rank replaces', updates: [['Pushy', 'pushName'], ['Contact', 'contactName']], expected: ['Contact', 'contactName'] },
        { case: 'lower rank does not replace', updates: [['Contact', 'contactName'], ['Pushy', 'pushName']], expected: ['Contact', 'contactName'] },
        { case: 'equal rank replaces (newer value)', updates: [['Old', 'chatName'], ['New', 'chatName']], expected: ['New', 'chatName'] },
        {
          case: 'ranks in order',
          updates: [['P', 'pushName'], ['V', 'verifiedName'], ['C', 'chatName'], ['K', 'contactName'], ['P2', 'pushName']],
          expected: ['K', 'contactName'],
        },
      ];
      it.each(nameCases)('$case', async ({ updates, expected }) => {
        for (const [displayName, source] of updates) await apply(name(PN, displayName, source));
        expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({ displayName: expected[0], displayNameSource: expected[1] });
      });

      it('a name creates a thread that is not listed until it holds a message', async () => {
        await apply(name(PN, 'Ana', 'contactName'));
        expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({ displayName: 'Ana', lastMessageAt: null, lastMessageId: null });
        expect((await store.listThreads(ACC, { limit: 50 })).items).toEqual([]);
        await apply(...upsert(msg({ id: 'A' })));
        const listed = (await store.listThreads(ACC, { limit: 50 })).items;
        expect(listed.map((t) => t.id)).toEqual([PN_THREAD]);
        expect(listed[0]).toMatchObject({ displayName: 'Ana', lastMessageId: 'A' });
      });

      it('names apply before messages within one batch', async () => {
        await apply(...upsert(msg({ id: 'A' })), name(PN, 'Ana', 'pushName'));
        expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({ displayName: 'Ana', lastMessageId: 'A' });
      });
    });

    describe('LID to phone-number merge', () => {
      async function seedSplitConversation() {
        await apply(
          ...upsert(
            msg({ id: 'IN1', clientJid: LID, direction: 'inbound', createdAt: BASE_TIME + 1000, body: 'from lid' }),
            msg({ id: 'OUT1', clientJid: PN, direction: 'outbound', status: 'sent', createdAt: BASE_TIME + 2000, body: 'to pn' }),
          ),
        );
      }

      it('ends in one thread holding both messages', async () => {
        await seedSplitConversation();
        expect((await allThreads()).items).toHaveLength(2);

        expect(await apply(mapping(LID, PN))).toMatchObject({ threadsMerged: 1 });

        const threads = (await allThreads()).items;
        expect(threads.map((t) => t.id)).toEqual([PN_THREAD]);
        expect(threads[0]).toMatchObject({ clientJid: PN, lidJid: LID, lastMessageId: 'OUT1', lastMessagePreview: 'to pn' });
        expect(await store.getThread(ACC, LID_THREAD)).toBeNull();
        expect((await allMessages(PN_THREAD)).items.map((m) => m.id)).toEqual(['IN1', 'OUT1']);
        expect((await allMessages(LID_THREAD)).items).toEqual([]);
        expect(await store.getMessage(ACC, 'IN1')).toMatchObject({ clientJid: PN, body: 'from lid' });
        expect(await store.countMessages(ACC)).toBe(2);
        expect(await store.listJidMappings(ACC)).toEqual([{ lid: LID, pn: PN }]);
      });

      it('repeating the mapping changes nothing', async () => {
        await seedSplitConversation();
        await apply(mapping(LID, PN));
        const before = { threads: await allThreads(), messages: await allMessages(PN_THREAD) };
        expect(await apply(mapping(LID, PN))).toMatchObject({ threadsMerged: 0 });
        expect(await allThreads()).toEqual(before.threads);
        expect(await allMessages(PN_THREAD)).toEqual(before.messages);
        expect(await store.listJidMappings(ACC)).toEqual([{ lid: LID, pn: PN }]);
      });

      it('the newer summary wins when the LID thread holds the newest message', async () => {
        await apply(
          ...upsert(
            msg({ id: 'OUT1', clientJid: PN, createdAt: BASE_TIME + 1000, body: 'older' }),
            msg({ id: 'IN1', clientJid: LID, createdAt: BASE_TIME + 5000, body: 'newest' }),
          ),
        );
        await apply(mapping(LID, PN));
        expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({
          lastMessageId: 'IN1',
          lastMessageAt: BASE_TIME + 5000,
          lastMessagePreview: 'newest',
        });
      });

      const nameMerges: Array<{ case: string; lid: [string, DisplayNameSource] | null; pn: [string, DisplayNameSource] | null; expected: string | null }> = [
        { case: 'higher-ranked LID name wins', lid: ['Contact', 'contactName'], pn: ['Pushy', 'pushName'], expected: 'Contact' },
        { case: 'higher-ranked PN name wins', lid: ['Pushy', 'pushName'], pn: ['Contact', 'contactName'], expected: 'Contact' },
        { case: 'a LID name fills an unnamed PN thread', lid: ['Pushy', 'pushName'], pn: null, expected: 'Pushy' },
        { case: 'no names', lid: null, pn: null, expected: null },
      ];
      it.each(nameMerges)('display names combine: $case', async ({ lid, pn, expected }) => {
        await seedSplitConversation();
        if (lid) await apply(name(LID, lid[0], lid[1]));
        if (pn) await apply(name(PN, pn[0], pn[1]));
        await apply(mapping(LID, PN));
        expect((await store.getThread(ACC, PN_THREAD))?.displayName).toBe(expected);
      });

      it('a LID thread without a PN thread becomes the PN thread', async () => {
        await apply(...upsert(msg({ id: 'IN1', clientJid: LID })), name(LID, 'Ana', 'pushName'));
        await apply(mapping(LID, PN));
        expect(await store.getThread(ACC, LID_THREAD)).toBeNull();
        expect(await store.getThread(ACC, PN_THREAD)).toMatchObject({
          clientJid: PN,
          lidJid: LID,
          displayName: 'Ana',
          lastMessageId: 'IN1',
          isGroup: false,
        });
        expect((await allMessages(PN_THREAD)).items.map((m) => m.id)).toEqual(['IN1']);
      });

      it('a mapping in the same batch as LID messages merges them', async () => {
        await apply(...upsert(msg({ id: 'OUT1', clientJid: PN, createdAt: BASE_TIME })));
        const result = await apply(mapping(LID, PN), ...upsert(msg({ id: 'IN1', clientJid: LID, createdAt: BASE_TIME + 1 })));
        expect(result).toMatchObject({ inserted: 1, threadsMerged: 1 });
        expect((await allThreads()).items.map((t) => t.id)).toEqual([PN_THREAD]);
        expect((await allMessages(PN_THREAD)).items.map((m) => m.id)).toEqual(['OUT1', 'IN1']);
      });

      it('a mapping with no LID thread records the LID on the PN thread', async () => {
        await apply(...upsert(msg({ id: 'OUT1', clientJid: PN })));
        expect(await apply(mapping(LID, PN))).toMatchObject({ threadsMerged: 0 });
        expect((await store.getThread(ACC, PN_THREAD))?.lidJid).toBe(LID);
        expect(await store.listJidMappings(ACC)).toEqual([{ lid: LID, pn: PN }]);
      });

      it('receipts and edits still reach a moved message', async () => {
        await seedSplitConversation();
        await apply(mapping(LID, PN));
        await apply(
          receipt('IN1', 'read', BASE_TIME + 9000),
          { kind: 'edit', accountId: ACC, clientJid: PN, messageId: 'IN1', body: 'edited', editedAt: BASE_TIME + 9500 },
        );
        expect(await store.getMessage(ACC, 'IN1')).toMatchObject({ status: 'read', body: 'edited', clientJid: PN });
        expect(await store.countMessages(ACC)).toBe(2);
      });
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

      const pageCases = [1, 2, 7, 20, 60, 61, 62, 500].flatMap((limit) =>
        (['asc', 'desc'] as const).map((order) => ({ limit, order })),
      );
      it.each(pageCases)('messages: limit $limit, $order, visits every row exactly once', async ({ limit, order }) => {
        await seedMessages();
        const { items, pages } = await collect(
          (cursor) => store.listMessages(ACC, PN_THREAD, { limit, cursor, order }),
          limit,
        );
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

      const threadPageCases = [1, 4, 5, 22, 23, 50].flatMap((limit) =>
        (['asc', 'desc'] as const).map((order) => ({ limit, order })),
      );
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
        await store.patchAccount(ACC, { phoneNumber: undefined, lastBackfillResult: { threads: 1, messages: 2, errors: 0, threadResults: [] } });
        expect(await store.getAccount(ACC)).toMatchObject({
          phoneNumber: '40712345678',
          lastBackfillResult: { threads: 1, messages: 2, errors: 0, threadResults: [] },
        });
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

    describe('leases', () => {
      const NOW = BASE_TIME;
      const TTL = 30_000;

      beforeEach(async () => {
        await store.createAccount({ id: ACC });
      });

      it('acquires a free lease and records it on the account', async () => {
        const lease = await store.acquireLease(ACC, 'autoBackfill', 'w1', TTL, NOW);
        expect(lease).toEqual({ accountId: ACC, name: 'autoBackfill', holder: 'w1', acquiredAt: NOW, until: NOW + TTL });
        expect(await store.getAccount(ACC)).toMatchObject({
          autoBackfillLeaseHolder: 'w1',
          autoBackfillLeaseUntil: NOW + TTL,
          autoBackfillLeaseAcquiredAt: NOW,
        });
      });

      it('refuses a second holder while valid, and lets the same holder re-acquire', async () => {
        await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        expect(await store.acquireLease(ACC, 'owner', 'w2', TTL, NOW + TTL - 1)).toBeNull();
        expect(await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW + 10)).toMatchObject({ holder: 'w1', until: NOW + 10 + TTL });
        expect((await store.getAccount(ACC))?.ownerLeaseHolder).toBe('w1');
      });

      it('lets another holder take an expired lease; the old holder can then neither renew nor release it', async () => {
        const old = await store.acquireLease(ACC, 'recentSync', 'w1', TTL, NOW);
        const taken = await store.acquireLease(ACC, 'recentSync', 'w2', TTL, NOW + TTL);
        expect(taken).toMatchObject({ holder: 'w2', acquiredAt: NOW + TTL });
        expect(await store.renewLease(old!, TTL, NOW + TTL + 1)).toBeNull();
        await store.releaseLease(old!);
        expect((await store.getAccount(ACC))?.recentSyncLeaseHolder).toBe('w2');
      });

      it('renews a held lease, even one that expired without being taken', async () => {
        const lease = await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        const renewed = await store.renewLease(lease!, TTL, NOW + 1000);
        expect(renewed).toEqual({ ...lease, until: NOW + 1000 + TTL });
        const late = await store.renewLease(renewed!, TTL, NOW + 10 * TTL);
        expect(late).toMatchObject({ holder: 'w1', until: NOW + 11 * TTL, acquiredAt: NOW });
        expect((await store.getAccount(ACC))?.ownerLeaseUntil).toBe(NOW + 11 * TTL);
      });

      it('releases only by its holder; a released lease cannot be renewed', async () => {
        const lease = await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        await store.releaseLease({ ...lease!, holder: 'intruder' });
        expect((await store.getAccount(ACC))?.ownerLeaseHolder).toBe('w1');
        await store.releaseLease(lease!);
        const account = await store.getAccount(ACC);
        expect(account).toMatchObject({ ownerLeaseHolder: null, ownerLeaseUntil: null });
        expect(await store.renewLease(lease!, TTL, NOW + 1)).toBeNull();
        expect(await store.acquireLease(ACC, 'owner', 'w2', TTL, NOW + 2)).toMatchObject({ holder: 'w2' });
      });

      it('keeps leases of different names apart', async () => {
        expect(await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW)).not.toBeNull();
        expect(await store.acquireLease(ACC, 'autoBackfill', 'w2', TTL, NOW)).not.toBeNull();
        expect(await store.acquireLease(ACC, 'recentSync', 'w3', TTL, NOW)).not.toBeNull();
        expect(await store.getAccount(ACC)).toMatchObject({
          ownerLeaseHolder: 'w1',
          autoBackfillLeaseHolder: 'w2',
          recentSyncLeaseHolder: 'w3',
        });
      });

      it('lease fields survive unrelated patches', async () => {
        await store.acquireLease(ACC, 'owner', 'w1', TTL, NOW);
        await store.patchAccount(ACC, { status: 'open' });
        expect(await store.acquireLease(ACC, 'owner', 'w2', TTL, NOW + 1)).toBeNull();
      });

      it('acquiring on a missing account is a NotFoundError', async () => {
        await expect(store.acquireLease('missing', 'owner', 'w1', TTL, NOW)).rejects.toBeInstanceOf(NotFoundError);
      });
    });
  });
}

/** Follows `nextCursor` to the end, checking each page respects the limit. */
async function collect<T>(
  fetchPage: (cursor: string | null) => Promise<Page<T>>,
  limit: number,
  startCursor: string | null = null,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor = startCursor;
  let pages = 0;
  do {
    const page = await fetchPage(cursor);
    pages++;
    expect(page.items.length).toBeLessThanOrEqual(limit);
    if (page.nextCursor !== null) expect(page.items.length).toBe(limit);
    items.push(...page.items);
    cursor = page.nextCursor;
    if (pages > 10_000) throw new Error('pagination does not terminate');
  } while (cursor !== null);
  return { items, pages };
}

/** Comparator over a (number, string) key, with plain code-unit string order (ids are ASCII here). */
function byKey<T>(key: (item: T) => [number, string]): (a: T, b: T) => number {
  return (a, b) => {
    const [at, aid] = key(a);
    const [bt, bid] = key(b);
    if (at !== bt) return at - bt;
    return aid < bid ? -1 : aid > bid ? 1 : 0;
  };
}
