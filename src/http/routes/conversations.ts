import { route, type Route } from '../router.js';
import { parsePageQuery } from '../validate.js';

/** Read path: threads and messages come straight from the store (inline or via the read pool), keyset-paginated. */
export const conversationRoutes: readonly Route[] = [
  route('get', '/api/whatsapp/threads/:accountId', {}, ({ deps, params, query, headers }) =>
    deps.reads.threads(params.accountId, parsePageQuery(query, 'lastMessageAt'), headers.ifNoneMatch),
  ),
  route('get', '/api/whatsapp/messages/:accountId/:threadId', {}, ({ deps, params, query, headers }) =>
    deps.reads.messages(params.accountId, params.threadId, parsePageQuery(query, 'createdAt'), headers.ifNoneMatch),
  ),
];
