import { Timestamp } from 'firebase-admin/firestore';
import { describe, expect, it } from 'vitest';
import { docToMessage, docToThread, messageToDoc, threadToDoc } from '../../src/store/firestore/documents.js';
import {
  MESSAGE_COLUMNS,
  THREAD_COLUMNS,
  type MessageRow,
  type ThreadRow,
  messageValues,
  rowToMessage,
  rowToThread,
  threadValues,
} from '../../src/store/sqlite/row-mapping.js';
import { newThread } from '../../src/domain/merge.js';
import type { MessageRecord, ThreadRecord } from '../../src/domain/records.js';
import { makeMessage } from '../support/records.js';

/**
 * Each store maps messages through one typed table of every `MessageRecord` field (a field missing
 * from either fails to compile). These round trips check the tables carry every field, null or not,
 * without a database in between.
 */
const EVERY_FIELD_SET: MessageRecord = makeMessage({
  id: 'FULL1',
  direction: 'outbound',
  status: 'read',
  messageType: 'image',
  mediaType: 'image',
  mediaUrl: 'https://mmg.whatsapp.net/x',
  mediaMimetype: 'image/jpeg',
  mediaFilename: 'photo.jpg',
  syncedAt: 1_700_000_000_001,
  syncSource: 'backfill',
  deliveredAt: 1_700_000_000_002,
  readAt: 1_700_000_000_003,
  contentType: 'imageMessage',
  participant: '40711111111@s.whatsapp.net',
  pushName: 'Ana',
  syncType: 'ON_DEMAND',
  mediaSize: 1234,
  media: { directPath: '/d', url: 'https://mmg', mediaKey: 'a2V5', fileEncSha256: 'ZW5j', fileSha256: 'c2hh', fileLength: 1234 },
  refMessageId: 'REF1',
  editedAt: 1_700_000_000_004,
  revokedAt: 1_700_000_000_005,
  sendError: 'socket closed',
  rawMessage: new Uint8Array([1, 2, 3]),
  senderName: 'Ana (saved)',
  mediaArchivedAt: 1_700_000_000_006,
  mediaSha256: 'ab'.repeat(32),
  mediaArchiveKey: `sha256/ab/${'ab'.repeat(32)}`,
  mediaArchiveError: 'MEDIA_DOWNLOAD_FAILED: gave up',
});
const NO_OPTIONAL_FIELD: MessageRecord = makeMessage({ id: 'BARE1' });

describe.each([
  ['every field set', EVERY_FIELD_SET],
  ['every nullable field null', NO_OPTIONAL_FIELD],
])('message field tables: %s', (_case, record) => {
  it('SQLite: values in MESSAGE_COLUMNS order read back as the same record', () => {
    const values = messageValues(record, `acc-1__${record.clientJid}`);
    expect(values).toHaveLength(MESSAGE_COLUMNS.length);
    const row: MessageRow = Object.fromEntries(MESSAGE_COLUMNS.map((c, i) => [c, values[i] ?? null]));
    expect(row.thread_id).toBe(`acc-1__${record.clientJid}`);
    expect(rowToMessage(row)).toEqual(record);
  });

  it('Firestore: the document reads back as the same record, instants as Timestamps', () => {
    const doc = messageToDoc(record);
    expect(Object.keys(doc).sort()).toEqual([...Object.keys(record).filter((k) => k !== 'id'), 'sortKey'].sort());
    expect(doc.createdAt).toBeInstanceOf(Timestamp);
    expect(doc.tsClient).toBe(record.tsClient);
    expect(docToMessage(record.id, doc)).toEqual(record);
  });
});

const GROUP_THREAD: ThreadRecord = {
  ...newThread('acc-1', '120363000000000001@g.us', 1_700_000_000_000),
  displayName: 'Book club',
  displayNameSource: 'groupSubject',
  lastMessageAt: 1_700_000_000_500,
  lastMessagePreview: 'hi',
  lastMessageId: 'M1',
  lastBackfillAt: 1_700_000_000_600,
  participants: [
    { jid: '111@lid', phoneNumber: '40711111111@s.whatsapp.net', lid: '111@lid', admin: 'superadmin' },
    { jid: '40722222222@s.whatsapp.net', phoneNumber: '40722222222@s.whatsapp.net', lid: null, admin: null },
  ],
  groupAddressingMode: 'lid',
  updatedAt: 1_700_000_000_700,
};
const BARE_THREAD: ThreadRecord = newThread('acc-1', '40711111111@s.whatsapp.net', 1_700_000_000_000);

describe.each([
  ['a group with every field set', GROUP_THREAD],
  ['a 1:1 thread with every nullable field null', BARE_THREAD],
])('thread field tables: %s', (_case, thread) => {
  it('SQLite: values in THREAD_COLUMNS order read back as the same record', () => {
    const values = threadValues(thread);
    expect(values).toHaveLength(THREAD_COLUMNS.length);
    const row = Object.fromEntries(THREAD_COLUMNS.map((c, i) => [c, values[i] ?? null])) as unknown as ThreadRow;
    expect(rowToThread(row)).toEqual(thread);
  });

  it('Firestore: the document reads back as the same record; no lastMessageAt (nor its sort key) until there is a message', () => {
    const doc = threadToDoc(thread);
    const expected = Object.keys(thread).filter((k) => k !== 'id' && !(k === 'lastMessageAt' && thread.lastMessageAt === null));
    expect(Object.keys(doc).sort()).toEqual([...expected, ...(thread.lastMessageAt === null ? [] : ['lastMessageSortKey'])].sort());
    expect(docToThread(thread.id, doc)).toEqual(thread);
  });
});
