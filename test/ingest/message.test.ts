import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import type { MessageUpsert, Mutation } from '../../src/domain/mutations.js';
import { NOT_ARCHIVED, type MessageRecord, type SyncSource } from '../../src/domain/records.js';
import { mapResolver } from '../../src/ingest/jids.js';
import { mapWAMessage, type IngestContext } from '../../src/ingest/message.js';
import { content, DEFAULT_TS, GROUP_JID, PEER_LID, PEER_PN, waImage, waMessage, waText } from '../support/wa-fixtures.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const S = proto.WebMessageInfo.Status;

function ctx(o: Partial<IngestContext> & { lids?: Record<string, string> } = {}): IngestContext {
  return {
    accountId: 'acc1',
    now: NOW,
    source: 'realtime',
    syncType: null,
    resolver: mapResolver(new Map(Object.entries(o.lids ?? {}))),
    ...o,
  };
}

function mutationsOf(msg: WAMessage, c: IngestContext = ctx()): Mutation[] {
  const r = mapWAMessage(msg, c);
  if ('skip' in r) throw new Error(`unexpected skip: ${r.skip}`);
  return r.mutations;
}

function recordOf(msg: WAMessage, c?: IngestContext): MessageRecord {
  const m = mutationsOf(msg, c).find((x): x is MessageUpsert => x.kind === 'message');
  if (!m) throw new Error('no message mutation');
  return m.record;
}

