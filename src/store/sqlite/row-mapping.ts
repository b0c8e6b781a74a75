import {
  DISPLAY_NAME_RANK,
  MESSAGE_STATUS_ORDER,
  MESSAGE_TYPES,
  SYNC_SOURCES,
  statusRank,
  type AccountRecord,
  type Direction,
  type DisplayNameSource,
  type GroupParticipant,
  type MediaArchiveFields,
  type MediaRef,
  type MessageRecord,
  type MessageStatus,
  type MessageType,
  type SyncSource,
  type ThreadRecord,
} from '../../domain/records.js';
import { StoreError } from '../../domain/errors.js';

/** Values better-sqlite3 binds without surprises (booleans are not among them). */
export type SqlValue = string | number | null | Uint8Array;

/** How one record field is held in one column. */
interface Column<T> {
  name: string;
  /** The value is stored as is (`fromSql` is the identity): a page read copies it without a call. */
  plain?: true;
  toSql(value: T): SqlValue;
  fromSql(value: SqlValue): T;
}

const plain = <T extends SqlValue>(name: string): Column<T> => ({ name, plain: true, toSql: (v) => v, fromSql: (v) => v as T });
const text = (name: string): Column<string> => plain(name);
const textOrNull = (name: string): Column<string | null> => plain(name);
const integer = (name: string): Column<number> => plain(name);
const integerOrNull = (name: string): Column<number | null> => plain(name);

/**
 * Every field of `MessageRecord` and its column: a field added to the record fails to compile here
 * until it has one (and the schema a migration for it). Columns, INSERT/UPDATE statements, values and
 * row reading are all derived from this table, so they cannot drift apart. `account_id` and `id`
 * come first: they are the key, which an UPDATE binds last.
 */
const MESSAGE_FIELD_COLUMNS: { readonly [K in keyof MessageRecord]-?: Column<MessageRecord[K]> } = {
  accountId: text('account_id'),
  id: text('id'),
  clientJid: text('client_jid'),
  direction: { name: 'direction', toSql: (v) => v, fromSql: (v) => parseDirection(v as string) },
  body: text('body'),
  waMessageId: text('wa_message_id'),
  // Stored as its rank, so that "status only moves forward" is a comparison in SQL.
  status: { name: 'status', toSql: (v) => statusRank(v), fromSql: (v) => statusFromRank(v as number) },
  messageType: { name: 'message_type', toSql: (v) => v, fromSql: (v) => parseMessageType(v as string) },
  mediaType: textOrNull('media_type'),
  mediaUrl: textOrNull('media_url'),
  mediaMimetype: textOrNull('media_mimetype'),
  mediaFilename: textOrNull('media_filename'),
  tsClient: text('ts_client'),
  tsServer: integer('ts_server'),
  createdAt: integer('created_at'),
  syncedAt: integerOrNull('synced_at'),
  syncSource: { name: 'sync_source', toSql: (v) => v, fromSql: (v) => parseSyncSource(v as string) },
  deliveredAt: integerOrNull('delivered_at'),
  readAt: integerOrNull('read_at'),
  contentType: text('content_type'),
  fromMe: { name: 'from_me', toSql: (v) => (v ? 1 : 0), fromSql: (v) => v !== 0 },
  participant: textOrNull('participant'),
  pushName: textOrNull('push_name'),
  syncType: textOrNull('sync_type'),
  mediaSize: integerOrNull('media_size'),
  media: {
    name: 'media',
    toSql: (v) => (v === null ? null : JSON.stringify(v)),
    fromSql: (v) => (v === null ? null : parseMediaRef(v as string)),
  },
  refMessageId: textOrNull('ref_message_id'),
  editedAt: integerOrNull('edited_at'),
  revokedAt: integerOrNull('revoked_at'),
  sendError: textOrNull('send_error'),
  rawMessage: { name: 'raw_message', toSql: (v) => v, fromSql: (v) => toUint8Array(v as Uint8Array | null) },
  senderName: textOrNull('sender_name'),
  mediaArchivedAt: integerOrNull('media_archived_at'),
  mediaSha256: textOrNull('media_sha256'),
  mediaArchiveKey: textOrNull('media_archive_key'),
  mediaArchiveError: textOrNull('media_archive_error'),
};

