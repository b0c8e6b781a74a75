import { type TSchema, Type } from '@sinclair/typebox';
import { CHANGE_EVENT_TYPES } from '../../domain/change-events.js';
import { component, errorResponse, Instant, json, Nullable, type RouteSchema, StringEnum, SuccessTrue } from './common.js';
import { SafeId } from './ids.js';
import { Message, Thread } from './records.js';

/**
 * The live feed in the OpenAPI document: the one place where its events are described.
 *
 * OpenAPI describes HTTP, so the feed appears as what it can hold: each event's payload as a
 * `webhooks` entry (what a webhook receiver is POSTed, and what a websocket `event` frame carries
 * with `type: "event"` added), and the websocket protocol as prose in the document's description. The
 * feed's routes themselves (the ticket, webhook management) are ordinary rows of the route table with
 * their own schemas, like every other route. Event data are the REST shapes (src/http/feed-wire.ts):
 * a message reads the same from the feed as from `GET /api/whatsapp/messages/…`.
 */
export interface FeedEventDoc {
  /** The event's name as it appears in the frame or webhook body (e.g. `message.created`). */
  name: string;
  summary: string;
  description?: string;
  /** The JSON body a webhook receiver gets for this event. */
  payload: TSchema;
}

const tags = ['Live feed'];
const EventName = StringEnum(CHANGE_EVENT_TYPES);
const Str = (description?: string) => Type.String(description === undefined ? {} : { description });
const Changes = Type.Array(Type.String(), { description: 'The fields that changed.' });
const Reason = StringEnum(['manual', 'auto', 'recent'] as const);
const Kind = StringEnum(['backfill', 'recentSync'] as const);

/** The envelope every event shares: `{ id, cursor, accountId, event, committedAt, data }`. */
function eventPayload(name: (typeof CHANGE_EVENT_TYPES)[number], data: TSchema, title: string): TSchema {
  return component(
    title,
    Type.Object(
      {
        id: Str('The event’s id: a receiver de-duplicates on it (redeliveries carry the same id).'),
        cursor: Str('Where a client stands after this event: resume with `after` (websocket) or a webhook reset.'),
        accountId: Str(),
        event: Type.Literal(name),
        committedAt: Type.String({ format: 'date-time', description: 'When the change committed.' }),
        data,
      },
      { additionalProperties: false },
    ),
  );
}

const MessageData = Type.Object(
  { ...Message.properties, threadId: Str('The message’s thread.') },
  { additionalProperties: false, description: 'The REST message shape (`Message`) plus its thread id.' },
);

