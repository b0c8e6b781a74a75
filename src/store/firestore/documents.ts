import { Timestamp, type DocumentData } from 'firebase-admin/firestore';
import {
  DISPLAY_NAME_RANK,
  MESSAGE_STATUS_ORDER,
  ACCOUNT_INSTANT_FIELDS,
  MEDIA_ARCHIVE_FIELDS,
  MESSAGE_TYPES,
  SYNC_SOURCES,
  type AccountPatch,
  type AccountRecord,
  type Direction,
  type DisplayNameSource,
  type GroupParticipant,
  type MediaArchiveFields,
  type MediaRef,
  type MessageRecord,
  type MessageStatus,
  type ThreadRecord,
} from '../../domain/records.js';

/**
 * Record ↔ document mapping. Field names are the record field names (the public contract: README, Data model); instants
 * are held as epoch milliseconds in the process and as Firestore `Timestamp`s in documents, except
 * `tsClient`, which the runbook defines as an ISO 8601 string.
 *
 * Readers are tolerant: documents written by an earlier writer (the app this one replaces) may hold
 * a number or an ISO string where we write a Timestamp, or miss an extension field, and such a
 * document must still read as a complete record rather than fail the whole page.
 */

// ------------------------------------------------------------------ instants

export function toTimestamp(ms: number): Timestamp {
  return Timestamp.fromMillis(ms);
}

export function toTimestampOrNull(ms: number | null): Timestamp | null {
  return ms === null ? null : Timestamp.fromMillis(ms);
}

/** Timestamp, number, Date or ISO string → epoch ms; anything else → null. */
export function millisOf(value: unknown): number | null {
  if (value instanceof Timestamp) return value.toMillis();
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}

// ------------------------------------------------------------------ sort keys

const SORT_KEY_DIGITS = 16;
const NEGATIVE_OFFSET = 10 ** SORT_KEY_DIGITS;

/**
 * A string that orders like the pair (ts, id): fixed-width decimal time, then the id. One range
 * filter on it replaces Firestore's `startAfter(ts, id)` cursor and an order on `__name__`, and a
 * single-field index serves it.
 *
 * Negative times (never produced by ingest, but a cursor may carry one) get a `-` prefix, which sorts
 * before every digit, and an offset so that they still order among themselves.
 */
export function sortKey(ts: number, id: string): string {
  const t = Math.trunc(ts);
  const digits = t >= 0 ? String(t).padStart(SORT_KEY_DIGITS, '0') : `-${String(NEGATIVE_OFFSET + t).padStart(SORT_KEY_DIGITS, '0')}`;
  return `${digits}|${id}`;
}

// ------------------------------------------------------------------ messages

/** How one message field is written to a document and read back from one. */
interface DocField<T> {
  toDoc(value: T): unknown;
  /** `d` is the whole document: a tolerant reader may fall back on another field. */
  fromDoc(value: unknown, d: DocumentData, id: string): T;
}

const as = <T>(read: (value: unknown) => T): DocField<T> => ({ toDoc: (v) => v, fromDoc: read });
const instantOrNull: DocField<number | null> = { toDoc: toTimestampOrNull, fromDoc: millisOf };
const directionOf = (d: DocumentData): Direction => (d.direction === 'outbound' ? 'outbound' : 'inbound');
/** A message's own time; an earlier writer's document may hold it only as `tsClient`. */
const createdAtOf = (d: DocumentData): number => millisOf(d.createdAt) ?? millisOf(d.tsClient) ?? 0;

/**
 * Every field of `MessageRecord` but `id` (the document id) and its document form: a field added to
 * the record fails to compile here until it has one. Writing and reading are derived from this table.
 */
const MESSAGE_DOC_FIELDS: { readonly [K in Exclude<keyof MessageRecord, 'id'>]-?: DocField<MessageRecord[K]> } = {
  accountId: as(str),
  clientJid: as(str),
  direction: as((v) => (v === 'outbound' ? 'outbound' : 'inbound')),
  body: as(str),
  waMessageId: { toDoc: (v) => v, fromDoc: (v, _d, id) => strOr(v, id) },
  status: { toDoc: (v) => v, fromDoc: (v, d) => oneOf(v, MESSAGE_STATUS_ORDER, directionOf(d) === 'outbound' ? 'sent' : 'delivered') },
  messageType: as((v) => oneOf(v, MESSAGE_TYPES, 'other')),
  mediaType: as(strOrNull),
  mediaUrl: as(strOrNull),
  mediaMimetype: as(strOrNull),
  mediaFilename: as(strOrNull),
  // The runbook defines it as an ISO 8601 string, unlike the other instants.
  tsClient: { toDoc: (v) => v, fromDoc: (v, d) => (typeof v === 'string' ? v : new Date(createdAtOf(d)).toISOString()) },
  tsServer: { toDoc: toTimestamp, fromDoc: (v, d) => millisOf(v) ?? createdAtOf(d) },
  createdAt: { toDoc: toTimestamp, fromDoc: (_v, d) => createdAtOf(d) },
  syncedAt: instantOrNull,
  syncSource: as((v) => oneOf(v, SYNC_SOURCES, 'realtime')),
  deliveredAt: instantOrNull,
  readAt: instantOrNull,
  contentType: as(str),
  fromMe: { toDoc: (v) => v, fromDoc: (v, d) => (typeof v === 'boolean' ? v : directionOf(d) === 'outbound') },
  participant: as(strOrNull),
  pushName: as(strOrNull),
  syncType: as(strOrNull),
  mediaSize: as(numOrNull),
  media: { toDoc: (v) => (v === null ? null : { ...v }), fromDoc: mediaOf },
  refMessageId: as(strOrNull),
  editedAt: instantOrNull,
  revokedAt: instantOrNull,
  sendError: as(strOrNull),
  rawMessage: as(bytesOrNull),
  senderName: as(strOrNull),
  mediaArchivedAt: instantOrNull,
  mediaSha256: as(strOrNull),
  mediaArchiveKey: as(strOrNull),
  mediaArchiveError: as(strOrNull),
};

