import { Timestamp, type DocumentData } from 'firebase-admin/firestore';

/**
 * The Firestore data contract as checkable tables: field names and value kinds of the documents the
 * seeds (../shared/seeds/000_*.txt) define, plus the extensions docs/firestore.md documents. Used by
 * the end-to-end tests that read raw documents back with plain firebase-admin.
 */

/** Firestore value kinds, as the console shows them. */
export type Kind = 'string' | 'number' | 'boolean' | 'null' | 'timestamp' | 'bytes' | 'map' | 'array';

export function kindOf(value: unknown): Kind | 'absent' | 'other' {
  if (value === undefined) return 'absent';
  if (value === null) return 'null';
  if (value instanceof Timestamp) return 'timestamp';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return typeof value as Kind;
  if (typeof value === 'object') return 'map';
  return 'other';
}

export type Schema = Record<string, ReadonlyArray<Kind | 'absent'>>;

/**
 * What is wrong with `doc` against `schema`: missing or unexpected fields, fields of another kind.
 * Empty when the document has exactly the schema's fields, each of one of the listed kinds.
 */
export function schemaProblems(doc: DocumentData | undefined, schema: Schema, where: string): string[] {
  if (doc === undefined) return [`${where}: missing document`];
  const problems: string[] = [];
  for (const field of Object.keys(doc)) if (!(field in schema)) problems.push(`${where}.${field}: not in the schema`);
  for (const [field, kinds] of Object.entries(schema)) {
    const kind = kindOf(doc[field]);
    if (!(kinds as readonly string[]).includes(kind)) problems.push(`${where}.${field}: ${kind}, expected ${kinds.join(' | ')}`);
  }
  return problems;
}

/** Seed 000, `threads/{threadId}/messages/{messageId}`. */
export const SEED_MESSAGE_FIELDS = [
  'accountId',
  'clientJid',
  'direction',
  'body',
  'waMessageId',
  'status',
  'messageType',
  'mediaType',
  'mediaUrl',
  'mediaMimetype',
  'mediaFilename',
  'tsClient',
  'tsServer',
  'createdAt',
  'syncedAt',
  'syncSource',
  'deliveredAt',
  'readAt',
] as const;

export const MESSAGE_SCHEMA: Schema = {
  accountId: ['string'],
  clientJid: ['string'],
  direction: ['string'],
  body: ['string'],
  waMessageId: ['string'],
  status: ['string'],
  messageType: ['string'],
  mediaType: ['string', 'null'],
  mediaUrl: ['string', 'null'],
  mediaMimetype: ['string', 'null'],
  mediaFilename: ['string', 'null'],
  tsClient: ['string'],
  tsServer: ['timestamp'],
  createdAt: ['timestamp'],
  syncedAt: ['timestamp', 'null'],
  syncSource: ['string'],
  deliveredAt: ['timestamp', 'null'],
  readAt: ['timestamp', 'null'],
  // documented extensions (docs/firestore.md)
  contentType: ['string'],
  fromMe: ['boolean'],
  participant: ['string', 'null'],
  pushName: ['string', 'null'],
  syncType: ['string', 'null'],
  mediaSize: ['number', 'null'],
  media: ['map', 'null'],
  refMessageId: ['string', 'null'],
  editedAt: ['timestamp', 'null'],
  revokedAt: ['timestamp', 'null'],
  sendError: ['string', 'null'],
  rawMessage: ['bytes', 'null'],
  senderName: ['string', 'null'],
  // the media archive's fields: written by the archive runner alone, absent until it gets to the message
  mediaArchivedAt: ['timestamp', 'null', 'absent'],
  mediaSha256: ['string', 'null', 'absent'],
  mediaArchiveKey: ['string', 'null', 'absent'],
  mediaArchiveError: ['string', 'null', 'absent'],
  sortKey: ['string'],
};

/** Seed 000, `threads/{threadId}`, for a thread that holds at least one message. */
export const SEED_THREAD_FIELDS = [
  'accountId',
  'clientJid',
  'displayName',
  'lastMessageAt',
  'lastMessagePreview',
  'lastBackfillAt',
] as const;

export const THREAD_SCHEMA: Schema = {
  accountId: ['string'],
  clientJid: ['string'],
  displayName: ['string', 'null'],
  lastMessageAt: ['timestamp'],
  lastMessagePreview: ['string', 'null'],
  lastBackfillAt: ['timestamp', 'null'],
  // documented extensions
  displayNameSource: ['string', 'null'],
  lastMessageId: ['string', 'null'],
  lastMessageSortKey: ['string'],
  lidJid: ['string', 'null'],
  isGroup: ['boolean'],
  participants: ['array', 'null'],
  groupAddressingMode: ['string', 'null'],
  createdAt: ['timestamp'],
  updatedAt: ['timestamp'],
};

/** `inboundDedupe/{accountId}__{messageId}` (seed 000) and `outboundIndex/…` (extension). */
export const INDEX_SCHEMA: Schema = {
  accountId: ['string'],
  messageId: ['string'],
  threadId: ['string'],
  createdAt: ['timestamp'],
};

/** Seed 000's `lastHistorySyncResult` map. */
export const HISTORY_SYNC_RESULT_SCHEMA: Schema = {
  saved: ['number'],
  skipped: ['number'],
  errors: ['number'],
  total: ['number'],
  dryRun: ['boolean'],
};

/** Seed 000's `lastBackfillResult` map; `threadResults` entries are checked with the next one. */
export const BACKFILL_RESULT_SCHEMA: Schema = {
  threads: ['number'],
  messages: ['number'],
  errors: ['number'],
  threadResults: ['array'],
};

export const BACKFILL_THREAD_RESULT_SCHEMA: Schema = {
  threadId: ['string'],
  messages: ['number'],
  error: ['string', 'absent'],
};

export const SYNC_SOURCES = ['history_sync', 'realtime', 'backfill', 'outbound_api'] as const;

/** `tsClient` is the ISO 8601 form (milliseconds, UTC) of the instant `createdAt` holds. */
export const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
