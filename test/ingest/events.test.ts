import { proto, type Contact } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import type { MessageUpsert, Mutation, StatusUpdate } from '../../src/domain/mutations.js';
import {
  mapChats,
  mapContacts,
  mapHistorySet,
  mapLidMapping,
  mapMessagesUpdate,
  mapMessagesUpsert,
  mapReceipts,
  mapResolver,
  type IngestContext,
} from '../../src/ingest/index.js';
import {
  content,
  DEFAULT_TS,
  editUpdate,
  GROUP_JID,
  historySet,
  messagesUpsert,
  PEER_LID,
  PEER_PN,
  receipt,
  revokeUpdate,
  statusUpdate,
  waChat,
  waImage,
  waMessage,
  waText,
} from '../support/wa-fixtures.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const S = proto.WebMessageInfo.Status;
const HT = proto.HistorySync.HistorySyncType;

function ctx(o: Partial<IngestContext> & { lids?: Record<string, string> } = {}): IngestContext {
  return { accountId: 'acc1', now: NOW, source: 'realtime', resolver: mapResolver(new Map(Object.entries(o.lids ?? {}))), ...o };
}
const records = (ms: Mutation[]) => ms.filter((m): m is MessageUpsert => m.kind === 'message').map((m) => m.record);
const ofKind = <K extends Mutation['kind']>(ms: Mutation[], kind: K) =>
  ms.filter((m): m is Extract<Mutation, { kind: K }> => m.kind === kind);

describe('mapHistorySet', () => {
  it('maps a chunk: pairs first, names, messages with their own times; counts total and skips', () => {
    const data = historySet(
      [
        waText('newest', { chat: '500@lid', ts: DEFAULT_TS + 100, pushName: 'Maria' }),
        waImage({ caption: 'pic' }, { chat: '600@lid', ts: DEFAULT_TS + 50 }),
        waText('mine', { chat: PEER_PN, fromMe: true, status: S.READ, ts: DEFAULT_TS + 10 }),
        waMessage(content.keyDistribution(), { chat: GROUP_JID, participant: PEER_PN }),
        waMessage(null, { chat: GROUP_JID, messageStubType: proto.WebMessageInfo.StubType.GROUP_CREATE }),
        waText('story', { chat: 'status@broadcast', participant: PEER_PN }),
      ],
      {
        lidPnMappings: [{ lid: '500@lid', pn: '40750000000@s.whatsapp.net' }],
        chats: [waChat('600@lid', { pnJid: '40760000000@s.whatsapp.net' }), waChat(GROUP_JID, { name: 'Family' })],
        contacts: [{ id: PEER_PN, lid: PEER_LID, name: 'Ion Popescu' }],
        syncType: HT.INITIAL_BOOTSTRAP,
      },
    );
    const batch = mapHistorySet(data, ctx({ source: 'history_sync' }));
    expect(batch.total).toBe(6);
    expect(batch.skipped).toBe(3);
    expect(batch.skipReasons).toEqual({ key_distribution: 1, stub: 1, status_broadcast: 1 });

    const kinds = batch.mutations.map((m) => m.kind);
    expect(kinds.slice(0, 3)).toEqual(['jid-mapping', 'jid-mapping', 'jid-mapping']);
    expect(ofKind(batch.mutations, 'jid-mapping').map((m) => [m.lid, m.pn])).toEqual([
      ['500@lid', '40750000000@s.whatsapp.net'],
      [PEER_LID, PEER_PN],
      ['600@lid', '40760000000@s.whatsapp.net'],
    ]);

    const recs = records(batch.mutations);
    expect(recs.map((r) => [r.body, r.clientJid, r.createdAt])).toEqual([
      ['newest', '40750000000@s.whatsapp.net', (DEFAULT_TS + 100) * 1000],
      ['pic', '40760000000@s.whatsapp.net', (DEFAULT_TS + 50) * 1000],
      ['mine', PEER_PN, (DEFAULT_TS + 10) * 1000],
    ]);
    for (const r of recs)
      expect(r).toMatchObject({ syncSource: 'history_sync', syncedAt: NOW, syncType: 'INITIAL_BOOTSTRAP', tsServer: NOW });
    expect(recs[2]!.status).toBe('read');

    expect(ofKind(batch.mutations, 'thread').map((t) => [t.clientJid, t.displayName, t.source])).toEqual([
      [PEER_PN, 'Ion Popescu', 'contactName'],
      [GROUP_JID, 'Family', 'chatName'],
      ['40750000000@s.whatsapp.net', 'Maria', 'pushName'],
    ]);
  });

  it('a pair learned from any message key resolves the whole chunk, in any order', () => {
    const data = historySet([
      waText('before the alt', { chat: '700@lid', ts: DEFAULT_TS + 3 }),
      waText('with alt', { chat: '700@lid', remoteJidAlt: '40770000000@s.whatsapp.net', ts: DEFAULT_TS + 2 }),
    ]);
    const batch = mapHistorySet(data, ctx());
    expect(batch.mutations[0]).toMatchObject({ kind: 'jid-mapping', lid: '700@lid' });
    expect(records(batch.mutations).map((r) => r.clientJid)).toEqual(['40770000000@s.whatsapp.net', '40770000000@s.whatsapp.net']);
    expect(ofKind(batch.mutations, 'jid-mapping')).toHaveLength(1);
  });

  it.each([
    [HT.ON_DEMAND, undefined, 'backfill', 'ON_DEMAND'],
    [HT.ON_DEMAND, 'history_sync' as const, 'history_sync', 'ON_DEMAND'],
    [HT.RECENT, undefined, 'history_sync', 'RECENT'],
    [HT.FULL, undefined, 'history_sync', 'FULL'],
  ])('syncType %s (onDemandSource %s) → %s', (syncType, onDemandSource, source, name) => {
    const batch = mapHistorySet(historySet([waText('x')], { syncType }), ctx({ ...(onDemandSource ? { onDemandSource } : {}) }));
    expect(records(batch.mutations)[0]).toMatchObject({ syncSource: source, syncType: name, syncedAt: NOW });
  });

  it('keeps the best name per thread: contact > chat > pushName, newest pushName on ties', () => {
    const data = historySet(
      [
        waText('a', { chat: '40711111111@s.whatsapp.net', pushName: 'older', ts: DEFAULT_TS }),
        waText('b', { chat: '40711111111@s.whatsapp.net', pushName: 'newer', ts: DEFAULT_TS + 1 }),
        waText('c', { chat: '40722222222@s.whatsapp.net', pushName: 'push' }),
      ],
      {
        chats: [waChat('40722222222@s.whatsapp.net', { name: 'Chat Name' })],
        contacts: [{ id: '40722222222@s.whatsapp.net', notify: 'notify', verifiedName: 'Biz Ltd' }],
      },
    );
    const names = Object.fromEntries(
      ofKind(mapHistorySet(data, ctx()).mutations, 'thread').map((t) => [t.clientJid, [t.displayName, t.source]]),
    );
    expect(names).toEqual({
      '40711111111@s.whatsapp.net': ['newer', 'pushName'],
      '40722222222@s.whatsapp.net': ['Chat Name', 'chatName'],
    });
  });
});

