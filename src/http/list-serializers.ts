import fastJson from 'fast-json-stringify';
import type { ApiMessage, ApiThread } from './serialize.js';

/**
 * Schema-compiled serializers for the two list endpoints (threads, messages), the API's hottest
 * routes. fast-json-stringify (fastify's serializer) compiles a JSON Schema into a function that
 * writes each known field directly instead of walking the object generically as `JSON.stringify`
 * does; on a page of 50 messages it is the larger share of what the handler costs after the read
 * itself (docs/benchmarks.md). Output is byte-for-byte what `JSON.stringify` gives for the same
 * object (test/http/list-serializers.test.ts checks that over edge cases): properties are listed in
 * the order `serializeThread`/`serializeMessage` build them, none is `required` (an absent field is
 * left out, as `JSON.stringify` leaves out `undefined`), and `participants` is schemaless so it is
 * written by `JSON.stringify` whatever its members hold.
 *
 * TODO(issue 13c): once the TypeBox response schemas in src/http/schemas/ are merged, compile these
 * from those schemas instead of the plain JSON Schemas below, so the OpenAPI document and the
 * serializer cannot drift apart.
 */

const str = { type: 'string' } as const;
const strOrNull = { type: ['string', 'null'] } as const;
const num = { type: 'number' } as const;
const numOrNull = { type: ['number', 'null'] } as const;
const bool = { type: 'boolean' } as const;

/** Every field of `ApiThread`, in `serializeThread`'s order. */
const THREAD_PROPERTIES: { readonly [K in keyof ApiThread]-?: object } = {
  id: str,
  accountId: str,
  clientJid: str,
  displayName: strOrNull,
  lastMessageAt: strOrNull,
  lastMessagePreview: strOrNull,
  lastBackfillAt: strOrNull,
  lastMessageId: strOrNull,
  lidJid: strOrNull,
  displayNameSource: strOrNull,
  isGroup: bool,
  // Any JSON (an array of members or null): written by JSON.stringify, so extra member fields survive.
  participants: {},
  groupAddressingMode: strOrNull,
  createdAt: strOrNull,
  updatedAt: strOrNull,
};

/** Every field of `ApiMessage`, in `serializeMessage`'s order. */
const MESSAGE_PROPERTIES: { readonly [K in keyof ApiMessage]-?: object } = {
  id: str,
  accountId: str,
  clientJid: str,
  direction: str,
  body: str,
  waMessageId: str,
  status: str,
  messageType: str,
  mediaType: strOrNull,
  mediaUrl: strOrNull,
  mediaMimetype: strOrNull,
  mediaFilename: strOrNull,
  tsClient: str,
  tsServer: strOrNull,
  createdAt: strOrNull,
  syncedAt: strOrNull,
  syncSource: str,
  deliveredAt: strOrNull,
  readAt: strOrNull,
  contentType: str,
  fromMe: bool,
  participant: strOrNull,
  pushName: strOrNull,
  syncType: strOrNull,
  mediaSize: numOrNull,
  refMessageId: strOrNull,
  editedAt: strOrNull,
  revokedAt: strOrNull,
  sendError: strOrNull,
  senderName: strOrNull,
  mediaArchivedAt: strOrNull,
  mediaSha256: strOrNull,
  mediaArchiveKey: strOrNull,
  mediaArchiveError: strOrNull,
};

export const THREAD_SCHEMA = { type: 'object', properties: THREAD_PROPERTIES } as const;
export const MESSAGE_SCHEMA = { type: 'object', properties: MESSAGE_PROPERTIES } as const;

/** `GET /api/whatsapp/threads/:accountId` (README, API). */
export interface ThreadListBody {
  success: true;
  threads: ApiThread[];
  count: number;
  nextCursor: string | null;
}

/** `GET /api/whatsapp/messages/:accountId/:threadId` (README, API). */
export interface MessageListBody {
  success: true;
  thread: ApiThread;
  messages: ApiMessage[];
  count: number;
  nextCursor: string | null;
}

export const THREAD_LIST_SCHEMA = {
  type: 'object',
  properties: {
    success: bool,
    threads: { type: 'array', items: THREAD_SCHEMA },
    count: num,
    nextCursor: strOrNull,
  },
} as const;

export const MESSAGE_LIST_SCHEMA = {
  type: 'object',
  properties: {
    success: bool,
    thread: THREAD_SCHEMA,
    messages: { type: 'array', items: MESSAGE_SCHEMA },
    count: num,
    nextCursor: strOrNull,
  },
} as const;

export const stringifyThreadList: (body: ThreadListBody) => string = fastJson(THREAD_LIST_SCHEMA);
export const stringifyMessageList: (body: MessageListBody) => string = fastJson(MESSAGE_LIST_SCHEMA);