/** The columns of the archive's own message fields, for its targeted UPDATE (`recordMediaArchive`). */
export const MEDIA_ARCHIVE_COLUMNS: { readonly [K in keyof MediaArchiveFields]: string } = {
  mediaArchivedAt: MESSAGE_FIELD_COLUMNS.mediaArchivedAt.name,
  mediaSha256: MESSAGE_FIELD_COLUMNS.mediaSha256.name,
  mediaArchiveKey: MESSAGE_FIELD_COLUMNS.mediaArchiveKey.name,
  mediaArchiveError: MESSAGE_FIELD_COLUMNS.mediaArchiveError.name,
};

type MessageField = keyof MessageRecord;
const KEY_FIELDS = ['accountId', 'id'] as const satisfies readonly MessageField[];
const VALUE_FIELDS = (Object.keys(MESSAGE_FIELD_COLUMNS) as MessageField[]).filter((f) => !(KEY_FIELDS as readonly string[]).includes(f));
const FIELD_ENTRIES = (Object.keys(MESSAGE_FIELD_COLUMNS) as MessageField[]).map((f) => [f, MESSAGE_FIELD_COLUMNS[f]] as const);

/**
 * Column order of `messages` for positional binding: the key, the thread (derived, not a record
 * field), then every other field in table order. `messageValues` produces values in exactly this order.
 */
export const MESSAGE_COLUMNS: readonly string[] = [
  ...KEY_FIELDS.map((f) => MESSAGE_FIELD_COLUMNS[f].name),
  'thread_id',
  ...VALUE_FIELDS.map((f) => MESSAGE_FIELD_COLUMNS[f].name),
];

/**
 * The columns the API's message pages read (`ListOptions.fields = 'api'`): every field but the two
 * the API never returns (`rawMessage`, the encoded proto; `media`, which holds the decryption key).
 * `rowToMessage` reads the missing ones as null.
 */
export const API_MESSAGE_HIDDEN_FIELDS = ['rawMessage', 'media'] as const satisfies readonly MessageField[];
const API_FIELD_ENTRIES = FIELD_ENTRIES.filter(([f]) => !(API_MESSAGE_HIDDEN_FIELDS as readonly string[]).includes(f));
export const API_MESSAGE_COLUMNS: readonly string[] = API_FIELD_ENTRIES.map(([, c]) => c.name);

/**
 * A row of `API_MESSAGE_COLUMNS` read in better-sqlite3's raw mode (an array, in column order: about
 * half the cost of a keyed row object, which dominates a page read) → the record, `rawMessage` and
 * `media` null.
 */
export function apiRowToMessage(row: readonly SqlValue[]): MessageRecord {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < API_FIELD_ENTRIES.length; i++) {
    const [f, column] = API_FIELD_ENTRIES[i]!;
    const v = row[i] ?? null;
    out[f] = column.plain ? v : (column as Column<unknown>).fromSql(v);
  }
  for (const f of API_MESSAGE_HIDDEN_FIELDS) out[f] = null;
  return out as unknown as MessageRecord;
}

/** A `messages` row as better-sqlite3 returns it: column name → value. */
export type MessageRow = Readonly<Record<string, SqlValue>>;

/** Positional values in `MESSAGE_COLUMNS` order. The thread id is passed in: the caller already has it. */
export function messageValues(r: MessageRecord, threadId: string): SqlValue[] {
  const out: SqlValue[] = [r.accountId, r.id, threadId];
  for (const f of VALUE_FIELDS) out.push((MESSAGE_FIELD_COLUMNS[f] as Column<unknown>).toSql(r[f]));
  return out;
}

export function rowToMessage(row: MessageRow): MessageRecord {
  const out: Record<string, unknown> = {};
  for (const [f, column] of FIELD_ENTRIES) out[f] = (column as Column<unknown>).fromSql(row[column.name] ?? null);
  return out as unknown as MessageRecord;
}

/**
 * A `threads` row as better-sqlite3 returns it. The named columns are the ones the SQL code reads
 * directly; `rowToThread` reads every column through the table below.
 */
