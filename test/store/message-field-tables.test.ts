import { Timestamp } from 'firebase-admin/firestore';
import { describe, expect, it } from 'vitest';
import { docToMessage, messageToDoc } from '../../src/store/firestore/documents.js';
import { MESSAGE_COLUMNS, type MessageRow, messageValues, rowToMessage } from '../../src/store/sqlite/row-mapping.js';
import type { MessageRecord } from '../../src/domain/records.js';
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
