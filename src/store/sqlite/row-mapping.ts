import {
  DISPLAY_NAME_RANK,
  MESSAGE_STATUS_ORDER,
  MESSAGE_TYPES,
  SYNC_SOURCES,
  statusRank,
  type AccountRecord,
  type Direction,
  type DisplayNameSource,
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
  toSql(value: T): SqlValue;
  fromSql(value: SqlValue): T;
}

const text = (name: string): Column<string> => ({ name, toSql: (v) => v, fromSql: (v) => v as string });
const textOrNull = (name: string): Column<string | null> => ({ name, toSql: (v) => v, fromSql: (v) => v as string | null });
const integer = (name: string): Column<number> => ({ name, toSql: (v) => v, fromSql: (v) => v as number });
const integerOrNull = (name: string): Column<number | null> => ({ name, toSql: (v) => v, fromSql: (v) => v as number | null });

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

export interface ThreadRow {
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
  created_at: number;
  updated_at: number;
}

export const THREAD_COLUMNS = [
  'id',
  'account_id',
  'client_jid',
  'display_name',
  'display_name_source',
  'last_message_at',
  'last_message_preview',
  'last_message_id',
  'last_backfill_at',
  'lid_jid',
  'is_group',
  'created_at',
  'updated_at',
] as const;

export function threadValues(t: ThreadRecord): SqlValue[] {
  return [
    t.id,
    t.accountId,
    t.clientJid,
    t.displayName,
    t.displayNameSource,
    t.lastMessageAt,
    t.lastMessagePreview,
    t.lastMessageId,
    t.lastBackfillAt,
    t.lidJid,
    t.isGroup ? 1 : 0,
    t.createdAt,
    t.updatedAt,
  ];
}

export function rowToThread(row: ThreadRow): ThreadRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    clientJid: row.client_jid,
    displayName: row.display_name,
    lastMessageAt: row.last_message_at,
    lastMessagePreview: row.last_message_preview,
    lastBackfillAt: row.last_backfill_at,
    lastMessageId: row.last_message_id,
    lidJid: row.lid_jid,
    displayNameSource: row.display_name_source === null ? null : parseDisplayNameSource(row.display_name_source),
    isGroup: row.is_group !== 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
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

function parseMediaRef(json: string): MediaRef {
  const parsed: unknown = JSON.parse(json);
  if (typeof parsed !== 'object' || parsed === null) throw corrupt('media ref', json.slice(0, 80));
  return parsed as MediaRef;
}

function corrupt(what: string, value: unknown): StoreError {
  return new StoreError(`stored ${what} is not valid: ${String(value)}`);
}
