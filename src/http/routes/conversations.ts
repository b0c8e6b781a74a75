import { NotFoundError } from '../../domain/errors.js';
import type { Store } from '../../store/port.js';
import { jsonReply } from '../respond.js';
import { route, type Route } from '../router.js';
import { serializeMessage, serializeThread } from '../serialize.js';
import { parsePageQuery } from '../validate.js';

/** Read path: threads and messages come straight from the store, keyset-paginated. */

async function requireAccount(store: Store, accountId: string): Promise<void> {
  if (!(await store.getAccount(accountId))) throw new NotFoundError(`account ${accountId} not found`);
}

export const conversationRoutes: readonly Route[] = [
  route('get', '/api/whatsapp/threads/:accountId', {}, async ({ deps, params, query }) => {
    const page = parsePageQuery(query, 'lastMessageAt');
    await requireAccount(deps.store, params.accountId);
    const { items, nextCursor } = await deps.store.listThreads(params.accountId, page);
    return jsonReply(200, {
      success: true,
      threads: items.map(serializeThread),
      count: items.length,
      nextCursor,
    });
  }),

  route('get', '/api/whatsapp/messages/:accountId/:threadId', {}, async ({ deps, params, query }) => {
    const page = parsePageQuery(query, 'createdAt');
    const { accountId, threadId } = params;
    await requireAccount(deps.store, accountId);
    // Thread ids are `{accountId}__{clientJid}`: another account's thread is not found, not forbidden.
    const thread = threadId.startsWith(`${accountId}__`) ? await deps.store.getThread(accountId, threadId) : null;
    if (!thread || thread.accountId !== accountId) throw new NotFoundError(`thread ${threadId} not found`);
    const { items, nextCursor } = await deps.store.listMessages(accountId, threadId, page);
    return jsonReply(200, {
      success: true,
      thread: serializeThread(thread),
      messages: items.map(serializeMessage),
      count: items.length,
      nextCursor,
    });
  }),
];
