import {
  DISPLAY_NAME_RANK,
  MESSAGE_STATUS_ORDER,
  MESSAGE_TYPES,
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

/**
 * Column order of `messages` for positional binding: `messageValues` produces values in exactly this
 * order, and the INSERT/UPDATE statements are generated from this list, so the two cannot drift apart.
 */
export const MESSAGE_COLUMNS = [
  'account_id',
  'id',
  'thread_id',
  'client_jid',
  'direction',
  'body',
  'wa_message_id',
  'status',
  'message_type',
  'media_type',
  'media_url',
  'media_mimetype',
  'media_filename',
  'ts_client',
  'ts_server',
  'created_at',
  'synced_at',
  'sync_source',
  'delivered_at',
  'read_at',
  'content_type',
  'from_me',
  'participant',
  'push_name',
  'sync_type',
  'media_size',
  'media',
  'ref_message_id',
  'edited_at',
  'revoked_at',
  'send_error',
  'raw_message',
] as const;

export interface MessageRow {
  account_id: string;
  id: string;
  thread_id: string;
  client_jid: string;
  direction: string;
  body: string;
  wa_message_id: string;
  status: number;
  message_type: string;
  media_type: string | null;
  media_url: string | null;
  media_mimetype: string | null;
  media_filename: string | null;
  ts_client: string;
  ts_server: number;
  created_at: number;
  synced_at: number | null;
  sync_source: string;
  delivered_at: number | null;
  read_at: number | null;
  content_type: string;
  from_me: number;
  participant: string | null;
  push_name: string | null;
  sync_type: string | null;
  media_size: number | null;
  media: string | null;
  ref_message_id: string | null;
  edited_at: number | null;
  revoked_at: number | null;
  send_error: string | null;
  raw_message: Uint8Array | null;
}

/** Positional values in `MESSAGE_COLUMNS` order. The thread id is passed in: the caller already has it. */
export function messageValues(r: MessageRecord, threadId: string): SqlValue[] {
  return [
    r.accountId,
    r.id,
    threadId,
    r.clientJid,
    r.direction,
    r.body,
    r.waMessageId,
    statusRank(r.status),
    r.messageType,
    r.mediaType,
    r.mediaUrl,
    r.mediaMimetype,
    r.mediaFilename,
    r.tsClient,
    r.tsServer,
    r.createdAt,
    r.syncedAt,
    r.syncSource,
    r.deliveredAt,
    r.readAt,
    r.contentType,
    r.fromMe ? 1 : 0,
    r.participant,
    r.pushName,
    r.syncType,
    r.mediaSize,
    r.media === null ? null : JSON.stringify(r.media),
    r.refMessageId,
    r.editedAt,
    r.revokedAt,
    r.sendError,
    r.rawMessage,
  ];
}

export function rowToMessage(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    clientJid: row.client_jid,
    direction: parseDirection(row.direction),
    body: row.body,
    waMessageId: row.wa_message_id,
    status: statusFromRank(row.status),
    messageType: parseMessageType(row.message_type),
    mediaType: row.media_type,
    mediaUrl: row.media_url,
    mediaMimetype: row.media_mimetype,
    mediaFilename: row.media_filename,
    tsClient: row.ts_client,
    tsServer: row.ts_server,
    createdAt: row.created_at,
    syncedAt: row.synced_at,
    syncSource: parseSyncSource(row.sync_source),
    deliveredAt: row.delivered_at,
    readAt: row.read_at,
    contentType: row.content_type,
    fromMe: row.from_me !== 0,
    participant: row.participant,
    pushName: row.push_name,
    syncType: row.sync_type,
    mediaSize: row.media_size,
    media: row.media === null ? null : parseMediaRef(row.media),
    refMessageId: row.ref_message_id,
    editedAt: row.edited_at,
    revokedAt: row.revoked_at,
    sendError: row.send_error,
    rawMessage: toUint8Array(row.raw_message),
  };
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

const SYNC_SOURCES: ReadonlySet<string> = new Set<SyncSource>(['history_sync', 'realtime', 'backfill', 'outbound_api']);
function parseSyncSource(value: string): SyncSource {
  if (!SYNC_SOURCES.has(value)) throw corrupt('sync source', value);
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