describe('mapMessagesUpsert', () => {
  it.each(['notify', 'append'] as const)('stores every %s message (inbound, own, offline catch-up)', (type) => {
    const batch = mapMessagesUpsert(
      messagesUpsert([waText('in'), waText('own from phone', { fromMe: true }), waImage({ caption: 'cap' }, { fromMe: true })], type),
      ctx(),
    );
    expect(batch).toMatchObject({ total: 3, skipped: 0, skipReasons: {} });
    expect(records(batch.mutations).map((r) => [r.body, r.direction, r.syncSource, r.syncedAt])).toEqual([
      ['in', 'inbound', 'realtime', null],
      ['own from phone', 'outbound', 'realtime', null],
      ['cap', 'outbound', 'realtime', null],
    ]);
  });

  it('protocol REVOKE / MESSAGE_EDIT become revoke/edit mutations; others are counted skips', () => {
    const batch = mapMessagesUpsert(
      messagesUpsert([
        waMessage(content.revoke('R1'), { ts: DEFAULT_TS + 1 }),
        waMessage(content.edit('E1', content.text('new text'), (DEFAULT_TS + 2) * 1000)),
        waMessage(content.historyNotification(), { fromMe: true }),
        waMessage(content.keyDistribution(), { chat: GROUP_JID, participant: PEER_PN }),
      ]),
      ctx(),
    );
    expect(batch).toMatchObject({ total: 4, skipped: 2, skipReasons: { protocol_message: 1, key_distribution: 1 } });
    expect(batch.mutations).toEqual([
      { kind: 'edit', accountId: 'acc1', clientJid: PEER_PN, messageId: 'E1', body: 'new text', editedAt: (DEFAULT_TS + 2) * 1000 },
      { kind: 'revoke', accountId: 'acc1', clientJid: PEER_PN, messageId: 'R1', revokedAt: (DEFAULT_TS + 1) * 1000 },
    ]);
  });
});

