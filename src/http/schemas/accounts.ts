import { Type } from '@sinclair/typebox';
import { component, errorResponse, json, Nullable, type RouteSchema, StringEnum, SuccessTrue, OWNED_ELSEWHERE_409 } from './common.js';
import { AccountId, AccountParams, MessageId } from './ids.js';
import { Account } from './records.js';

/** Account lifecycle, pairing, backfill and sending (src/http/routes/accounts.ts). */

const tags = ['Accounts'];

const AccountReply = Type.Object({ success: SuccessTrue, account: Account }, { additionalProperties: false });

const QrReply = component(
  'QrReply',
  Type.Object(
    {
      success: SuccessTrue,
      accountId: Type.String(),
      connection: Type.String({ description: 'The account’s connection state (`qr` while a code waits to be scanned).' }),
      qr: Nullable(Type.String({ description: 'The pending QR as text; null when none is pending.' })),
      qrDataUrl: Nullable(Type.String({ description: 'The same QR as `data:image/png;base64,…`.' })),
    },
    { additionalProperties: false },
  ),
);

/**
 * New account ids: safe as a path segment and a Firestore document id. `__` separates the parts of a
 * thread id (`{accountId}__{clientJid}`), so an id may not contain it nor end in `_`
 * (`accountIdFitsThreadIds`, checked against this pattern in test/http/schemas.test.ts); `..` is refused.
 */
export const NEW_ACCOUNT_ID_PATTERN = '^(?!.*__)(?!.*\\.\\.)(?!.*_$)[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';

export const listAccounts = {
  operationId: 'listAccounts',
  tags,
  summary: 'List accounts',
  description: 'Every account with its stored fields and its live runtime state.',
  responses: {
    200: json(
      Type.Object({ success: SuccessTrue, accounts: Type.Array(Account), count: Type.Integer() }, { additionalProperties: false }),
      'All accounts.',
    ),
  },
} as const satisfies RouteSchema;

export const createAccount = {
  operationId: 'createAccount',
  tags,
  summary: 'Create an account',
  description: 'Creates `account_{WASYNC_ENV}_{random}` or the given id and starts its actor; pair it with the QR or a pairing code.',
  body: Type.Object({
    accountId: Type.Optional(
      Type.String({
        pattern: NEW_ACCOUNT_ID_PATTERN,
        description: '1–100 letters, digits, dots, dashes or underscores, starting with a letter or digit; no `__`, `..` or trailing `_`.',
        errorMessage: {
          pattern:
            'accountId must be 1-100 letters, digits, dots, dashes or underscores, starting with a letter or digit, ' +
            'without "__", ".." or a trailing "_" (thread ids use "__" as separator)',
        },
      }),
    ),
  }),
  bodyOptional: true,
  responses: {
    201: json(AccountReply, 'Created; the actor is starting.'),
    409: errorResponse(409, 'An account with this id exists.'),
  },
} as const satisfies RouteSchema;

export const getAccount = {
  operationId: 'getAccount',
  tags,
  summary: 'Get one account',
  params: AccountParams,
  responses: { 200: json(AccountReply, 'The account.') },
} as const satisfies RouteSchema;

export const deleteAccount = {
  operationId: 'deleteAccount',
  tags,
  summary: 'Delete an account',
  description: 'Stops the actor and logs the session out; `purge=true` also deletes its threads and messages.',
  params: AccountParams,
  query: Type.Object({
    purge: Type.Optional(
      Type.Boolean({ default: false, description: 'Also delete threads and messages.', errorMessage: 'purge must be true or false' }),
    ),
  }),
  responses: {
    409: OWNED_ELSEWHERE_409,
    200: json(
      Type.Object({ success: SuccessTrue, accountId: Type.String(), purged: Type.Boolean() }, { additionalProperties: false }),
      'Deleted.',
    ),
  },
} as const satisfies RouteSchema;

export const regenerateQr = {
  operationId: 'regenerateQr',
  tags,
  summary: 'Drop the session and ask for a new QR',
  params: AccountParams,
  responses: { 200: json(QrReply, 'The QR state right after the restart (the new code may follow).'), 409: OWNED_ELSEWHERE_409 },
} as const satisfies RouteSchema;

