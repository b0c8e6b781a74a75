import { NotFoundError } from '../domain/errors.js';
import { isThreadOf } from '../domain/thread-id.js';
import type { ListOptions, Store } from '../store/port.js';
import { etagOf, ifNoneMatchHits } from './etag.js';
import { stringifyMessageList, stringifyThreadList } from './list-serializers.js';
import type { BufferedReply, BytesReply } from './respond.js';
import { serializeMessage, serializeThread } from './serialize.js';

/**
 * The read path of the runbook's two list endpoints, independent of where it runs: inline on the HTTP
 * thread, or in a piscina pool thread with its own store connection (see read-pool.ts). The route has
 * already parsed and checked the page (its schema and `pageOptions`); it travels as plain `ListOptions`, which a
 * pooled call clones cheaply.
 */
export interface ConversationReads {
  threads(accountId: string, page: ListOptions, ifNoneMatch?: string): Promise<PageReply>;
  messages(accountId: string, threadId: string, page: ListOptions, ifNoneMatch?: string): Promise<PageReply>;
  close(): Promise<void>;
}

/** A page as text (read now), or as the bytes the response cache keeps (src/http/read-cache.ts). */
export type PageReply = BufferedReply | BytesReply;

async function requireAccount(store: Store, accountId: string): Promise<void> {
  if (!(await store.getAccount(accountId))) throw new NotFoundError(`account ${accountId} not found`);
}

/**
 * A page as JSON text with its `ETag`, or `304` without a body when the client's `If-None-Match`
 * names the page it would get (README, Conditional requests).
 */
function pageReply(text: string, ifNoneMatch: string): BufferedReply {
  const etag = etagOf(text);
  if (ifNoneMatchHits(ifNoneMatch, etag)) return { status: 304, text: '', contentType: JSON_TYPE, headers: { etag } };
  return { status: 200, text, contentType: JSON_TYPE, headers: { etag } };
}

const JSON_TYPE = 'application/json; charset=utf-8';

export async function threadsReply(store: Store, accountId: string, page: ListOptions, ifNoneMatch = ''): Promise<BufferedReply> {
  await requireAccount(store, accountId);
  const { items, nextCursor } = await store.listThreads(accountId, page);
  return pageReply(
    stringifyThreadList({ success: true, threads: items.map(serializeThread), count: items.length, nextCursor }),
    ifNoneMatch,
  );
}

export async function messagesReply(
  store: Store,
  accountId: string,
  threadId: string,
  page: ListOptions,
  ifNoneMatch = '',
): Promise<BufferedReply> {
  await requireAccount(store, accountId);
  // Another account's thread is not found, not forbidden.
  const thread = isThreadOf(accountId, threadId) ? await store.getThread(accountId, threadId) : null;
  if (!thread || thread.accountId !== accountId) throw new NotFoundError(`thread ${threadId} not found`);
  // Only the fields the API returns: SQLite then skips each row's encoded proto and media reference.
  const { items, nextCursor } = await store.listMessages(accountId, threadId, { ...page, fields: 'api' });
  const body = stringifyMessageList({
    success: true,
    thread: serializeThread(thread),
    messages: items.map(serializeMessage),
    count: items.length,
    nextCursor,
  });
  return pageReply(body, ifNoneMatch);
}

export function inlineReads(store: Store): ConversationReads {
  return {
    threads: (accountId, page, ifNoneMatch) => threadsReply(store, accountId, page, ifNoneMatch),
    messages: (accountId, threadId, page, ifNoneMatch) => messagesReply(store, accountId, threadId, page, ifNoneMatch),
    close: async () => undefined,
  };
}
