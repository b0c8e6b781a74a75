import { describe, expect, it } from 'vitest';
import { newThread } from '../../src/domain/merge.js';
import type { GroupParticipant, MessageRecord, ThreadRecord } from '../../src/domain/records.js';
import { stringifyMessageList, stringifyThreadList } from '../../src/http/list-serializers.js';
import { serializeMessage, serializeThread } from '../../src/http/serialize.js';
import { makeMessage } from '../support/records.js';

/**
 * The compiled serializers of the two list endpoints must write exactly what the generic path
 * (`JSON.stringify` of the same body) writes, over the values the records can hold.
 */
const STRINGS = [
  '',
  'plain',
  'quote " and backslash \\ and slash /',
  'control \u0000 \u0001 \u001f \b \f \n \r \t',
  'emoji 😀👍🏽 and a family 👨‍👩‍👧',
  'lone surrogates \ud800 and \udfff',
  'line separators \u2028 \u2029',
  'ñ, ü, 中文, العربية, עברית',
  '<script>alert(1)</script>',
  'x'.repeat(5000),
];

function thread(overrides: Partial<ThreadRecord> = {}): ThreadRecord {
  return { ...newThread('acc', '40712345678@s.whatsapp.net', 1_700_000_000_000), updatedAt: 1_700_000_000_001, ...overrides };
}

const participants: GroupParticipant[] = [
  { jid: '123@lid', phoneNumber: '40700000001@s.whatsapp.net', lid: '123@lid', admin: 'superadmin' },
  { jid: '40700000002@s.whatsapp.net', phoneNumber: '40700000002@s.whatsapp.net', lid: null, admin: null },
];

const threads: ThreadRecord[] = [
  thread(),
  ...STRINGS.map((s, i) =>
    thread({
      id: `acc__${i}@g.us`,
      displayName: s,
      lastMessagePreview: s,
      lastMessageAt: 1_700_000_000_000 + i,
      lastBackfillAt: 0,
      lastMessageId: s,
      lidJid: `${i}@lid`,
      displayNameSource: 'groupSubject',
      isGroup: true,
      participants,
      groupAddressingMode: 'lid',
    }),
  ),
  // Out-of-range and non-finite instants render as null, as serializeThread decides.
  thread({ lastMessageAt: 8.64e15 + 1, lastBackfillAt: Number.NaN, updatedAt: Number.POSITIVE_INFINITY }),
  // A member with a field a later version may add: the generic path keeps it, so must the compiled one.
  thread({ isGroup: true, participants: [{ ...participants[0]!, extra: 'kept' } as GroupParticipant] }),
];

const messages: MessageRecord[] = [
  makeMessage(),
  ...STRINGS.map((s, i) =>
    makeMessage({
      id: `M${i}`,
      body: s,
      pushName: s,
      senderName: s,
      participant: s,
      sendError: s,
      mediaFilename: s,
      mediaType: 'document',
      mediaMimetype: 'application/pdf',
      mediaUrl: 'https://mmg.whatsapp.net/x?y=1&z="2"',
      mediaSize: i * 1_000_000_007,
      syncedAt: 1_700_000_000_000,
      deliveredAt: 1_700_000_000_001,
      readAt: 1_700_000_000_002,
      editedAt: 1_700_000_000_003,
      revokedAt: 0,
      refMessageId: s,
      syncType: 'FULL',
      fromMe: i % 2 === 0,
      mediaArchivedAt: 1_700_000_000_004,
      mediaSha256: 'ab'.repeat(32),
      mediaArchiveKey: `media/${s}`,
      mediaArchiveError: s,
    }),
  ),
  makeMessage({ id: 'floats', mediaSize: 1.5 }),
  makeMessage({ id: 'big', mediaSize: Number.MAX_SAFE_INTEGER, createdAt: -1 }),
];

describe('list serializers', () => {
  it('thread pages: the same text as JSON.stringify of the same body', () => {
    for (const nextCursor of [null, 'eyJ0cyI6MSwiaWQiOiJhIn0']) {
      for (let n = 0; n <= threads.length; n++) {
        const items = threads.slice(0, n).map(serializeThread);
        const body = { success: true as const, threads: items, count: items.length, nextCursor };
        expect(stringifyThreadList(body)).toBe(JSON.stringify(body));
      }
    }
  });

  it('message pages: the same text as JSON.stringify of the same body', () => {
    for (const t of threads) {
      for (const nextCursor of [null, 'c']) {
        const items = messages.map(serializeMessage);
        const body = { success: true as const, thread: serializeThread(t), messages: items, count: items.length, nextCursor };
        expect(stringifyMessageList(body)).toBe(JSON.stringify(body));
      }
    }
    const empty = { success: true as const, thread: serializeThread(threads[0]!), messages: [], count: 0, nextCursor: null };
    expect(stringifyMessageList(empty)).toBe(JSON.stringify(empty));
  });

  it('a field missing from a record (a document written before it existed) is left out, as JSON.stringify does', () => {
    const { senderName: _s, ...older } = serializeMessage(makeMessage());
    const body = { success: true as const, thread: serializeThread(thread()), messages: [older as never], count: 1, nextCursor: null };
    expect(stringifyMessageList(body)).toBe(JSON.stringify(body));
  });

  it('never writes the hidden fields, whatever the object holds', () => {
    const withSecrets = { ...serializeMessage(makeMessage()), rawMessage: 'AQID', media: { mediaKey: 'S0VZ' } };
    const body = { success: true as const, thread: serializeThread(thread()), messages: [withSecrets], count: 1, nextCursor: null };
    const text = stringifyMessageList(body);
    expect(text).not.toContain('rawMessage');
    expect(text).not.toContain('S0VZ');
  });
});