export const getQr = {
  operationId: 'getQr',
  tags,
  summary: 'The pending QR',
  description: 'The QR to scan as text and as a PNG data URL; null when none is pending.',
  params: AccountParams,
  responses: { 200: json(QrReply, 'The QR state.'), 409: OWNED_ELSEWHERE_409 },
} as const satisfies RouteSchema;

export const requestPairingCode = {
  operationId: 'requestPairingCode',
  tags,
  summary: 'Pair by phone number instead of QR',
  params: AccountParams,
  body: Type.Object({
    phoneNumber: Type.String({
      pattern: '^\\+?\\d{6,15}$',
      description: 'The phone’s number in international form: 6–15 digits, optionally after a `+`.',
      examples: ['40712345678'],
      errorMessage: { pattern: 'phoneNumber must be 6-15 digits, optionally after a +' },
    }),
  }),
  responses: {
    409: OWNED_ELSEWHERE_409,
    200: json(
      Type.Object({ success: SuccessTrue, code: Type.String({ description: 'Type it on the phone.' }) }, { additionalProperties: false }),
      'The pairing code.',
    ),
  },
} as const satisfies RouteSchema;

export const startBackfill = {
  operationId: 'startBackfill',
  tags,
  summary: 'Start a backfill',
  description: 'Answers as soon as the backfill has started; results land in the account’s `lastBackfillAt` / `lastBackfillResult`.',
  params: AccountParams,
  responses: {
    409: OWNED_ELSEWHERE_409,
    200: json(
      Type.Object(
        { success: SuccessTrue, message: Type.Literal('Backfill started (runs asynchronously)'), accountId: Type.String() },
        { additionalProperties: false },
      ),
      'Started.',
    ),
  },
} as const satisfies RouteSchema;

export const sendMessage = {
  operationId: 'sendMessage',
  tags: ['Messaging'],
  summary: 'Send a text message',
  description:
    'Stored as `queued` under its id before it is handed to WhatsApp, then `sent` → `delivered` → `read`. ' +
    'Retrying with the same `messageId` is idempotent.',
  body: Type.Object({
    accountId: AccountId,
    to: Type.String({
      // Trimmed by the route; inside, no whitespace or control characters.
      pattern: '^\\s*[^\\s\\u0000-\\u001f\\u007f]{1,320}\\s*$',
      description: 'A JID (`40712345678@s.whatsapp.net`, `…@g.us`) or a phone number (digits, optional leading `+`).',
      errorMessage: { pattern: 'to must be a JID or phone number of 1-320 characters without whitespace or control characters' },
    }),
    text: Type.String({
      minLength: 1,
      maxLength: 65_536,
      pattern: '\\S',
      description: 'The message text (not blank).',
      errorMessage: { pattern: 'text must not be empty' },
    }),
    messageId: Type.Optional(
      Nullable(
        Type.String({
          pattern: '^[A-Za-z0-9._:-]{1,128}$',
          description: 'An id of your choosing, to retry a failed send idempotently.',
          errorMessage: 'messageId must be 1-128 letters, digits, dots, dashes, colons or underscores',
        }),
      ),
    ),
  }),
  responses: {
    202: json(
      Type.Object(
        {
          success: SuccessTrue,
          messageId: MessageId,
          threadId: Type.String(),
          clientJid: Type.String(),
          status: StringEnum(['queued', 'sent', 'delivered', 'read'] as const),
        },
        { additionalProperties: false },
      ),
      'Accepted: stored as queued and handed to WhatsApp.',
    ),
    404: errorResponse(404, 'No such account (the body’s `accountId`).'),
    409: errorResponse(
      409,
      'A message with this `messageId` was already sent; or `OWNED_ELSEWHERE` (another instance owns the account, not forwarded).',
    ),
    502: errorResponse(502, 'WhatsApp refused or failed the send.'),
    503: errorResponse(
      503,
      'Shutting down; the account is not running or not connected; or `STORE_UNAVAILABLE`: its `queued` row could not commit ' +
        'within `SEND_STORE_TIMEOUT_MS`, nothing was sent, retry with the same `messageId`.',
    ),
  },
} as const satisfies RouteSchema;
