import { NotFoundError } from '../domain/errors.js';
import { isThreadOf } from '../domain/thread-id.js';
import type { ListOptions, Store } from '../store/port.js';
import { jsonReply, type BufferedReply } from './respond.js';
import { serializeMessage, serializeThread } from './serialize.js';

/**
 * The read path of the runbook's two list endpoints, independent of where it runs: inline on the HTTP
 * thread, or in a piscina pool thread with its own store connection (see read-pool.ts). The route has
 * already parsed and checked the page (its schema and `pageOptions`); it travels as plain `ListOptions`, which a
 * pooled call clones cheaply.
 */
export interface ConversationReads {
  threads(accountId: string, page: ListOptions): Promise<BufferedReply>;
  messages(accountId: string, threadId: string, page: ListOptions): Promise<BufferedReply>;
  close(): Promise<void>;
}

async function requireAccount(store: Store, accountId: string): Promise<void> {
  if (!(await store.getAccount(accountId))) throw new NotFoundError(`account ${accountId} not found`);
}

export async function threadsReply(store: Store, accountId: string, page: ListOptions): Promise<BufferedReply> {
  await requireAccount(store, accountId);
  const { items, nextCursor } = await store.listThreads(accountId, page);
  return jsonReply(200, { success: true, threads: items.map(serializeThread), count: items.length, nextCursor });
}

export async function messagesReply(store: Store, accountId: string, threadId: string, page: ListOptions): Promise<BufferedReply> {
  await requireAccount(store, accountId);
  // Another account's thread is not found, not forbidden.
  const thread = isThreadOf(accountId, threadId) ? await store.getThread(accountId, threadId) : null;
  if (!thread || thread.accountId !== accountId) throw new NotFoundError(`thread ${threadId} not found`);
  const { items, nextCursor } = await store.listMessages(accountId, threadId, page);
  return jsonReply(200, {
    success: true,
    thread: serializeThread(thread),
    messages: items.map(serializeMessage),
    count: items.length,
    nextCursor,
  });
}

export function inlineReads(store: Store): ConversationReads {
  return {
    threads: (accountId, page) => threadsReply(store, accountId, page),
    messages: (accountId, threadId, page) => messagesReply(store, accountId, threadId, page),
    close: async () => undefined,
  };
}
