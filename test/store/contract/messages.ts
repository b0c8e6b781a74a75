import { beforeEach, describe, expect, it } from 'vitest';
import type { MessageRecord, MessageStatus } from '../../../src/domain/records.js';
import type { Store } from '../../../src/store/port.js';
import { BASE_TIME, makeMessage } from '../../support/records.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/** Store contract, messages: upserts and merge rules, receipts, edits and revokes. */
export function messagesContract(ctx: ContractContext): void {
  const { ACC, OTHER, PN, PN_THREAD, msg, upsert, apply, receipt, allMessages } = contractFixtures(() => ctx.store);

  describe('messages', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
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

      it('names the messages it inserted, not the ones it merged (a replayed batch inserts none)', async () => {
        expect(await apply(...upsert(msg({ id: 'A' }), msg({ id: 'B' })))).toMatchObject({ inserted: 2, insertedIds: ['A', 'B'] });
        const replay = await apply(...upsert(msg({ id: 'A' }), msg({ id: 'C' }), msg({ id: 'B' })));
        expect(replay).toMatchObject({ inserted: 1, merged: 2, insertedIds: ['C'] });
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
        {
          case: 'status takes the maximum (lower incoming)',
          stored: { status: 'read' },
          incoming: { status: 'sent' },
          expected: { status: 'read' },
        },
        {
          case: 'status takes the maximum (higher incoming)',
          stored: { status: 'sent' },
          incoming: { status: 'delivered' },
          expected: { status: 'delivered' },
        },
        { case: 'deliveredAt is set once', stored: { deliveredAt: 100 }, incoming: { deliveredAt: 200 }, expected: { deliveredAt: 100 } },
        {
          case: 'deliveredAt fills when empty',
          stored: { deliveredAt: null },
          incoming: { deliveredAt: 200 },
          expected: { deliveredAt: 200 },
        },
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
          insertedIds: [],
          mediaJobsEnqueued: 0,
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
        {
          case: 'delivered then read',
          steps: [
            ['delivered', T1],
            ['read', T2],
          ],
          expected: { status: 'read', deliveredAt: T1, readAt: T2 },
        },
        // read implies delivered: the read time is the best bound known for delivery.
        {
          case: 'read before delivered',
          steps: [
            ['read', T2],
            ['delivered', T1],
          ],
          expected: { status: 'read', deliveredAt: T2, readAt: T2 },
        },
        {
          case: 'a late delivered never overwrites read',
          steps: [
            ['delivered', T1],
            ['read', T2],
            ['delivered', T3],
          ],
          expected: { status: 'read', deliveredAt: T1, readAt: T2 },
        },
        {
          case: 'delivered twice keeps the first time',
          steps: [
            ['delivered', T1],
            ['delivered', T2],
          ],
          expected: { status: 'delivered', deliveredAt: T1, readAt: null },
        },
        {
          case: 'read twice keeps the first time',
          steps: [
            ['read', T2],
            ['read', T3],
          ],
          expected: { status: 'read', deliveredAt: T2, readAt: T2 },
        },
        {
          case: 'a sent receipt does not move status back',
          steps: [
            ['delivered', T1],
            ['sent', T2],
          ],
          expected: { status: 'delivered', deliveredAt: T1, readAt: null },
        },
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
        const result = await apply(receipt('OUT', 'read', T2), ...upsert(msg({ id: 'OUT', direction: 'outbound', status: 'sent' })));
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
  });
}
