import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../domain/backoff.js';
import type { Logger } from '../../logging/logger.js';
import { truncateWebhookError, webhookWants, type WebhookAttempt, type WebhookEndpoint, type WebhookStore } from '../../store/webhooks.js';
import type { FeedHub, FeedSink, HubEvent } from '../hub.js';
import type { Cursor } from '../position.js';
import type { DeliveryOutcome } from './client.js';
import { deliveryId, signatureHeader } from './signature.js';

/**
 * Delivers the change log to webhook endpoints (docs/live-events.md, "Webhooks"). One worker per
 * endpoint, on the instance that holds the endpoint's lease (a field of its record, renewed while it
 * runs), so with several instances on one store each endpoint is dispatched by exactly one of them.
 *
 * A worker is a subscriber of the feed hub from the endpoint's stored cursor: it replays what the
 * endpoint has not had, then follows live. It delivers one event at a time, in log order per account,
 * retrying with exponential backoff and jitter; its progress goes back to the store at most once a
 * second (a restart redelivers at most that second, with the same delivery ids). A delivery that keeps
 * failing, or fails for a reason a retry cannot fix, parks the endpoint as `failed` with the error,
 * until `redeliver` (or a cursor reset) through the API. Endpoints are independent: one slow or dead
 * receiver holds up only its own worker.
 */

export interface WebhookSettings {
  maxAttempts: number;
  maxAgeMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Dispatch lease per endpoint (renewed every third of it). */
  leaseMs: number;
  /** How often endpoints are listed (new ones, released leases, redelivered ones). */
  refreshMs: number;
  /** Events a worker holds in memory; past it, it reads the rest from the store when it gets there. */
  queueSize: number;
  /** Progress writes per endpoint at most this often. */
  persistMs: number;
}

export const DEFAULT_WEBHOOK_SETTINGS: Omit<WebhookSettings, 'maxAttempts' | 'maxAgeMs' | 'retryBaseMs' | 'retryMaxMs'> = {
  leaseMs: 30_000,
  refreshMs: 5_000,
  queueSize: 500,
  persistMs: 1_000,
};

export interface WebhookMetrics {
  /** `delivered`, `retried` (an attempt failed, another follows), `failed` (the endpoint is parked). */
  attempt(outcome: 'delivered' | 'retried' | 'failed', seconds: number): void;
  /** Commit → delivered, for delivered events. */
  lag(seconds: number): void;
}

export interface WebhookDispatcherOptions {
  store: WebhookStore;
  hub: FeedHub;
  post: (url: string, body: string, headers: Readonly<Record<string, string>>, signal: AbortSignal) => Promise<DeliveryOutcome>;
  /** This instance (lease holder). */
  holder: string;
  logger: Logger;
  /** The JSON body of one event, with the endpoint's cursor after it. */
  render: (event: HubEvent, cursor: string) => string;
  settings: WebhookSettings;
  metrics?: WebhookMetrics;
  now?: () => number;
}

export class WebhookDispatcher {
  private readonly workers = new Map<string, EndpointWorker>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private stopped = false;
  /** The endpoints as last listed (the metrics' per-state gauge). */
  lastListed: WebhookEndpoint[] = [];
  readonly now: () => number;

  constructor(readonly o: WebhookDispatcherOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.o.settings.refreshMs);
    this.timer.unref();
    void this.refresh();
  }

  /** Stops every worker (each writes its progress and releases its lease). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
  }

  /** Endpoints changed through the API: look now rather than at the next tick. */
  kick(): Promise<void> {
    return this.refresh();
  }

  /** Endpoints this instance is dispatching right now. */
  get active(): string[] {
    return [...this.workers.keys()];
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      const endpoints = await this.o.store.listWebhooks();
      this.lastListed = endpoints;
      const byId = new Map(endpoints.map((e) => [e.id, e]));
      for (const [id, worker] of this.workers) {
        const current = byId.get(id);
        if (!current || current.revision !== worker.revision || current.state !== 'active') await worker.stop();
      }
      for (const e of endpoints) {
        if (this.stopped || e.state !== 'active' || this.workers.has(e.id)) continue;
        if (e.leaseHolder !== null && e.leaseHolder !== this.o.holder && (e.leaseUntil ?? 0) > this.now()) continue;
        if (!(await this.o.store.acquireWebhookLease(e.id, this.o.holder, this.o.settings.leaseMs, this.now()))) continue;
        const fresh = await this.o.store.getWebhook(e.id);
        if (fresh?.state !== 'active') {
          await this.o.store.releaseWebhookLease(e.id, this.o.holder);
          continue;
        }
        const worker = new EndpointWorker(this, fresh);
        this.workers.set(e.id, worker);
        void worker.done.finally(() => {
          if (this.workers.get(e.id) === worker) this.workers.delete(e.id);
        });
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'webhook endpoints could not be listed; retried on the next tick');
    }
  }
}

interface Queued {
  event: HubEvent;
  cursor: string;
}

