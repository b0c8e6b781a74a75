import { proto, type Chat, type GroupMetadata } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import type { Mutation } from '../../src/domain/mutations.js';
import {
  mapGroupParticipants,
  mapGroupsUpdate,
  mapGroupsUpsert,
  mapHistorySet,
  mapResolver,
  type IngestContext,
} from '../../src/ingest/index.js';
import { GROUP_JID, historySet } from '../support/wa-fixtures.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const ANA_LID = '111111111111111@lid';
const ANA_PN = '40711111111@s.whatsapp.net';
const BOB_PN = '40722222222@s.whatsapp.net';
const BOB_LID = '222222222222222@lid';
const CEZ_LID = '333333333333333@lid';
const CEZ_PN = '40733333333@s.whatsapp.net';

function ctx(lids: Record<string, string> = {}): IngestContext {
  return { accountId: 'acc1', now: NOW, source: 'realtime', resolver: mapResolver(new Map(Object.entries(lids))) };
}
const ofKind = <K extends Mutation['kind']>(ms: Mutation[], kind: K) =>
  ms.filter((m): m is Extract<Mutation, { kind: K }> => m.kind === kind);

const metadata = (o: Partial<GroupMetadata> = {}): GroupMetadata => ({
  id: GROUP_JID,
  subject: 'Book club',
  owner: undefined,
  addressingMode: 'lid' as GroupMetadata['addressingMode'],
  participants: [
    { id: ANA_LID, phoneNumber: ANA_PN, admin: 'superadmin' },
    // Baileys' extractGroupMetadata gives a LID member's phone number only when the server sends it.
    { id: CEZ_LID, admin: null },
    { id: '44444444444444:12@lid', admin: 'admin' },
  ],
  ...o,
});

describe('groups ingest', () => {
  it('groups.upsert: the subject names the thread (groupSubject), the roster with roles, LIDs resolved, pairs learned', () => {
    const batch = mapGroupsUpsert([metadata()], ctx({ [CEZ_LID]: CEZ_PN }));
    expect(ofKind(batch.mutations, 'thread')).toEqual([
      { kind: 'thread', accountId: 'acc1', clientJid: GROUP_JID, displayName: 'Book club', source: 'groupSubject' },
    ]);
    expect(ofKind(batch.mutations, 'group-roster')).toEqual([
      {
        kind: 'group-roster',
        accountId: 'acc1',
        clientJid: GROUP_JID,
        source: 'metadata',
        addressingMode: 'lid',
        participants: [
          { jid: ANA_LID, phoneNumber: ANA_PN, lid: ANA_LID, admin: 'superadmin' },
          { jid: CEZ_LID, phoneNumber: CEZ_PN, lid: CEZ_LID, admin: null },
          { jid: '44444444444444@lid', phoneNumber: null, lid: '44444444444444@lid', admin: 'admin' },
        ],
      },
    ]);
    expect(ofKind(batch.mutations, 'jid-mapping')).toEqual([{ kind: 'jid-mapping', accountId: 'acc1', lid: ANA_LID, pn: ANA_PN }]);
  });

  it('groups.update: a new subject alone; the whole metadata (a re-fetch) carries the roster; settings alone are skipped', () => {
    const batch = mapGroupsUpdate(
      [
        { id: GROUP_JID, subject: 'Book club 2', author: ANA_LID },
        { id: GROUP_JID, announce: true },
        metadata({
          id: '120363000000000002@g.us',
          subject: 'Other',
          addressingMode: undefined,
          participants: [{ id: BOB_PN, lid: BOB_LID }],
        }),
        { id: 'not-a-group@s.whatsapp.net', subject: 'x' },
      ],
      ctx(),
    );
    expect(ofKind(batch.mutations, 'thread').map((m) => [m.clientJid, m.displayName, m.source])).toEqual([
      [GROUP_JID, 'Book club 2', 'groupSubject'],
      ['120363000000000002@g.us', 'Other', 'groupSubject'],
    ]);
    expect(ofKind(batch.mutations, 'group-roster')).toEqual([
      {
        kind: 'group-roster',
        accountId: 'acc1',
        clientJid: '120363000000000002@g.us',
        source: 'metadata',
        addressingMode: 'pn',
        participants: [{ jid: BOB_PN, phoneNumber: BOB_PN, lid: BOB_LID, admin: null }],
      },
    ]);
    expect(batch.skipReasons).toEqual({ irrelevant_update: 1, not_a_group: 1 });
  });

  it.each(['add', 'remove', 'promote', 'demote'] as const)('group-participants.update %s', (action) => {
    const batch = mapGroupParticipants(
      { id: GROUP_JID, author: ANA_LID, action, participants: [{ id: CEZ_LID, phoneNumber: CEZ_PN, admin: null }] },
      ctx(),
    );
    expect(ofKind(batch.mutations, 'group-participants')).toEqual([
      {
        kind: 'group-participants',
        accountId: 'acc1',
        clientJid: GROUP_JID,
        action,
        participants: [{ jid: CEZ_LID, phoneNumber: CEZ_PN, lid: CEZ_LID, admin: null }],
      },
    ]);
    expect(ofKind(batch.mutations, 'jid-mapping')).toHaveLength(1);
  });

  it('group-participants.update: a number change is not tracked; a non-group is skipped', () => {
    expect(
      mapGroupParticipants({ id: GROUP_JID, author: ANA_LID, action: 'modify', participants: [{ id: CEZ_LID }] }, ctx()).skipReasons,
    ).toEqual({ unsupported_action: 1 });
    expect(
      mapGroupParticipants({ id: BOB_PN, author: ANA_LID, action: 'add', participants: [{ id: CEZ_LID }] }, ctx()).skipReasons,
    ).toEqual({ not_a_group: 1 });
  });

  it("a history chunk's group conversation: its participants and ranks are the roster; its name stays a chat name", () => {
    const Rank = proto.GroupParticipant.Rank;
    const chat = proto.Conversation.fromObject({
      id: GROUP_JID,
      name: 'Book club',
      participant: [
        { userJid: ANA_LID, rank: Rank.SUPERADMIN },
        { userJid: BOB_LID, rank: Rank.ADMIN },
        { userJid: CEZ_LID, rank: Rank.REGULAR },
      ],
    }) as Chat;
    const batch = mapHistorySet(historySet([], { chats: [chat], lidPnMappings: [{ lid: BOB_LID, pn: BOB_PN }] }), {
      ...ctx(),
      source: 'history_sync',
    });
    expect(ofKind(batch.mutations, 'thread').map((m) => m.source)).toEqual(['chatName']);
    expect(ofKind(batch.mutations, 'group-roster')).toEqual([
      {
        kind: 'group-roster',
        accountId: 'acc1',
        clientJid: GROUP_JID,
        source: 'history',
        addressingMode: 'lid',
        participants: [
          { jid: ANA_LID, phoneNumber: null, lid: ANA_LID, admin: 'superadmin' },
          { jid: BOB_LID, phoneNumber: BOB_PN, lid: BOB_LID, admin: 'admin' },
          { jid: CEZ_LID, phoneNumber: null, lid: CEZ_LID, admin: null },
        ],
      },
    ]);
  });
});
