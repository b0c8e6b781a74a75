import { Type } from '@sinclair/typebox';
import { MAX_PAGE } from '../../store/paging.js';
import { StringEnum } from './common.js';
import { DEFAULT_PAGE_LIMIT, PARAM_MAX_LENGTH, SAFE_ID_PATTERN } from '../validate.js';

/**
 * Ids in paths and bodies, and the page query of the list endpoints. Path parameters are percent-decoded
 * and checked by `decodePathParam` before these run; the schemas state the same rule for the document
 * and for ids that arrive in a body.
 */

const unsafe = (name: string) => `${name} contains a path separator, ".." or control characters`;

export function SafeId(name: string, description: string) {
  const max = PARAM_MAX_LENGTH[name] ?? 100;
  return Type.String({ minLength: 1, maxLength: max, pattern: SAFE_ID_PATTERN, description, errorMessage: { pattern: unsafe(name) } });
}

export const AccountId = SafeId('accountId', 'The account’s id.');
export const ThreadId = SafeId('threadId', 'The thread’s id: `{accountId}__{clientJid}`.');
export const MessageId = SafeId('messageId', 'The WhatsApp message id.');

export const AccountParams = Type.Object({ accountId: AccountId });

/** The keyset page of the two list endpoints (README, API: Pagination). */
export function PageQuery<const K extends string>(orderByKey: K) {
  return Type.Object({
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_PAGE,
        default: DEFAULT_PAGE_LIMIT,
        description: `Page size, 1–${MAX_PAGE}.`,
        errorMessage: `limit must be an integer from 1 to ${MAX_PAGE}`,
      }),
    ),
    orderBy: Type.Optional(
      Type.Literal(orderByKey, { description: 'The one key the list is ordered by.', errorMessage: `orderBy must be ${orderByKey}` }),
    ),
    order: Type.Optional(
      StringEnum(['desc', 'asc'] as const, {
        default: 'desc',
        description: 'Newest first (`desc`) or oldest first.',
        errorMessage: 'order must be asc or desc',
      }),
    ),
    cursor: Type.Optional(Type.String({ description: 'The `nextCursor` of the previous page (opaque).' })),
  });
}