/** The worker's subscription to the hub: a bounded queue the worker drains at the receiver's pace. */
class QueueSink implements FeedSink {
  readonly items: Queued[] = [];
  closed = false;
  overflowed = false;
  resyncReason: string | null = null;
  private waiters: Array<() => void> = [];

  constructor(private readonly max: number) {}

  subscribed(): void {}
  live(): void {}

  push(event: HubEvent, _frame: () => string, cursor: () => string): boolean {
    if (this.closed) return false;
    if (this.items.length >= this.max) {
      this.overflowed = true;
      this.closed = true;
      this.wake();
      return false;
    }
    this.items.push({ event, cursor: cursor() });
    this.wake();
    return true;
  }

  resync(reason: string): void {
    this.resyncReason = reason;
    this.closed = true;
    this.wake();
  }

  get pressure(): boolean {
    return this.items.length >= this.max / 2;
  }

  async drained(): Promise<void> {
    while (!this.closed && this.items.length >= this.max / 4) await this.changed();
  }

  /** Resolves on the next push, shift or end. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }
}

class EndpointWorker {
  readonly done: Promise<void>;
  readonly revision: number;
  private endpoint: WebhookEndpoint;
  private readonly positions: Map<string, number>;
  private stopping = false;
  private readonly abort = new AbortController();
  private lastPersist = 0;
  private dirty = false;
  private sink: QueueSink | null = null;

  constructor(
    private readonly d: WebhookDispatcher,
    endpoint: WebhookEndpoint,
  ) {
    this.endpoint = endpoint;
    this.revision = endpoint.revision;
    this.positions = new Map(Object.entries(endpoint.cursor));
    this.done = this.run().catch((err: unknown) => this.d.o.logger.error({ err, webhook: endpoint.id }, 'webhook worker failed'));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    if (this.sink) {
      this.sink.closed = true;
      this.sink.wake();
    }
    await this.done;
  }

  private get log() {
    return this.d.o.logger.child({ webhook: this.endpoint.id });
  }

  private async run(): Promise<void> {
    const { settings, store, holder } = this.d.o;
    const renew = setInterval(() => void this.renew(), Math.max(1000, settings.leaseMs / 3));
    renew.unref();
    try {
      while (!this.stopping) {
        const sink = new QueueSink(settings.queueSize);
        this.sink = sink;
        const subscription = this.d.o.hub.subscribe(this.endpoint.accountId ?? '*', this.cursor(), sink);
        subscription.catch((err: unknown) => {
          this.log.warn({ err }, 'webhook subscription failed');
          sink.resync('error');
        });
        const ended = await this.drain(sink);
        void subscription.then((s) => s.close());
        if (ended === 'parked' || this.stopping) break;
        if (sink.resyncReason !== null) {
          await this.park({
            eventId: '',
            deliveryId: '',
            accountId: this.endpoint.accountId ?? '*',
            event: 'message.created',
            attempts: 0,
            firstAttemptAt: this.d.now(),
            lastAttemptAt: this.d.now(),
            lastStatus: null,
            lastError:
              sink.resyncReason === 'pruned'
                ? 'the cursor is older than the change log keeps (FEED_RETENTION_HOURS): reset the cursor'
                : `the cursor cannot be resumed (${sink.resyncReason}): reset the cursor`,
            nextAttemptAt: null,
          });
          break;
        }
        // Overflow: everything queued is delivered; resubscribe from where it got to.
      }
    } finally {
      clearInterval(renew);
      await this.persist(true).catch((err: unknown) => this.log.warn({ err }, 'webhook progress not written'));
      await store.releaseWebhookLease(this.endpoint.id, holder).catch(() => undefined);
    }
  }

  private cursor(): Cursor | null {
    const epoch = this.d.o.hub.epoch;
    const accountId = this.endpoint.accountId;
    if (accountId !== null) {
      const pos = this.positions.get(accountId);
      return pos === undefined ? null : { kind: 'account', epoch, accountId, position: pos };
    }
    return { kind: 'all', epoch, positions: Object.fromEntries(this.positions) };
  }

  /** Delivers the queue until the subscription ends and the queue is empty. */
  private async drain(sink: QueueSink): Promise<'ended' | 'parked'> {
    for (;;) {
      if (this.stopping) return 'ended';
      const next = sink.items.shift();
      if (!next) {
        if (sink.closed) return 'ended';
        await sink.changed();
        continue;
      }
      sink.wake();
      const { event } = next;
      if (webhookWants(this.endpoint, event.accountId, event.event.type)) {
        const outcome = await this.deliver(next);
        if (outcome === 'parked') return 'parked';
        if (outcome === 'stopped') return 'ended';
      }
      this.positions.set(event.accountId, event.cursorPosition);
      this.dirty = true;
      await this.persist(false);
    }
  }

