import { route, type Route } from '../router.js';
import * as S from '../schemas/conversations.js';
import { pageOptions } from '../validate.js';

/** Read path: threads and messages come straight from the store (inline or via the read pool), keyset-paginated. */
export const conversationRoutes: readonly Route[] = [
  route(
    'get',
    '/api/whatsapp/threads/:accountId',
    { scope: 'read', account: 'param', schema: S.listThreads },
    ({ deps, params, query, headers }) => deps.reads.threads(params.accountId, pageOptions(query), headers.ifNoneMatch),
  ),
  route(
    'get',
    '/api/whatsapp/messages/:accountId/:threadId',
    { scope: 'read', account: 'param', schema: S.listMessages },
    ({ deps, params, query, headers }) => deps.reads.messages(params.accountId, params.threadId, pageOptions(query), headers.ifNoneMatch),
  ),
];