/** The archive's own fields in document form (`recordMediaArchive` updates only these). */
export function mediaArchiveFieldsToDoc(f: MediaArchiveFields): DocumentData {
  const out: DocumentData = {};
  for (const field of MEDIA_ARCHIVE_FIELDS) out[field] = MESSAGE_DOC_FIELDS[field].toDoc(f[field] as never);
  return out;
}

const MESSAGE_DOC_ENTRIES = Object.entries(MESSAGE_DOC_FIELDS) as Array<[Exclude<keyof MessageRecord, 'id'>, DocField<unknown>]>;

/**
 * What a message document holds: every record field but its id (the document id) in its document
 * form (instants as Timestamps, `tsClient` as the ISO string), plus `sortKey`.
 */
export interface MessageDoc extends DocumentData {
  /** Extension: `sortKey(createdAt, id)`, the keyset pagination key of a thread's messages. */
  sortKey: string;
}

export function messageToDoc(m: MessageRecord): MessageDoc {
  const doc: DocumentData = {};
  for (const [field, mapping] of MESSAGE_DOC_ENTRIES) doc[field] = mapping.toDoc(m[field]);
  doc.sortKey = sortKey(m.createdAt, m.id);
  return doc as MessageDoc;
}

export function docToMessage(id: string, d: DocumentData): MessageRecord {
  const out: Record<string, unknown> = { id };
  for (const [field, mapping] of MESSAGE_DOC_ENTRIES) out[field] = mapping.fromDoc(d[field], d, id);
  return out as unknown as MessageRecord;
}

function mediaOf(value: unknown): MediaRef | null {
  if (value === null || typeof value !== 'object') return null;
  const m = value as Record<string, unknown>;
  return {
    directPath: strOrNull(m.directPath),
    url: strOrNull(m.url),
    mediaKey: strOrNull(m.mediaKey),
    fileEncSha256: strOrNull(m.fileEncSha256),
    fileSha256: strOrNull(m.fileSha256),
    fileLength: numOrNull(m.fileLength),
  };
}

/** Field-by-field equality of two records; bytes by content (documents come back as fresh Buffers). */
export function sameMessage(a: MessageRecord, b: MessageRecord): boolean {
  for (const key of Object.keys(a) as Array<keyof MessageRecord>) {
    const x = a[key];
    const y = b[key];
    if (x === y) continue;
    if (x instanceof Uint8Array && y instanceof Uint8Array) {
      if (!Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))) return false;
      continue;
    }
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object') {
      if (JSON.stringify(x) !== JSON.stringify(y)) return false;
      continue;
    }
    return false;
  }
  return true;
}

// ------------------------------------------------------------------ index entries

/**
 * `inboundDedupe/{accountId}__{messageId}` (the runbook's; docs/firestore.md) and its twin `outboundIndex/…`: one entry per
 * stored message, by direction. They make a message findable by id alone (receipts, edits, the
 * actor's lookups) without a collection-group query, and they are what `countMessages` counts.
 */
export interface MessageIndexDoc extends DocumentData {
  accountId: string;
  messageId: string;
  threadId: string;
  /** When the entry was first written (store clock). */
  createdAt: Timestamp;
}

// ------------------------------------------------------------------ threads

/**
 * What a thread document holds: every record field but its id (the document id), instants as
 * Timestamps, plus `lastMessageSortKey`. `lastMessageAt` and `lastMessageSortKey` are absent (not
 * null) until the thread holds a message: such threads drop out of ordered queries.
 */
export type ThreadDoc = DocumentData;