  private async deliver({ event, cursor }: Queued): Promise<'delivered' | 'parked' | 'stopped'> {
    const { settings, post, render, metrics } = this.d.o;
    const id = deliveryId(this.endpoint.id, event.id);
    const body = render(event, cursor);
    let attempt: WebhookAttempt | null = this.endpoint.retry?.eventId === event.id ? this.endpoint.retry : null;
    for (;;) {
      if (this.stopping) return 'stopped';
      const now = this.d.now();
      const timestamp = Math.floor(now / 1000);
      const outcome = await post(
        this.endpoint.url,
        body,
        {
          'content-type': 'application/json',
          'user-agent': 'wasync-webhooks/1',
          'wasync-signature': signatureHeader(this.endpoint.secret, timestamp, body),
          'wasync-timestamp': String(timestamp),
          'wasync-delivery': id,
          'wasync-event': event.event.type,
          'wasync-event-id': event.id,
          'wasync-attempt': String((attempt?.attempts ?? 0) + 1),
        },
        this.abort.signal,
      );
      if (this.stopping) return 'stopped';
      if (outcome.ok) {
        metrics?.attempt('delivered', outcome.ms / 1000);
        metrics?.lag(Math.max(0, (this.d.now() - event.committedAt) / 1000));
        this.endpoint = { ...this.endpoint, retry: null, delivered: this.endpoint.delivered + 1, lastDeliveredAt: this.d.now() };
        return 'delivered';
      }
      attempt = {
        eventId: event.id,
        deliveryId: id,
        accountId: event.accountId,
        event: event.event.type,
        attempts: (attempt?.attempts ?? 0) + 1,
        firstAttemptAt: attempt?.firstAttemptAt ?? now,
        lastAttemptAt: now,
        lastStatus: outcome.status,
        lastError: truncateWebhookError(outcome.error),
        nextAttemptAt: null,
      };
      const exhausted = attempt.attempts >= settings.maxAttempts || this.d.now() - attempt.firstAttemptAt >= settings.maxAgeMs;
      if (!outcome.retryable || exhausted) {
        metrics?.attempt('failed', outcome.ms / 1000);
        this.log.warn(
          { status: outcome.status, error: attempt.lastError, attempts: attempt.attempts },
          'webhook endpoint parked as failed',
        );
        await this.park(attempt);
        return 'parked';
      }
      metrics?.attempt('retried', outcome.ms / 1000);
      const wait = Math.min(
        settings.retryMaxMs,
        Math.max(
          backoffDelay(attempt.attempts, { baseMs: settings.retryBaseMs, maxMs: settings.retryMaxMs, jitter: 'equal' }),
          outcome.retryAfterMs ?? 0,
        ),
      );
      attempt.nextAttemptAt = this.d.now() + wait;
      this.endpoint = { ...this.endpoint, retry: attempt };
      this.dirty = true;
      await this.persist(true);
      this.log.info(
        { status: outcome.status, error: attempt.lastError, attempts: attempt.attempts, waitMs: wait },
        'webhook delivery failed; retrying',
      );
      try {
        await sleep(wait, undefined, { signal: this.abort.signal });
      } catch {
        return 'stopped';
      }
    }
  }

  private async park(failure: WebhookAttempt): Promise<void> {
    const { store, holder } = this.d.o;
    this.endpoint = { ...this.endpoint, retry: null, failure, state: 'failed' };
    await store
      .updateWebhook(
        this.endpoint.id,
        { state: 'failed', failure, retry: null, cursor: Object.fromEntries(this.positions), delivered: this.endpoint.delivered },
        { holder, revision: this.revision, now: this.d.now() },
      )
      .catch((err: unknown) => this.log.warn({ err }, 'webhook failure not written'));
    this.dirty = false;
    this.stopping = true;
  }

  /** Progress to the store, at most once per `persistMs` unless `force`; a lost lease or a new revision stops the worker. */
  private async persist(force: boolean): Promise<void> {
    if (!this.dirty) return;
    const now = this.d.now();
    if (!force && now - this.lastPersist < this.d.o.settings.persistMs) return;
    this.lastPersist = now;
    this.dirty = false;
    const { store, holder } = this.d.o;
    const written = await store.updateWebhook(
      this.endpoint.id,
      {
        cursor: Object.fromEntries(this.positions),
        retry: this.endpoint.retry,
        delivered: this.endpoint.delivered,
        lastDeliveredAt: this.endpoint.lastDeliveredAt,
      },
      { holder, revision: this.revision, now },
    );
    if (!written && !this.stopping) {
      this.log.info('webhook endpoint changed or its lease was lost: this worker stops');
      void this.stop();
    }
  }

  private async renew(): Promise<void> {
    const { store, holder, settings } = this.d.o;
    try {
      const held = await store.acquireWebhookLease(this.endpoint.id, holder, settings.leaseMs, this.d.now());
      const current = held ? await store.getWebhook(this.endpoint.id) : null;
      if (!held || !current || current.revision !== this.revision || current.state !== 'active') void this.stop();
    } catch (err) {
      this.log.warn({ err }, 'webhook lease renewal failed');
    }
  }
}