export interface ThreadRow {
  readonly [column: string]: SqlValue;
  id: string;
  account_id: string;
  client_jid: string;
  display_name: string | null;
  display_name_source: string | null;
  last_message_at: number | null;
  last_message_preview: string | null;
  last_message_id: string | null;
  last_backfill_at: number | null;
  lid_jid: string | null;
  is_group: number;
  participants: string | null;
  group_addressing_mode: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * Every field of `ThreadRecord` and its column, like the message table above: a field added to the
 * record fails to compile here until it has one. `id` comes first: an UPDATE binds it last.
 */
const THREAD_FIELD_COLUMNS: { readonly [K in keyof ThreadRecord]-?: Column<ThreadRecord[K]> } = {
  id: text('id'),
  accountId: text('account_id'),
  clientJid: text('client_jid'),
  displayName: textOrNull('display_name'),
  displayNameSource: {
    name: 'display_name_source',
    toSql: (v) => v,
    fromSql: (v) => (v === null ? null : parseDisplayNameSource(v as string)),
  },
  lastMessageAt: integerOrNull('last_message_at'),
  lastMessagePreview: textOrNull('last_message_preview'),
  lastMessageId: textOrNull('last_message_id'),
  lastBackfillAt: integerOrNull('last_backfill_at'),
  lidJid: textOrNull('lid_jid'),
  isGroup: { name: 'is_group', toSql: (v) => (v ? 1 : 0), fromSql: (v) => v !== 0 },
  participants: {
    name: 'participants',
    toSql: (v) => (v === null ? null : JSON.stringify(v)),
    fromSql: (v) => (v === null ? null : parseParticipants(v as string)),
  },
  groupAddressingMode: {
    name: 'group_addressing_mode',
    toSql: (v) => v,
    fromSql: (v) => (v === 'lid' || v === 'pn' ? v : null),
  },
  createdAt: integer('created_at'),
  updatedAt: integer('updated_at'),
};

const THREAD_FIELDS = Object.keys(THREAD_FIELD_COLUMNS) as Array<keyof ThreadRecord>;

/** Column order of `threads` for positional binding (`id` first); `threadValues` produces values in this order. */
export const THREAD_COLUMNS: readonly string[] = THREAD_FIELDS.map((f) => THREAD_FIELD_COLUMNS[f].name);

export function threadValues(t: ThreadRecord): SqlValue[] {
  return THREAD_FIELDS.map((f) => (THREAD_FIELD_COLUMNS[f] as Column<unknown>).toSql(t[f]));
}

export function rowToThread(row: ThreadRow): ThreadRecord {
  const out: Record<string, unknown> = {};
  for (const f of THREAD_FIELDS) out[f] = (THREAD_FIELD_COLUMNS[f] as Column<unknown>).fromSql(row[THREAD_FIELD_COLUMNS[f].name] ?? null);
  return out as unknown as ThreadRecord;
}

export function statusFromRank(rank: number): MessageStatus {
  const status = MESSAGE_STATUS_ORDER[rank];
  if (status === undefined) throw corrupt('status rank', rank);
  return status;
}

export function parseAccount(data: string): AccountRecord {
  const parsed: unknown = JSON.parse(data);
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { id?: unknown }).id !== 'string') {
    throw corrupt('account document', data.slice(0, 80));
  }
  return parsed as AccountRecord;
}

/** better-sqlite3 hands blobs back as Buffers; callers get the plain Uint8Array the records declare. */
export function toUint8Array(value: Uint8Array | null): Uint8Array | null {
  if (value === null) return null;
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

// The parsers below guard against a hand-edited or corrupted file: a value outside the union would
// otherwise travel through the typed code as if it were valid.

const DIRECTIONS: ReadonlySet<string> = new Set<Direction>(['inbound', 'outbound']);
function parseDirection(value: string): Direction {
  if (!DIRECTIONS.has(value)) throw corrupt('direction', value);
  return value as Direction;
}

const MESSAGE_TYPE_SET: ReadonlySet<string> = new Set<string>(MESSAGE_TYPES);
export function parseMessageType(value: string): MessageType {
  if (!MESSAGE_TYPE_SET.has(value)) throw corrupt('message type', value);
  return value as MessageType;
}

const SYNC_SOURCE_SET: ReadonlySet<string> = new Set<string>(SYNC_SOURCES);
function parseSyncSource(value: string): SyncSource {
  if (!SYNC_SOURCE_SET.has(value)) throw corrupt('sync source', value);
  return value as SyncSource;
}

function parseDisplayNameSource(value: string): DisplayNameSource {
  if (!Object.hasOwn(DISPLAY_NAME_RANK, value)) throw corrupt('display name source', value);
  return value as DisplayNameSource;
}

function parseParticipants(json: string): GroupParticipant[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw corrupt('group participants', json.slice(0, 80));
  return parsed as GroupParticipant[];
}

function parseMediaRef(json: string): MediaRef {
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== 'object' || parsed === null) throw corrupt('media ref', json.slice(0, 80));
  return parsed as MediaRef;
}

function corrupt(what: string, value: unknown): StoreError {
  return new StoreError(`stored ${what} is not valid: ${String(value)}`);
}
