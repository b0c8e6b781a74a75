import { beforeEach, describe, expect, it } from 'vitest';
import type { Mutation } from '../../../src/domain/mutations.js';
import { threadIdOf, type DisplayNameSource, type GroupParticipant, type MessageRecord } from '../../../src/domain/records.js';
import type { Store } from '../../../src/store/port.js';
import { BASE_TIME } from '../../support/records.js';
import { contractFixtures, type ContractContext } from './fixtures.js';

/** Store contract, threads: summaries, names, LID to phone-number merge. */
export function threadsContract(ctx: ContractContext): void {
  const { ACC, OTHER, PN, LID, GROUP, PN_THREAD, LID_THREAD, msg, upsert, apply, receipt, name, mapping, allThreads, allMessages } =
    contractFixtures(() => ctx.store);

  describe('threads', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
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
        {
          case: 'one unordered batch',
          batches: [
            [
              ['C', 2],
              ['E', 3],
              ['A', 1],
              ['D', 3],
              ['B', 0],
            ],
          ],
          expected: 'E',
        },
        {
          case: 'a replay of an old batch after newer ones',
          batches: [
            [['A', 1]],
            [['C', 9]],
            [
              ['A', 1],
              ['B', 2],
            ],
          ],
          expected: 'C',
        },
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
        {
          case: 'higher rank replaces',
          updates: [
            ['Pushy', 'pushName'],
            ['Contact', 'contactName'],
          ],
          expected: ['Contact', 'contactName'],
        },
        {
          case: 'lower rank does not replace',
          updates: [
            ['Contact', 'contactName'],
            ['Pushy', 'pushName'],
          ],
          expected: ['Contact', 'contactName'],
        },
        {
          case: 'equal rank replaces (newer value)',
          updates: [
            ['Old', 'chatName'],
            ['New', 'chatName'],
          ],
          expected: ['New', 'chatName'],
        },
        {
          case: 'ranks in order',
          updates: [
            ['P', 'pushName'],
            ['V', 'verifiedName'],
            ['C', 'chatName'],
            ['K', 'contactName'],
            ['P2', 'pushName'],
          ],
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

      const nameMerges: Array<{
        case: string;
        lid: [string, DisplayNameSource] | null;
        pn: [string, DisplayNameSource] | null;
        expected: string | null;
      }> = [
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
        await apply(receipt('IN1', 'read', BASE_TIME + 9000), {
          kind: 'edit',
          accountId: ACC,
          clientJid: PN,
          messageId: 'IN1',
          body: 'edited',
          editedAt: BASE_TIME + 9500,
        });
        expect(await store.getMessage(ACC, 'IN1')).toMatchObject({ status: 'read', body: 'edited', clientJid: PN });
        expect(await store.countMessages(ACC)).toBe(2);
      });
    });

    describe('groups', () => {
      const GROUP_THREAD = threadIdOf(ACC, GROUP);
      const ANA_LID = '111111111111111@lid';
      const ANA_PN = '40711111111@s.whatsapp.net';
      const BOB_PN = '40722222222@s.whatsapp.net';
      const CEZ_LID = '333333333333333@lid';
      const ana: GroupParticipant = { jid: ANA_LID, phoneNumber: ANA_PN, lid: ANA_LID, admin: 'superadmin' };
      const bob: GroupParticipant = { jid: BOB_PN, phoneNumber: BOB_PN, lid: null, admin: null };
      const cez: GroupParticipant = { jid: CEZ_LID, phoneNumber: null, lid: CEZ_LID, admin: null };
      const roster = (
        participants: GroupParticipant[],
        addressingMode: 'lid' | 'pn' | null = 'lid',
        source: 'metadata' | 'history' = 'metadata',
      ): Mutation => ({
        kind: 'group-roster',
        accountId: ACC,
        clientJid: GROUP,
        source,
        participants,
        addressingMode,
      });
      const change = (action: 'add' | 'remove' | 'promote' | 'demote', ...participants: GroupParticipant[]): Mutation => ({
        kind: 'group-participants',
        accountId: ACC,
        clientJid: GROUP,
        action,
        participants,
      });

      it('a roster creates the group thread and is read back whole; a later roster replaces it', async () => {
        await apply(roster([ana, bob]));
        expect(await store.getThread(ACC, GROUP_THREAD)).toMatchObject({
          isGroup: true,
          participants: [ana, bob],
          groupAddressingMode: 'lid',
          lastMessageAt: null,
        });
        await apply(roster([bob, cez], null));
        expect(await store.getThread(ACC, GROUP_THREAD)).toMatchObject({ participants: [bob, cez], groupAddressingMode: 'lid' });
        // A thread without messages is not listed; its roster is still there for sends.
        expect((await allThreads()).items.map((t) => t.id)).not.toContain(GROUP_THREAD);
      });

      it("participant updates change a known roster in arrival order, matched by any of a member's JIDs", async () => {
        await apply(roster([ana, bob]), change('add', cez), change('promote', cez), change('remove', { ...bob, jid: BOB_PN }));
        expect((await store.getThread(ACC, GROUP_THREAD))?.participants).toEqual([ana, { ...cez, admin: 'admin' }]);
        // Ana addressed by her phone number is still Ana.
        await apply(change('demote', { jid: ANA_PN, phoneNumber: ANA_PN, lid: null, admin: null }), change('demote', cez));
        expect((await store.getThread(ACC, GROUP_THREAD))?.participants).toEqual([{ ...ana, admin: null }, cez]);
        await apply(change('add', cez));
        expect((await store.getThread(ACC, GROUP_THREAD))?.participants).toEqual([{ ...ana, admin: null }, cez]);
      });

      it('an update to a group whose roster is unknown changes nothing (a partial roster would be wrong)', async () => {
        await apply(...upsert(msg({ id: 'G1', clientJid: GROUP, participant: BOB_PN })));
        await apply(change('add', cez));
        expect(await store.getThread(ACC, GROUP_THREAD)).toMatchObject({
          participants: null,
          groupAddressingMode: null,
          lastMessageId: 'G1',
        });
      });

      it("the group's subject outranks a chat name, and a later subject replaces it", async () => {
        await apply(name(GROUP, 'Old chat name', 'chatName'));
        await apply(name(GROUP, 'Book club', 'groupSubject'));
        await apply(name(GROUP, 'A history chunk name', 'chatName'));
        expect(await store.getThread(ACC, GROUP_THREAD)).toMatchObject({ displayName: 'Book club', displayNameSource: 'groupSubject' });
        await apply(name(GROUP, 'Book club 2', 'groupSubject'));
        expect((await store.getThread(ACC, GROUP_THREAD))?.displayName).toBe('Book club 2');
      });

      it("a group message carries the sender's saved contact name, else its push name, else any name known for the sender", async () => {
        const inGroup = (id: string, participant: string, pushName: string | null, o: Partial<MessageRecord> = {}) =>
          msg({ id, clientJid: GROUP, participant, pushName, ...o });
        await apply(name(ANA_PN, 'Ana (saved)', 'contactName'), ...upsert(inGroup('S1', ANA_PN, 'ana push')));
        await apply(name(BOB_PN, 'Bobby', 'verifiedName'));
        await apply(...upsert(inGroup('S2', BOB_PN, 'bob push'), inGroup('S3', BOB_PN, null), inGroup('S4', CEZ_LID, null)));
        await apply(
          ...upsert(inGroup('S5', BOB_PN, 'me', { direction: 'outbound', fromMe: true }), msg({ id: 'S6', pushName: 'one to one' })),
        );
        const senders = await Promise.all(
          ['S1', 'S2', 'S3', 'S4', 'S5', 'S6'].map(async (id) => (await store.getMessage(ACC, id))?.senderName),
        );
        expect(senders).toEqual(['Ana (saved)', 'bob push', 'Bobby', null, null, null]);
        // Kept as first stored: a second sighting does not rename it.
        await apply(name(BOB_PN, 'Robert', 'contactName'), ...upsert(inGroup('S2', BOB_PN, 'bob push')));
        expect((await store.getMessage(ACC, 'S2'))?.senderName).toBe('bob push');
      });
    });
  });
}