export const FEED_EVENTS: readonly FeedEventDoc[] = [
  {
    name: 'message.created',
    summary: 'A message was stored',
    description: 'Inbound, outbound, from the history sync or a backfill. `data` is the REST `Message` with `threadId`.',
    payload: eventPayload('message.created', MessageData, 'MessageCreatedEvent'),
  },
  {
    name: 'message.updated',
    summary: 'A stored message changed',
    description: 'A receipt (status), an edit, a delete, a reaction, the media archive. `changes` names the fields.',
    payload: eventPayload(
      'message.updated',
      Type.Object({ ...Message.properties, threadId: Str(), changes: Changes }, { additionalProperties: false }),
      'MessageUpdatedEvent',
    ),
  },
  {
    name: 'thread.updated',
    summary: 'A thread was created or changed',
    description: '`changes` is `["created"]` for a new thread. `mergedFrom`/`into`: a LID thread folded into this one.',
    payload: eventPayload(
      'thread.updated',
      Type.Object(
        {
          ...Thread.properties,
          changes: Changes,
          mergedFrom: Type.Optional(Str('The thread folded into this one.')),
          into: Type.Optional(Str('This thread’s id (with `mergedFrom`).')),
        },
        { additionalProperties: false },
      ),
      'ThreadUpdatedEvent',
    ),
  },
  {
    name: 'account.updated',
    summary: 'An account’s connection or history-sync state changed',
    description: 'The changed fields of the `Account` record (instants as ISO 8601); with `status`, also `qrAvailable`.',
    payload: eventPayload(
      'account.updated',
      Type.Object({ qrAvailable: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
      'AccountUpdatedEvent',
    ),
  },
  {
    name: 'history-sync.progress',
    summary: 'A history-sync chunk was stored, or the sync completed or paused',
    payload: eventPayload(
      'history-sync.progress',
      Type.Object(
        {
          syncType: Nullable(Type.String()),
          progress: Nullable(Type.Number()),
          status: StringEnum(['chunk', 'complete', 'paused'] as const),
          explicit: Nullable(Type.Boolean()),
          chunk: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
        },
        { additionalProperties: false },
      ),
      'HistorySyncProgressEvent',
    ),
  },
  {
    name: 'backfill.progress',
    summary: 'A backfill or recent sync answered for one thread',
    payload: eventPayload(
      'backfill.progress',
      Type.Object(
        {
          reason: Reason,
          kind: Kind,
          threadId: Str(),
          messages: Type.Integer(),
          error: Nullable(Type.String()),
          threadsDone: Type.Integer(),
          threadsTotal: Type.Integer(),
        },
        { additionalProperties: false },
      ),
      'BackfillProgressEvent',
    ),
  },
  {
    name: 'backfill.completed',
    summary: 'A backfill or recent sync finished',
    payload: eventPayload(
      'backfill.completed',
      Type.Object(
        {
          reason: Reason,
          kind: Kind,
          result: Type.Object(
            {
              threads: Type.Integer(),
              messages: Type.Integer(),
              errors: Type.Integer(),
              threadResults: Type.Array(Type.Object({}, { additionalProperties: true })),
            },
            { additionalProperties: true },
          ),
          completedAt: Type.String({ format: 'date-time' }),
        },
        { additionalProperties: false },
      ),
      'BackfillCompletedEvent',
    ),
  },
];

/** How to connect to the websocket feed (Markdown, appended to the document's description). */
export const FEED_DESCRIPTION: string = [
  '## Live feed',
  '',
  'Every event in the `webhooks` section is also sent on the websocket `GET /api/whatsapp/ws` as a frame',
  '`{ "type": "event", …the webhook body… }`. Authenticate the upgrade with `Authorization: Bearer …`',
  '(the API token or an API key) or, from a browser, `?ticket=` from `POST /api/whatsapp/ws-ticket` (single',
  'use, short-lived, carries the key it was issued to). No credential: the upgrade is refused with 401.',
  'Then send `{ "type": "subscribe", "accountId": "<id>" | "*", "after": "<cursor>" | null }`. Each',
  'subscription needs scope `read` on its account: otherwise the server answers in band with',
  '`{ "type": "error", "code": "FORBIDDEN", "accountId": … }` and the connection stays open. `*` (every',
  'account) needs scope `read`; for a key limited to some accounts it carries only those accounts’ events.',
  'Control frames: `subscribed`, `live`, `unsubscribed`, `resync-required`, `error`; close code 4008: slow consumer.',
  'Webhook requests are signed (`webhook-signature`, Standard Webhooks); README, Live events.',
].join('\n');

// ---- routes -------------------------------------------------------------------------------------

export const createWsTicket = {
  operationId: 'createWsTicket',
  tags,
  summary: 'A single-use websocket ticket',
  description:
    'For browsers, which cannot set `Authorization` on a websocket: `GET /api/whatsapp/ws?ticket=…` within the ' +
    'ticket’s lifetime (`FEED_TICKET_TTL_SECONDS`), once. The socket gets the caller’s own scopes and accounts.',
  responses: {
    200: json(
      Type.Object(
        { success: SuccessTrue, ticket: Str('`wst_…`'), expiresAt: Type.String({ format: 'date-time' }) },
        { additionalProperties: false },
      ),
      'The ticket.',
    ),
    404: errorResponse(404, 'The live feed is not enabled on this server.'),
  },
} as const satisfies RouteSchema;

const Attempt = Nullable(
  Type.Object(
    {
      eventId: Nullable(Type.String()),
      deliveryId: Nullable(Type.String()),
      accountId: Str(),
      event: Type.Union([EventName, Type.Null()]),
      attempts: Type.Integer(),
      firstAttemptAt: Instant(),
      lastAttemptAt: Instant(),
      lastStatus: Nullable(Type.Integer()),
      lastError: Str(),
      nextAttemptAt: Instant(),
    },
    { additionalProperties: false },
  ),
);

const Webhook = component(
  'Webhook',
  Type.Object(
    {
      id: Str(),
      url: Str(),
      accountId: Nullable(Type.String({ description: 'Only this account’s events; null: every account.' })),
      events: Type.Union([Type.Array(EventName), Type.Null()], { description: 'Only these events; null: every event.' }),
      description: Nullable(Type.String()),
      source: StringEnum(['api', 'env'] as const, { description: '`env`: from `WEBHOOK_URL`.' }),
      state: StringEnum(['active', 'failed'] as const, { description: '`failed`: parked after its retries; redeliver to resume.' }),
      createdAt: Instant(),
      updatedAt: Instant(),
      delivered: Type.Integer(),
      lastDeliveredAt: Instant(),
      cursor: Nullable(Type.String({ description: 'Where delivery stands.' })),
      retry: Attempt,
      failure: Attempt,
    },
    { additionalProperties: false, description: 'A webhook endpoint as listed: never its secret.' },
  ),
);

const WebhookOne = Type.Object({ success: SuccessTrue, webhook: Webhook }, { additionalProperties: false });
const WebhookIdParams = Type.Object({ id: SafeId('id', 'The endpoint’s id.') });
const CursorOrNull = Type.Union([Type.String(), Type.Null()], { description: 'A feed cursor; null: from now on.' });

export const createWebhook = {
  operationId: 'createWebhook',
  tags,
  summary: 'Register a webhook endpoint',
  description: 'The signing secret (`whsec_…`, or the one given) is in the answer this once.',
  body: Type.Object({
    url: Type.String({ description: 'http(s) URL the events are POSTed to.', errorMessage: 'url must be a string' }),
    accountId: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Only this account (null or `*`: every account).' })),
    events: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'Only these events (null: all).' })),
    secret: Type.Optional(
      Type.String({ description: 'Your own signing secret (else one is made).', errorMessage: 'secret must be a string' }),
    ),
    description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    after: Type.Optional(CursorOrNull),
  }),
  responses: {
    201: json(
      Type.Object(
        {
          success: SuccessTrue,
          webhook: Type.Object({ ...Webhook.properties, secret: Str('Shown this once.') }, { additionalProperties: false }),
        },
        { additionalProperties: false },
      ),
      'Created.',
    ),
    404: errorResponse(404, 'No such account, or the live feed is not enabled.'),
  },
} as const satisfies RouteSchema;

