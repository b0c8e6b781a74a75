import { Type } from '@sinclair/typebox';
import { errorResponse, type HeaderSpec, json, Nullable, type RouteSchema, SuccessTrue } from './common.js';
import { AccountId, PageQuery, ThreadId } from './ids.js';
import { Message, Thread } from './records.js';

/** The runbook's two list endpoints (src/http/routes/conversations.ts). */

const etag: HeaderSpec = {
  description: 'A hash of this exact page: send it back in `If-None-Match` to get 304 while the page is unchanged.',
  schema: Type.String(),
};
const notModified = {
  description: 'The page is unchanged since the `ETag` sent in `If-None-Match` (no body; the same `ETag`).',
  empty: true,
  headers: { ETag: etag },
} as const;

const NextCursor = Nullable(Type.String({ description: 'Pass back as `cursor` for the next page; null on the last page.' }));

export const ThreadList = Type.Object(
  { success: SuccessTrue, threads: Type.Array(Thread), count: Type.Integer(), nextCursor: NextCursor },
  { additionalProperties: false },
);

export const MessageList = Type.Object(
  { success: SuccessTrue, thread: Thread, messages: Type.Array(Message), count: Type.Integer(), nextCursor: NextCursor },
  { additionalProperties: false },
);

export const listThreads = {
  operationId: 'listThreads',
  tags: ['Conversations'],
  summary: 'List an account’s threads',
  description: 'Threads with at least one message, newest first (by `lastMessageAt`), keyset-paginated.',
  params: Type.Object({ accountId: AccountId }),
  query: PageQuery('lastMessageAt'),
  responses: {
    200: json(ThreadList, 'One page of threads.', { ETag: etag }),
    304: notModified,
    404: errorResponse(404, 'No such account.'),
  },
} as const satisfies RouteSchema;

export const listMessages = {
  operationId: 'listMessages',
  tags: ['Conversations'],
  summary: 'List a thread’s messages',
  description:
    'Messages of a thread by `createdAt` (the message’s WhatsApp time), newest first, keyset-paginated. ' +
    'Another account’s thread is not found.',
  params: Type.Object({ accountId: AccountId, threadId: ThreadId }),
  query: PageQuery('createdAt'),
  responses: {
    200: json(MessageList, 'The thread and one page of its messages.', { ETag: etag }),
    304: notModified,
    404: errorResponse(404, 'No such account or thread.'),
  },
} as const satisfies RouteSchema;
