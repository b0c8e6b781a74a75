import { Type } from '@sinclair/typebox';
import { EXPORT_FORMATS } from '../export-format.js';
import { INSTANT_PATTERN, instantMessage, PARAM_MAX_LENGTH, SAFE_ID_PATTERN } from '../validate.js';
import { errorResponse, type RouteSchema, StringEnum } from './common.js';
import { AccountId } from './ids.js';

/** The account's messages as one download (src/http/routes/export.ts; README, API: Export). */

const threadMax = PARAM_MAX_LENGTH.threadId ?? 400;

export const exportMessages = {
  operationId: 'exportMessages',
  tags: ['Conversations'],
  summary: 'Export an account’s messages (JSON Lines or CSV)',
  description:
    'Every message of the account (or of one thread, or from an instant on), streamed as it is read, thread by thread. ' +
    'One line per message: the REST API’s message shape plus `threadId`. Parameters, account and thread are checked ' +
    'before the first byte; after that a failure can only cut the transfer short (chunked encoding without its end).',
  params: Type.Object({ accountId: AccountId }),
  query: Type.Object({
    format: Type.Optional(
      StringEnum(EXPORT_FORMATS, {
        default: 'jsonl',
        description: '`jsonl` (JSON Lines, the default) or `csv` (RFC 4180, header row).',
        errorMessage: `format must be one of ${EXPORT_FORMATS.join(', ')}`,
      }),
    ),
    threadId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: threadMax,
        pattern: SAFE_ID_PATTERN,
        description: 'Only this thread (`{accountId}__{clientJid}`); another account’s thread is not found.',
        errorMessage: {
          minLength: 'threadId is empty',
          maxLength: `threadId is longer than ${threadMax} characters`,
          pattern: 'threadId contains a path separator, ".." or control characters',
        },
      }),
    ),
    since: Type.Optional(
      Type.String({
        pattern: INSTANT_PATTERN,
        description: 'Only messages whose `createdAt` is at or after it: ISO 8601 date or date-time, or epoch milliseconds.',
        examples: ['2026-01-31', '2026-01-31T08:00:00Z', '1769846400000'],
        errorMessage: instantMessage('since'),
      }),
    ),
  }),
  responses: {
    200: {
      description: 'The messages, streamed. `Content-Disposition: attachment; filename="wasync-{accountId}-{UTC time}.{format}"`.',
      headers: { 'Content-Disposition': { description: 'attachment; filename="wasync-{accountId}-{UTC time}.{jsonl|csv}"' } },
      content: {
        'application/x-ndjson': Type.String({
          contentMediaType: 'application/x-ndjson',
          description: '`format=jsonl`: one JSON object per line (the `Message` shape plus `threadId`), each ended by LF.',
        }),
        'text/csv': Type.String({
          contentMediaType: 'text/csv',
          description:
            '`format=csv`: a header row, then one record per message (RFC 4180, CRLF; null is an empty field, "" an empty string).',
        }),
      },
    },
    404: errorResponse(404, 'No such account, or no such thread of this account.'),
  },
} as const satisfies RouteSchema;