describe('mapMessagesUpdate', () => {
  const key = { remoteJid: PEER_PN, id: 'M1', fromMe: true };

  it.each([
    [S.SERVER_ACK, 'sent'],
    [S.DELIVERY_ACK, 'delivered'],
    [S.READ, 'read'],
    [S.PLAYED, 'read'],
  ])('status %s → %s at the receipt time', (status, expected) => {
    const batch = mapMessagesUpdate([statusUpdate(key, status, DEFAULT_TS + 9)], ctx());
    expect(batch.mutations).toEqual([
      { kind: 'status', accountId: 'acc1', clientJid: PEER_PN, messageId: 'M1', status: expected, at: (DEFAULT_TS + 9) * 1000 },
    ]);
  });

  it('status without a time is at now; PENDING/ERROR are skipped', () => {
    const batch = mapMessagesUpdate(
      [statusUpdate(key, S.DELIVERY_ACK), statusUpdate({ ...key, id: 'M2' }, S.PENDING), statusUpdate({ ...key, id: 'M3' }, S.ERROR)],
      ctx(),
    );
    expect(batch.mutations).toEqual([expect.objectContaining({ messageId: 'M1', status: 'delivered', at: NOW })]);
    expect(batch).toMatchObject({ total: 3, skipped: 2, skipReasons: { status_pending: 1, status_error: 1 } });
  });

  it('several receipts for one message in one event reduce to the furthest', () => {
    const batch = mapMessagesUpdate(
      [
        statusUpdate(key, S.DELIVERY_ACK, DEFAULT_TS + 1),
        statusUpdate(key, S.READ, DEFAULT_TS + 2),
        statusUpdate(key, S.DELIVERY_ACK, DEFAULT_TS + 3),
      ],
      ctx(),
    );
    expect(ofKind(batch.mutations, 'status')).toEqual([expect.objectContaining({ status: 'read', at: (DEFAULT_TS + 2) * 1000 })]);
  });

  it('an edit as Baileys emits it (editedMessage wrapper) → edit with the unwrapped body', () => {
    const batch = mapMessagesUpdate(
      [
        editUpdate(
          { remoteJid: '900@lid', remoteJidAlt: PEER_PN, id: 'M4', fromMe: false },
          content.image({ caption: 'new caption' }),
          DEFAULT_TS + 40,
        ),
      ],
      ctx(),
    );
    expect(batch.mutations).toEqual([
      { kind: 'jid-mapping', accountId: 'acc1', lid: '900@lid', pn: PEER_PN },
      { kind: 'edit', accountId: 'acc1', clientJid: PEER_PN, messageId: 'M4', body: 'new caption', editedAt: (DEFAULT_TS + 40) * 1000 },
    ]);
  });

  it('an edit carrying the raw protocolMessage targets its key and time', () => {
    const raw = content.edit('M5', content.text('v2'), (DEFAULT_TS + 7) * 1000);
    const batch = mapMessagesUpdate([{ key: { ...key, id: 'M5' }, update: { message: raw } }], ctx());
    expect(ofKind(batch.mutations, 'edit')).toEqual([
      expect.objectContaining({ messageId: 'M5', body: 'v2', editedAt: (DEFAULT_TS + 7) * 1000 }),
    ]);
  });

  it('a revoke as Baileys emits it (stub REVOKE, message null) → revoke at now', () => {
    const batch = mapMessagesUpdate([revokeUpdate({ remoteJid: GROUP_JID, id: 'M6', fromMe: false, participant: PEER_PN })], ctx());
    expect(batch.mutations).toEqual([{ kind: 'revoke', accountId: 'acc1', clientJid: GROUP_JID, messageId: 'M6', revokedAt: NOW }]);
  });

  it('skips what it does not store', () => {
    const batch = mapMessagesUpdate(
      [
        { key: { ...key, id: 'S1' }, update: { starred: true } },
        { key: { ...key, id: 'S2' }, update: { message: content.image() } },
        { key: { remoteJid: 'status@broadcast', id: 'S3' }, update: { status: S.READ } },
        { key: { remoteJid: PEER_PN }, update: { status: S.READ } },
      ],
      ctx(),
    );
    expect(batch).toMatchObject({
      mutations: [],
      total: 4,
      skipped: 4,
      skipReasons: { irrelevant_update: 2, status_broadcast: 1, missing_id: 1 },
    });
  });
});