describe('mapWAMessage: the record', () => {
  it('fills every field for an inbound realtime text', () => {
    const msg = waText('Hello there', { id: 'ABC1', ts: 1_700_000_000, pushName: 'Ion' });
    const rec = recordOf(msg);
    expect(rec).toEqual<MessageRecord>({
      id: 'ABC1',
      accountId: 'acc1',
      clientJid: PEER_PN,
      direction: 'inbound',
      body: 'Hello there',
      waMessageId: 'ABC1',
      status: 'delivered',
      messageType: 'text',
      mediaType: null,
      mediaUrl: null,
      mediaMimetype: null,
      mediaFilename: null,
      tsClient: '2023-11-14T22:13:20.000Z',
      tsServer: NOW,
      createdAt: 1_700_000_000_000,
      syncedAt: null,
      syncSource: 'realtime',
      deliveredAt: null,
      readAt: null,
      contentType: 'conversation',
      fromMe: false,
      participant: null,
      pushName: 'Ion',
      syncType: null,
      mediaSize: null,
      media: null,
      refMessageId: null,
      editedAt: null,
      revokedAt: null,
      sendError: null,
      rawMessage: null,
      senderName: null,
      ...NOT_ARCHIVED,
    });
  });

  it('createdAt is the message time, not the sync time; history sets syncedAt and syncType', () => {
    const c = ctx({ source: 'history_sync', syncType: proto.HistorySync.HistorySyncType.FULL });
    const rec = recordOf(waText('old', { ts: DEFAULT_TS }), c);
    expect(rec.createdAt).toBe(DEFAULT_TS * 1000);
    expect(rec.createdAt).not.toBe(NOW);
    expect(rec.tsClient).toBe('2024-01-01T00:00:00.000Z');
    expect(rec).toMatchObject({ tsServer: NOW, syncedAt: NOW, syncSource: 'history_sync', syncType: 'FULL' });
  });

  it.each<[SyncSource, number | null, number | null, string | null]>([
    ['realtime', null, null, null],
    ['outbound_api', null, null, null],
    ['backfill', proto.HistorySync.HistorySyncType.ON_DEMAND, NOW, 'ON_DEMAND'],
    ['history_sync', proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, NOW, 'INITIAL_BOOTSTRAP'],
  ])('source %s → syncedAt/syncType', (source, syncType, syncedAt, name) => {
    expect(recordOf(waText('x'), ctx({ source, syncType }))).toMatchObject({ syncSource: source, syncedAt, syncType: name });
  });

  it.each([
    ['Long timestamp', false],
    ['plain number timestamp', true],
  ])('%s', (_name, plainTimestamp) => {
    const msg = waText('t', { ts: 1_650_000_000, plainTimestamp });
    expect(typeof msg.messageTimestamp === 'number').toBe(plainTimestamp);
    expect(recordOf(msg).createdAt).toBe(1_650_000_000_000);
  });

  it('clamps a future timestamp to now; a missing one becomes now', () => {
    expect(recordOf(waText('f', { ts: NOW / 1000 + 7 * 86_400 })).createdAt).toBe(NOW);
    const noTs = waText('n');
    noTs.messageTimestamp = null;
    expect(recordOf(noTs).createdAt).toBe(NOW);
  });

  it('media: caption as body, media fields, raw proto kept for download', () => {
    const msg = waImage({ caption: 'beach', mimetype: 'image/jpeg', fileLength: 2048 });
    const rec = recordOf(msg);
    expect(rec).toMatchObject({ messageType: 'image', mediaType: 'image', body: 'beach', mediaMimetype: 'image/jpeg', mediaSize: 2048 });
    expect(rec.mediaUrl).toMatch(/^https:\/\/mmg\.whatsapp\.net\//);
    expect(rec.media?.mediaKey).toEqual(expect.any(String));
    expect(rec.rawMessage).toBeInstanceOf(Uint8Array);
    expect(proto.Message.decode(rec.rawMessage!).imageMessage?.caption).toBe('beach');
  });

  it('rawMessage only for own messages and media', () => {
    expect(recordOf(waText('in')).rawMessage).toBeNull();
    const own = recordOf(waText('mine', { fromMe: true }));
    expect(proto.Message.decode(own.rawMessage!).conversation).toBe('mine');
    // Its own buffer, not a view into protobufjs' shared pool.
    expect(own.rawMessage!.buffer.byteLength).toBe(own.rawMessage!.byteLength);
  });

  it('keeps the reference of a quote', () => {
    expect(recordOf(waMessage(content.extendedText('agreed', 'Q1'))).refMessageId).toBe('Q1');
  });
});

describe('mapWAMessage: status', () => {
  it.each([
    [S.PENDING, 'queued', null],
    [S.SERVER_ACK, 'sent', null],
    [S.DELIVERY_ACK, 'delivered', null],
    [S.READ, 'read', null],
    [S.PLAYED, 'read', null],
    [S.ERROR, 'queued', expect.stringContaining('ERROR')],
    [undefined, 'sent', null],
  ])('outbound status %s → %s', (status, expected, sendError) => {
    const rec = recordOf(waText('o', { fromMe: true, ...(status !== undefined ? { status } : {}) }));
    expect(rec).toMatchObject({ direction: 'outbound', fromMe: true, status: expected, sendError });
  });

  it('inbound is delivered whatever WhatsApp says', () => {
    expect(recordOf(waText('i', { status: S.SERVER_ACK })).status).toBe('delivered');
  });

  it('userReceipt times become deliveredAt/readAt and move the status forward (earliest participant)', () => {
    const rec = recordOf(
      waText('g', {
        chat: GROUP_JID,
        fromMe: true,
        status: S.SERVER_ACK,
        userReceipt: [
          { userJid: '40711111111@s.whatsapp.net', receiptTimestamp: DEFAULT_TS + 20, readTimestamp: DEFAULT_TS + 90 },
          { userJid: '40722222222@s.whatsapp.net', receiptTimestamp: DEFAULT_TS + 10 },
        ],
      }),
    );
    expect(rec).toMatchObject({ status: 'read', deliveredAt: (DEFAULT_TS + 10) * 1000, readAt: (DEFAULT_TS + 90) * 1000 });
  });

  it('a played receipt alone means read, and read implies delivered', () => {
    const rec = recordOf(waText('v', { fromMe: true, userReceipt: [{ userJid: PEER_PN, playedTimestamp: DEFAULT_TS + 5 }] }));
    expect(rec).toMatchObject({ status: 'read', readAt: (DEFAULT_TS + 5) * 1000, deliveredAt: (DEFAULT_TS + 5) * 1000 });
  });
});

describe('mapWAMessage: JIDs and names', () => {
  it('LID chat with remoteJidAlt → PN thread, mapping emitted first', () => {
    const muts = mutationsOf(waText('hi', { chat: '123@lid', remoteJidAlt: '40712345678@s.whatsapp.net', pushName: 'Ana' }));
    expect(muts[0]).toEqual({ kind: 'jid-mapping', accountId: 'acc1', lid: '123@lid', pn: '40712345678@s.whatsapp.net' });
    const rec = (muts.find((m) => m.kind === 'message') as MessageUpsert).record;
    expect(rec.clientJid).toBe('40712345678@s.whatsapp.net');
    expect(muts).toContainEqual({
      kind: 'thread',
      accountId: 'acc1',
      clientJid: '40712345678@s.whatsapp.net',
      displayName: 'Ana',
      source: 'pushName',
    });
  });

  it('LID chat with no alt and no known mapping keeps the LID', () => {
    const muts = mutationsOf(waText('hi', { chat: PEER_LID }));
    expect(muts.filter((m) => m.kind === 'jid-mapping')).toEqual([]);
    expect((muts[0] as MessageUpsert).record.clientJid).toBe(PEER_LID);
  });

  it('LID chat with the mapping in the resolver → PN, no new mapping', () => {
    const muts = mutationsOf(waText('hi', { chat: PEER_LID }), ctx({ lids: { [PEER_LID]: PEER_PN } }));
    expect(muts.map((m) => m.kind)).toEqual(['message']);
    expect((muts[0] as MessageUpsert).record.clientJid).toBe(PEER_PN);
  });

  it('PN chat with a LID alt emits the pairing too', () => {
    const muts = mutationsOf(waText('hi', { remoteJidAlt: PEER_LID }));
    expect(muts[0]).toMatchObject({ kind: 'jid-mapping', lid: PEER_LID, pn: PEER_PN });
  });

  it('device suffixes are stripped from chat and participant', () => {
    const rec = recordOf(waText('d', { chat: '40712345678:23@s.whatsapp.net' }));
    expect(rec.clientJid).toBe(PEER_PN);
    const g = recordOf(waText('g', { chat: GROUP_JID, participant: '40799999999:4@s.whatsapp.net' }));
    expect(g).toMatchObject({ clientJid: GROUP_JID, participant: '40799999999@s.whatsapp.net' });
  });

  it('group: participant LID resolved via participantAlt; group is the thread; no pushName thread name', () => {
    const muts = mutationsOf(
      waText('hey all', { chat: GROUP_JID, participant: '777:2@lid', participantAlt: '40777777777@s.whatsapp.net', pushName: 'Vlad' }),
    );
    expect(muts[0]).toMatchObject({ kind: 'jid-mapping', lid: '777@lid', pn: '40777777777@s.whatsapp.net' });
    const rec = (muts.find((m) => m.kind === 'message') as MessageUpsert).record;
    expect(rec).toMatchObject({ clientJid: GROUP_JID, participant: '40777777777@s.whatsapp.net', pushName: 'Vlad' });
    expect(muts.some((m) => m.kind === 'thread')).toBe(false);
  });

  it('group participant LID without alt stays a LID unless known', () => {
    expect(recordOf(waText('x', { chat: GROUP_JID, participant: '888@lid' })).participant).toBe('888@lid');
    expect(
      recordOf(waText('x', { chat: GROUP_JID, participant: '888@lid' }), ctx({ lids: { '888@lid': '40788888888@s.whatsapp.net' } }))
        .participant,
    ).toBe('40788888888@s.whatsapp.net');
  });

  it('own messages do not name the thread', () => {
    expect(mutationsOf(waText('me', { fromMe: true, pushName: 'Me' })).some((m) => m.kind === 'thread')).toBe(false);
  });
});

describe('mapWAMessage: protocol messages', () => {
  it('REVOKE in an upsert → revoke of the target at the revoke message time', () => {
    const muts = mutationsOf(waMessage(content.revoke('T1'), { chat: '123@lid', remoteJidAlt: PEER_PN, ts: DEFAULT_TS + 60 }));
    expect(muts).toContainEqual({
      kind: 'revoke',
      accountId: 'acc1',
      clientJid: PEER_PN,
      messageId: 'T1',
      revokedAt: (DEFAULT_TS + 60) * 1000,
    });
    expect(muts.some((m) => m.kind === 'message')).toBe(false);
  });

  it('MESSAGE_EDIT in an upsert → edit with the new body, edit time from timestampMs', () => {
    const muts = mutationsOf(waMessage(content.edit('T2', content.extendedText('corrected'), (DEFAULT_TS + 30) * 1000)));
    expect(muts).toEqual([
      { kind: 'edit', accountId: 'acc1', clientJid: PEER_PN, messageId: 'T2', body: 'corrected', editedAt: (DEFAULT_TS + 30) * 1000 },
    ]);
  });

  it('MESSAGE_EDIT without timestampMs uses the edit message time', () => {
    const muts = mutationsOf(waMessage(content.edit('T3', content.text('v2')), { ts: DEFAULT_TS + 5 }));
    expect(muts[0]).toMatchObject({ kind: 'edit', messageId: 'T3', editedAt: (DEFAULT_TS + 5) * 1000 });
  });
});

describe('mapWAMessage: skips never throw', () => {
  const keyless = { message: { conversation: 'x' } } as unknown as WAMessage;
  const noId = waText('x');
  noId.key.id = null;
  const noJid = waText('x');
  noJid.key.remoteJid = undefined;
  it.each([
    ['missing key', keyless, 'missing_key'],
    ['missing id', noId, 'missing_id'],
    ['missing remoteJid', noJid, 'missing_remote_jid'],
    ['null message', waMessage(null), 'no_content'],
    ['stub without content', waMessage(null, { messageStubType: proto.WebMessageInfo.StubType.GROUP_PARTICIPANT_ADD }), 'stub'],
    ['ciphertext stub', waMessage(null, { messageStubType: proto.WebMessageInfo.StubType.CIPHERTEXT }), 'stub'],
    ['status@broadcast', waText('story', { chat: 'status@broadcast', participant: PEER_PN }), 'status_broadcast'],
    ['history notification', waMessage(content.historyNotification(), { fromMe: true }), 'protocol_message'],
    ['key distribution', waMessage(content.keyDistribution(), { chat: GROUP_JID, participant: PEER_PN }), 'key_distribution'],
    ['poll vote', waMessage(content.pollVote('P')), 'poll_update'],
  ])('%s → %s', (_name, msg, reason) => {
    expect(mapWAMessage(msg, ctx())).toEqual({ skip: reason });
  });
});