/** `toDoc` answering `undefined` leaves the field out of the document. */
const THREAD_DOC_FIELDS: { readonly [K in Exclude<keyof ThreadRecord, 'id'>]-?: DocField<ThreadRecord[K]> } = {
  accountId: as(str),
  clientJid: as(str),
  displayName: as(strOrNull),
  displayNameSource: as((v) => (typeof v === 'string' && v in DISPLAY_NAME_RANK ? (v as DisplayNameSource) : null)),
  lastMessageAt: { toDoc: (v) => (v === null ? undefined : toTimestamp(v)), fromDoc: millisOf },
  lastMessagePreview: as(strOrNull),
  lastMessageId: as(strOrNull),
  lastBackfillAt: instantOrNull,
  lidJid: as(strOrNull),
  isGroup: { toDoc: (v) => v, fromDoc: (v, d) => (typeof v === 'boolean' ? v : str(d.clientJid).endsWith('@g.us')) },
  participants: { toDoc: (v) => (v === null ? null : v.map((p) => ({ ...p }))), fromDoc: participantsOf },
  groupAddressingMode: as((v) => (v === 'lid' || v === 'pn' ? v : null)),
  createdAt: { toDoc: toTimestamp, fromDoc: (v) => millisOf(v) ?? 0 },
  updatedAt: { toDoc: toTimestamp, fromDoc: (v, d) => millisOf(v) ?? millisOf(d.createdAt) ?? 0 },
};

const THREAD_DOC_ENTRIES = Object.entries(THREAD_DOC_FIELDS) as Array<[Exclude<keyof ThreadRecord, 'id'>, DocField<unknown>]>;

export function threadToDoc(t: ThreadRecord): ThreadDoc {
  const doc: DocumentData = {};
  for (const [field, mapping] of THREAD_DOC_ENTRIES) {
    const value = mapping.toDoc(t[field]);
    if (value !== undefined) doc[field] = value;
  }
  if (t.lastMessageAt !== null) doc.lastMessageSortKey = sortKey(t.lastMessageAt, t.id);
  return doc;
}

export function docToThread(id: string, d: DocumentData): ThreadRecord {
  const out: Record<string, unknown> = { id };
  for (const [field, mapping] of THREAD_DOC_ENTRIES) out[field] = mapping.fromDoc(d[field], d, id);
  return out as unknown as ThreadRecord;
}

function participantsOf(value: unknown): GroupParticipant[] | null {
  if (!Array.isArray(value)) return null;
  return value.flatMap((v): GroupParticipant[] => {
    if (v === null || typeof v !== 'object' || typeof (v as { jid?: unknown }).jid !== 'string') return [];
    const p = v as Record<string, unknown>;
    const admin = p.admin === 'admin' || p.admin === 'superadmin' ? p.admin : null;
    return [{ jid: p.jid as string, phoneNumber: strOrNull(p.phoneNumber), lid: strOrNull(p.lid), admin }];
  });
}

// ------------------------------------------------------------------ pending receipts

/** `wasyncPrivate/{accountId}/pendingReceipts/{messageId}`: a receipt that arrived before its message. */
export interface PendingReceipt {
  status: MessageStatus;
  deliveredAt: number | null;
  readAt: number | null;
}

export function pendingToDoc(accountId: string, messageId: string, p: PendingReceipt, now: number): DocumentData {
  return {
    accountId,
    messageId,
    status: p.status,
    deliveredAt: toTimestampOrNull(p.deliveredAt),
    readAt: toTimestampOrNull(p.readAt),
    updatedAt: toTimestamp(now),
  };
}

export function docToPending(d: DocumentData): PendingReceipt {
  return {
    status: oneOf(d.status, MESSAGE_STATUS_ORDER, 'queued'),
    deliveredAt: millisOf(d.deliveredAt),
    readAt: millisOf(d.readAt),
  };
}

// ------------------------------------------------------------------ accounts

/**
 * Account fields that are instants are stored as Timestamps, so that the runbook's console checks
 * (`lastHistorySyncAt`, `lastBackfillAt`, the lease fields…) show dates; read back as milliseconds.
 */
const ACCOUNT_TIMESTAMPS: ReadonlySet<string> = new Set(ACCOUNT_INSTANT_FIELDS);

/**
 * Patch → document fields. `undefined` means "not patched" and is left out (Firestore rejects it);
 * `null` is a value and is written. Nested results are plain maps.
 */
export function accountFieldsToDoc(patch: AccountPatch | Omit<AccountRecord, 'id'>): DocumentData {
  const out: DocumentData = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined || key === 'id') continue;
    out[key] = ACCOUNT_TIMESTAMPS.has(key) && typeof value === 'number' ? toTimestamp(value) : plainValue(value);
  }
  return out;
}

export function docToAccount(id: string, d: DocumentData): AccountRecord {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(d)) out[key] = fromFirestoreValue(value);
  return { ...(out as Omit<AccountRecord, 'id'>), id };
}

/** Drops `undefined` inside objects (as JSON does) so nested results never trip Firestore. */
function plainValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array || value instanceof Timestamp) return value;
  if (Array.isArray(value)) return value.map((v) => plainValue(v));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plainValue(v);
  return out;
}

function fromFirestoreValue(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toMillis();
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map((v) => fromFirestoreValue(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromFirestoreValue(v);
    return out;
  }
  return value;
}

// ------------------------------------------------------------------ small readers

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function strOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function numOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function bytesOrNull(value: unknown): Uint8Array | null {
  // A copy, not a view: firebase-admin hands out Buffers that may share a pooled ArrayBuffer.
  return value instanceof Uint8Array ? Uint8Array.from(value) : null;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}