describe('mapReceipts', () => {
  const key = { remoteJid: GROUP_JID, id: 'G1', fromMe: true, participant: '40711111111@s.whatsapp.net' };

  it.each([
    ['delivered', { delivered: DEFAULT_TS + 1 }, 'delivered', DEFAULT_TS + 1],
    ['read', { read: DEFAULT_TS + 2 }, 'read', DEFAULT_TS + 2],
    ['played', { played: DEFAULT_TS + 3 }, 'read', DEFAULT_TS + 3],
  ])('%s receipt', (_n, t, status, at) => {
    const batch = mapReceipts([receipt(key, '40711111111@s.whatsapp.net', t)], ctx());
    expect(batch.mutations).toEqual([{ kind: 'status', accountId: 'acc1', clientJid: GROUP_JID, messageId: 'G1', status, at: at * 1000 }]);
  });

  it('groups: the first participant to read advances the message', () => {
    const batch = mapReceipts(
      [
        receipt(key, '40711111111@s.whatsapp.net', { delivered: DEFAULT_TS + 1 }),
        receipt(key, '40722222222@s.whatsapp.net', { read: DEFAULT_TS + 9 }),
        receipt(key, '40733333333@s.whatsapp.net', { read: DEFAULT_TS + 5 }),
      ],
      ctx(),
    );
    expect(batch.mutations).toEqual([expect.objectContaining<Partial<StatusUpdate>>({ status: 'read', at: (DEFAULT_TS + 5) * 1000 })]);
  });

  it('a receipt without times and a story receipt are skipped', () => {
    const batch = mapReceipts(
      [receipt(key, PEER_PN, {}), receipt({ remoteJid: 'status@broadcast', id: 'X' }, PEER_PN, { read: DEFAULT_TS })],
      ctx(),
    );
    expect(batch).toMatchObject({ mutations: [], total: 2, skipped: 2, skipReasons: { no_receipt_time: 1, status_broadcast: 1 } });
  });
});

describe('mapContacts / mapChats / mapLidMapping', () => {
  it.each<[string, Partial<Contact>, [string, string, string] | null]>([
    ['saved name', { id: PEER_PN, name: 'Ion', notify: 'ion', verifiedName: 'Ion SRL' }, [PEER_PN, 'Ion', 'contactName']],
    ['verified name', { id: PEER_PN, notify: 'ion', verifiedName: 'Ion SRL' }, [PEER_PN, 'Ion SRL', 'verifiedName']],
    ['push name', { id: PEER_PN, notify: 'ion' }, [PEER_PN, 'ion', 'pushName']],
    ['LID contact with phone number', { id: PEER_LID, phoneNumber: PEER_PN, notify: 'ion' }, [PEER_PN, 'ion', 'pushName']],
    ['LID contact, unknown PN', { id: PEER_LID, notify: 'ion' }, [PEER_LID, 'ion', 'pushName']],
    ['blank name', { id: PEER_PN, name: '  ' }, null],
  ])('contact: %s', (_n, contact, expected) => {
    const batch = mapContacts([contact], ctx());
    const threads = ofKind(batch.mutations, 'thread').map((t) => [t.clientJid, t.displayName, t.source]);
    expect(threads).toEqual(expected ? [expected] : []);
    expect(batch.skipped).toBe(expected ? 0 : 1);
  });

  it('contact pairs become mappings; known pairs do not', () => {
    const fresh = mapContacts([{ id: PEER_PN, lid: '1:3@lid' }], ctx());
    expect(fresh.mutations).toEqual([{ kind: 'jid-mapping', accountId: 'acc1', lid: '1@lid', pn: PEER_PN }]);
    expect(fresh.skipped).toBe(0);
    expect(mapContacts([{ id: PEER_PN, lid: '1@lid' }], ctx({ lids: { '1@lid': PEER_PN } })).mutations).toEqual([]);
  });

  it('chats: name → chatName on the canonical JID, pnJid/lidJid → mapping, nameless skipped', () => {
    const batch = mapChats(
      [{ id: '42@lid', pnJid: '40742424242@s.whatsapp.net', name: 'Dan' }, { id: GROUP_JID, name: 'Team' }, { id: PEER_PN }],
      ctx(),
    );
    expect(batch.mutations).toEqual([
      { kind: 'jid-mapping', accountId: 'acc1', lid: '42@lid', pn: '40742424242@s.whatsapp.net' },
      { kind: 'thread', accountId: 'acc1', clientJid: '40742424242@s.whatsapp.net', displayName: 'Dan', source: 'chatName' },
      { kind: 'thread', accountId: 'acc1', clientJid: GROUP_JID, displayName: 'Team', source: 'chatName' },
    ]);
    expect(batch).toMatchObject({ total: 3, skipped: 1, skipReasons: { no_name: 1 } });
  });

  it('lid-mapping.update → one normalised mapping, none when already known or malformed', () => {
    expect(mapLidMapping({ lid: '77:1@lid', pn: '40777777777:2@s.whatsapp.net' }, ctx()).mutations).toEqual([
      { kind: 'jid-mapping', accountId: 'acc1', lid: '77@lid', pn: '40777777777@s.whatsapp.net' },
    ]);
    expect(
      mapLidMapping({ lid: '77@lid', pn: '40777777777@s.whatsapp.net' }, ctx({ lids: { '77@lid': '40777777777@s.whatsapp.net' } }))
        .mutations,
    ).toEqual([]);
    expect(mapLidMapping({ lid: '40777777777@s.whatsapp.net', pn: '77@lid' }, ctx()).mutations).toEqual([]);
  });
});
