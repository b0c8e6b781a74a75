import type { ChangeEvent } from '../domain/change-events.js';
import { ACCOUNT_INSTANT_FIELDS, type AccountPatch } from '../domain/records.js';
import type { HubEvent } from '../feed/hub.js';
import { encodeCursor } from '../feed/position.js';
import type { WebhookAttempt, WebhookEndpoint } from '../store/webhooks.js';
import { iso, serializeMessage, serializeThread } from './serialize.js';

/**
 * The live feed's wire format (README, "Live events"): one event as the websocket sends it and as a
 * webhook receives it. Event data are the REST shapes: a message reads the same from
 * `GET /api/whatsapp/messages/…`, from the websocket and from a webhook.
 */

const INSTANTS: ReadonlySet<string> = new Set(ACCOUNT_INSTANT_FIELDS);

/** `data` of an event, in the API's shapes (ISO 8601 instants). */
export function eventData(e: ChangeEvent): Record<string, unknown> {
  switch (e.type) {
    case 'message.created':
      return { ...serializeMessage({ ...e.data.message, media: null, rawMessage: null }), threadId: e.data.threadId };
    case 'message.updated':
      return {
        ...serializeMessage({ ...e.data.message, media: null, rawMessage: null }),
        threadId: e.data.threadId,
        changes: e.data.changes,
      };
    case 'thread.updated':
      return {
        ...serializeThread(e.data.thread),
        changes: e.data.changes,
        ...(e.data.mergedFrom === null ? {} : { mergedFrom: e.data.mergedFrom, into: e.data.thread.id }),
      };
    case 'account.updated':
      return accountFields(e.data.fields);
    case 'history-sync.progress':
      return { ...e.data };
    case 'backfill.progress':
      return { ...e.data };
    case 'backfill.completed':
      return { ...e.data, completedAt: iso(e.data.completedAt) };
  }
}

function accountFields(fields: AccountPatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = INSTANTS.has(k) ? iso(v as number | null) : v;
  if (fields.status !== undefined) out.qrAvailable = fields.status === 'qr';
  return out;
}

/** The body shared by both channels: `{ id, cursor, accountId, event, committedAt, data }`. */
function eventBody(e: HubEvent, cursor: string) {
  return { id: e.id, cursor, accountId: e.accountId, event: e.event.type, committedAt: iso(e.committedAt), data: eventData(e.event) };
}

/** A websocket `event` frame. */
export function renderEventFrame(e: HubEvent, cursor: string): string {
  return JSON.stringify({ type: 'event', ...eventBody(e, cursor) });
}

/** A webhook request body (one event per request). */
export function renderWebhookBody(e: HubEvent, cursor: string): string {
  return JSON.stringify(eventBody(e, cursor));
}

function attemptView(a: WebhookAttempt | null) {
  if (a === null) return null;
  return {
    eventId: a.eventId || null,
    deliveryId: a.deliveryId || null,
    accountId: a.accountId,
    event: a.eventId ? a.event : null,
    attempts: a.attempts,
    firstAttemptAt: iso(a.firstAttemptAt),
    lastAttemptAt: iso(a.lastAttemptAt),
    lastStatus: a.lastStatus,
    lastError: a.lastError,
    nextAttemptAt: iso(a.nextAttemptAt),
  };
}

/** An endpoint as the API shows it: never its secret (`secret` is added once, in the answer to its creation). */
export function serializeWebhook(e: WebhookEndpoint, epoch: string) {
  const cursor =
    e.accountId !== null
      ? e.cursor[e.accountId] === undefined
        ? null
        : encodeCursor({ kind: 'account', epoch, accountId: e.accountId, position: e.cursor[e.accountId]! })
      : encodeCursor({ kind: 'all', epoch, positions: e.cursor });
  return {
    id: e.id,
    url: e.url,
    accountId: e.accountId,
    events: e.events,
    description: e.description,
    source: e.source,
    state: e.state,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
    delivered: e.delivered,
    lastDeliveredAt: iso(e.lastDeliveredAt),
    cursor,
    retry: attemptView(e.retry),
    failure: attemptView(e.failure),
  };
}
