import { isChangeEventType, type ChangeEventType } from '../domain/change-events.js';
import { BadRequestError } from '../domain/errors.js';

/**
 * Webhook endpoints, kept in the store with their delivery state (docs/live-events.md): the cursor
 * the endpoint has been delivered up to (per account), the retry in progress, the parked failure, and
 * the lease that makes exactly one instance dispatch an endpoint at a time. A restart (or another
 * instance) resumes from what is stored; nothing pending lives only in memory.
 */

export type WebhookState = 'active' | 'failed';

/** A delivery that is being retried, or (in `failure`) the one that was given up on. */
export interface WebhookAttempt {
  eventId: string;
  deliveryId: string;
  accountId: string;
  event: ChangeEventType;
  attempts: number;
  firstAttemptAt: number;
  lastAttemptAt: number;
  /** HTTP status of the last answer, null when there was none (timeout, refused, DNS…). */
  lastStatus: number | null;
  lastError: string;
  /** When the next attempt is due (retry only). */
  nextAttemptAt: number | null;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  /** null: every account. */
  accountId: string | null;
  /** null: every event type. */
  events: ChangeEventType[] | null;
  /** HMAC-SHA256 key of the signatures. */
  secret: string;
  description: string | null;
  /** `env`: the one from WEBHOOK_URL, rewritten at every start. */
  source: 'api' | 'env';
  createdAt: number;
  updatedAt: number;
  state: WebhookState;
  /**
   * Per account, the change-log position delivered through (see src/feed/position.ts). An account
   * missing here (created after the endpoint) is delivered from its oldest batch.
   */
  cursor: Record<string, number>;
  retry: WebhookAttempt | null;
  failure: WebhookAttempt | null;
  delivered: number;
  lastDeliveredAt: number | null;
  leaseHolder: string | null;
  leaseUntil: number | null;
  /**
   * Bumped by every change made through the API (redeliver, cursor reset): a dispatcher holding the
   * endpoint writes its progress only while the revision is the one it loaded, so it never overwrites
   * a reset with the position it had in memory.
   */
  revision: number;
}

/** How a new endpoint starts: active, nothing delivered, no retry, failure or lease yet, revision 0. */
export const NEW_WEBHOOK_STATE = {
  state: 'active',
  retry: null,
  failure: null,
  delivered: 0,
  lastDeliveredAt: null,
  leaseHolder: null,
  leaseUntil: null,
  revision: 0,
} as const satisfies Partial<WebhookEndpoint>;

export type WebhookPatch = Partial<
  Pick<
    WebhookEndpoint,
    'url' | 'events' | 'secret' | 'description' | 'state' | 'cursor' | 'retry' | 'failure' | 'delivered' | 'lastDeliveredAt' | 'revision'
  >
>;

export interface WebhookStore {
  /** `ConflictError` when the id exists. */
  createWebhook(endpoint: WebhookEndpoint): Promise<WebhookEndpoint>;
  getWebhook(id: string): Promise<WebhookEndpoint | null>;
  /** Every endpoint, oldest first. */
  listWebhooks(): Promise<WebhookEndpoint[]>;
  /** True when it existed. */
  deleteWebhook(id: string): Promise<boolean>;
  /**
   * Field-level update; with `holder`, only while that instance holds the endpoint's lease (a
   * dispatcher that lost it must not overwrite the new holder's cursor), and with `revision` only
   * while the endpoint is at that revision. Null: no such endpoint, or a condition failed.
   */
  updateWebhook(id: string, patch: WebhookPatch, opts: WebhookUpdateGuard): Promise<WebhookEndpoint | null>;
  /** Takes or renews the endpoint's dispatch lease: free, expired or already ours. */
  acquireWebhookLease(id: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  releaseWebhookLease(id: string, holder: string): Promise<void>;
}

export interface WebhookUpdateGuard {
  holder?: string;
  revision?: number;
  now: number;
}

/** Whether an update's conditions hold for the stored endpoint. */
export function webhookGuardHolds(current: WebhookEndpoint, opts: WebhookUpdateGuard): boolean {
  if (opts.holder !== undefined && !leaseIsOurs(current, opts.holder, opts.now)) return false;
  return opts.revision === undefined || current.revision === opts.revision;
}

const ID_FORM = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function assertWebhookId(id: string): string {
  if (typeof id !== 'string' || !ID_FORM.test(id)) throw new BadRequestError('webhook id must be 1-64 letters, digits, "_" or "-"');
  return id;
}

export function assertWebhookEvents(events: unknown): ChangeEventType[] | null {
  if (events === null || events === undefined) return null;
  if (!Array.isArray(events) || events.length === 0 || !events.every(isChangeEventType)) {
    throw new BadRequestError('events must be a non-empty list of event types (or null for every type)');
  }
  return [...new Set(events)];
}

/** Whether an endpoint wants an event of `accountId` and `type`. */
export function webhookWants(e: Pick<WebhookEndpoint, 'accountId' | 'events'>, accountId: string, type: ChangeEventType): boolean {
  return (e.accountId === null || e.accountId === accountId) && (e.events === null || e.events.includes(type));
}

/** Stored errors stay small: an endpoint answering with a 10 MB HTML page must not bloat the record. */
export function truncateWebhookError(message: string): string {
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}

/** Whether `holder` holds the endpoint's dispatch lease at `now`. */
export function leaseIsOurs(e: Pick<WebhookEndpoint, 'leaseHolder' | 'leaseUntil'>, holder: string, now: number): boolean {
  return e.leaseHolder === holder && e.leaseUntil !== null && e.leaseUntil > now;
}

/** A patch applied field by field (an `undefined` value leaves the field as it is). */
export function applyWebhookPatch(current: WebhookEndpoint, patch: WebhookPatch, now: number): WebhookEndpoint {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as WebhookPatch;
  return { ...current, ...defined, id: current.id, updatedAt: now };
}

/** A stored endpoint (JSON text on SQLite, the fields of a document on Firestore), with defaults for what an older build did not write. */
export function parseWebhook(data: string | Record<string, unknown>): WebhookEndpoint {
  const o = (typeof data === 'string' ? JSON.parse(data) : data) as Partial<WebhookEndpoint> & { id: string; url: string; secret: string };
  return {
    id: o.id,
    url: o.url,
    accountId: o.accountId ?? null,
    events: o.events ?? null,
    secret: o.secret,
    description: o.description ?? null,
    source: o.source ?? 'api',
    createdAt: o.createdAt ?? 0,
    updatedAt: o.updatedAt ?? 0,
    state: o.state ?? 'active',
    cursor: o.cursor ?? {},
    retry: o.retry ?? null,
    failure: o.failure ?? null,
    delivered: o.delivered ?? 0,
    lastDeliveredAt: o.lastDeliveredAt ?? null,
    leaseHolder: o.leaseHolder ?? null,
    leaseUntil: o.leaseUntil ?? null,
    revision: o.revision ?? 0,
  };
}