export const listWebhooks = {
  operationId: 'listWebhooks',
  tags,
  summary: 'List webhook endpoints',
  query: Type.Object({ accountId: Type.Optional(Type.String({ description: 'Only endpoints of this account.' })) }),
  responses: {
    200: json(
      Type.Object({ success: SuccessTrue, webhooks: Type.Array(Webhook), count: Type.Integer() }, { additionalProperties: false }),
      'The endpoints.',
    ),
    404: errorResponse(404, 'The live feed is not enabled on this server.'),
  },
} as const satisfies RouteSchema;

export const getWebhook = {
  operationId: 'getWebhook',
  tags,
  summary: 'One webhook endpoint',
  params: WebhookIdParams,
  responses: { 200: json(WebhookOne, 'The endpoint.') },
} as const satisfies RouteSchema;

export const deleteWebhook = {
  operationId: 'deleteWebhook',
  tags,
  summary: 'Delete a webhook endpoint',
  params: WebhookIdParams,
  responses: { 200: json(Type.Object({ success: SuccessTrue, id: Str() }, { additionalProperties: false }), 'Deleted.') },
} as const satisfies RouteSchema;

export const redeliverWebhook = {
  operationId: 'redeliverWebhook',
  tags,
  summary: 'Resume a parked endpoint',
  description: 'Starts again with the delivery it failed on (same delivery id), with a fresh attempt budget.',
  params: WebhookIdParams,
  responses: { 200: json(WebhookOne, 'The endpoint, active again.') },
} as const satisfies RouteSchema;

export const resetWebhook = {
  operationId: 'resetWebhook',
  tags,
  summary: 'Move a webhook endpoint’s cursor',
  description: '`{ "cursor": "<cursor>" }` delivers what follows that cursor; `{ "cursor": null }` (or no body) skips to now.',
  params: WebhookIdParams,
  body: Type.Object({ cursor: Type.Optional(CursorOrNull) }),
  bodyOptional: true,
  responses: { 200: json(WebhookOne, 'The endpoint.') },
} as const satisfies RouteSchema;
