import fastJson from 'fast-json-stringify';
import { MessageList, ThreadList } from './schemas/conversations.js';
import type { ApiMessage, ApiThread } from './serialize.js';

/**
 * Schema-compiled serializers for the two list endpoints (threads, messages), the API's hottest
 * routes. fast-json-stringify (fastify's serializer) compiles a JSON Schema into a function that
 * writes each known field directly instead of walking the object generically as `JSON.stringify`
 * does; on a page of 50 messages it is the larger share of what the handler costs after the read
 * itself (docs/benchmarks.md).
 *
 * The schemas are the routes' own response schemas (src/http/schemas/conversations.ts, the ones the
 * OpenAPI document and the tests' response checks use), so the document and the serializer cannot
 * drift apart. Output is byte-for-byte what `JSON.stringify` gives for the same object
 * (test/http/list-serializers.test.ts checks that over edge cases): the records' schemas list their
 * properties in the order `serializeThread`/`serializeMessage` build them.
 */

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

/**
 * The response schema as the serializer compiles it, so that it writes exactly what `JSON.stringify`
 * would: a plain JSON copy (TypeBox's symbol keys dropped) without `required` (a field missing from a
 * record written before it existed is left out, as `JSON.stringify` leaves out `undefined`, instead of
 * throwing), without `format` (instants are already ISO strings) and without `additionalProperties`
 * (nothing is silently dropped); `integer` is written as `number` (a stored size is never rounded);
 * `participants` is written by `JSON.stringify` whatever its members hold.
 */
export function serializerSchema(schema: object): object {
  const walk = (node: unknown, key: string | null): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n, null));
    if (node === null || typeof node !== 'object') return node;
    if (key === 'participants') return {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'required' || k === 'format' || k === 'additionalProperties' || k === 'description') continue;
      if (k === 'type') {
        out[k] = v === 'integer' ? 'number' : Array.isArray(v) ? v.map((t) => (t === 'integer' ? 'number' : t)) : v;
        continue;
      }
      out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, walk(s, p)])) : walk(v, null);
    }
    return out;
  };
  return walk(JSON.parse(JSON.stringify(schema)), null) as object;
}

export const stringifyThreadList: (body: ThreadListBody) => string = fastJson(serializerSchema(ThreadList));
export const stringifyMessageList: (body: MessageListBody) => string = fastJson(serializerSchema(MessageList));
