import { randomBytes } from 'node:crypto';
import type { ChangeEventType } from '../../domain/change-events.js';
import { BadRequestError, NotFoundError } from '../../domain/errors.js';
import type { Store } from '../../store/port.js';
import { NEW_WEBHOOK_STATE, assertWebhookEvents, assertWebhookId, type WebhookEndpoint } from '../../store/webhooks.js';
import type { FeedHub } from '../hub.js';
import { batchEnd, type Cursor } from '../position.js';
import { AddressRefusedError, checkWebhookUrl } from './address-guard.js';
import type { WebhookDispatcher } from './dispatcher.js';
import { newWebhookSecret } from './signature.js';

/** The endpoint WEBHOOK_URL defines (rewritten at start-up). */
export const ENV_WEBHOOK_ID = 'env';

export interface CreateWebhook {
  url: string;
  /** null: every account. */
  accountId: string | null;
  events: ChangeEventType[] | null;
  /** Generated when absent (and shown once, in the answer). */
  secret?: string;
  description?: string | null;
  /** Deliver what follows this cursor; absent: what follows now. */
  after?: Cursor | null;
}

/**
 * What `POST/GET/DELETE /api/whatsapp/webhooks` and friends do: checks, the starting cursor, and the
 * changes that restart an endpoint's delivery (redeliver, cursor reset). Each such change bumps the
 * endpoint's revision, which stops whichever instance is dispatching it from writing stale progress.
 */
export class WebhookAdmin {
  constructor(
    private readonly o: { store: Store; hub: FeedHub; dispatcher: WebhookDispatcher | null; allowPrivate: boolean; now?: () => number },
  ) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  async create(input: CreateWebhook, opts: { id?: string; source?: 'api' | 'env' } = {}): Promise<WebhookEndpoint> {
    const url = this.checkUrl(input.url);
    const events = assertWebhookEvents(input.events);
    if (input.accountId !== null && !(await this.o.store.getAccount(input.accountId))) {
      throw new NotFoundError(`account ${input.accountId} not found`);
    }
    const secret = input.secret ?? newWebhookSecret();
    if (secret.length < 16 || secret.length > 200) throw new BadRequestError('secret must be 16-200 characters');
    const description = input.description ?? null;
    if (description !== null && (typeof description !== 'string' || description.length > 200)) {
      throw new BadRequestError('description must be a string of at most 200 characters');
    }
    const now = this.now();
    const endpoint: WebhookEndpoint = {
      id: assertWebhookId(
        opts.id ??
          `wh_${randomBytes(9)
            .toString('base64url')
            .replace(/[^A-Za-z0-9]/g, 'x')}`,
      ),
      url,
      accountId: input.accountId,
      events,
      secret,
      description,
      source: opts.source ?? 'api',
      createdAt: now,
      updatedAt: now,
      ...NEW_WEBHOOK_STATE,
      cursor: await this.startPositions(input.accountId, input.after ?? null),
    };
    const created = await this.o.store.createWebhook(endpoint);
    void this.o.dispatcher?.kick();
    return created;
  }

  list(): Promise<WebhookEndpoint[]> {
    return this.o.store.listWebhooks();
  }

  async get(id: string): Promise<WebhookEndpoint> {
    const e = await this.o.store.getWebhook(id);
    if (!e) throw new NotFoundError(`webhook ${id} not found`);
    return e;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.o.store.deleteWebhook(id))) throw new NotFoundError(`webhook ${id} not found`);
    void this.o.dispatcher?.kick();
  }

  /** Back to `active`, retrying the delivery it failed on (same delivery id), with a fresh attempt budget. */
  async redeliver(id: string): Promise<WebhookEndpoint> {
    const e = await this.get(id);
    return this.restart(e, { state: 'active', failure: null, retry: null });
  }

  /** Moves the cursor (null: to now) and re-activates the endpoint: what follows the cursor is delivered. */
  async reset(id: string, after: Cursor | null): Promise<WebhookEndpoint> {
    const e = await this.get(id);
    const cursor = await this.startPositions(e.accountId, after);
    return this.restart(e, { state: 'active', failure: null, retry: null, cursor });
  }

  /**
   * WEBHOOK_URL / WEBHOOK_SECRET / WEBHOOK_EVENTS as endpoint `env`: created the first time, updated
   * when they change (its cursor kept), removed when WEBHOOK_URL is unset.
   */
  async syncEnv(env: {
    url?: string | undefined;
    secret?: string | undefined;
    events?: readonly ChangeEventType[] | undefined;
  }): Promise<void> {
    const existing = await this.o.store.getWebhook(ENV_WEBHOOK_ID);
    if (!env.url) {
      if (existing) await this.o.store.deleteWebhook(ENV_WEBHOOK_ID);
      return;
    }
    const events = env.events ? [...env.events] : null;
    if (!existing) {
      await this.create(
        { url: env.url, accountId: null, events, secret: env.secret, description: 'WEBHOOK_URL' },
        { id: ENV_WEBHOOK_ID, source: 'env' },
      );
      return;
    }
    const same =
      existing.url === this.checkUrl(env.url) &&
      existing.secret === env.secret &&
      JSON.stringify(existing.events) === JSON.stringify(events);
    if (!same) await this.restart(existing, { url: this.checkUrl(env.url), secret: env.secret ?? existing.secret, events });
  }

  private async restart(e: WebhookEndpoint, patch: Parameters<Store['updateWebhook']>[1]): Promise<WebhookEndpoint> {
    const updated = await this.o.store.updateWebhook(
      e.id,
      { ...patch, revision: e.revision + 1 },
      { revision: e.revision, now: this.now() },
    );
    if (!updated) throw new BadRequestError(`webhook ${e.id} changed meanwhile; try again`);
    void this.o.dispatcher?.kick();
    return updated;
  }

  private checkUrl(url: unknown): string {
    if (typeof url !== 'string') throw new BadRequestError('url must be a string');
    try {
      return checkWebhookUrl(url, this.o.allowPrivate).href;
    } catch (err) {
      if (err instanceof AddressRefusedError) throw new BadRequestError(`url refused: ${err.message}`);
      throw err;
    }
  }

  /** Per account, where delivery starts: the cursor's positions, or every account's head now. */
  private async startPositions(accountId: string | null, after: Cursor | null): Promise<Record<string, number>> {
    if (after !== null) {
      if (after.epoch !== this.o.hub.epoch) throw new BadRequestError('the cursor belongs to another database');
      if (after.kind === 'account') {
        if (accountId !== after.accountId) throw new BadRequestError('the cursor belongs to another account');
        return { [after.accountId]: after.position };
      }
      if (accountId !== null) {
        const pos = after.positions[accountId];
        if (pos === undefined) throw new BadRequestError(`the cursor does not name account ${accountId}`);
        return { [accountId]: pos };
      }
      return { ...after.positions };
    }
    if (accountId !== null) return { [accountId]: batchEnd(await this.o.store.changeLogHead(accountId)) };
    const heads = await this.o.store.changeLogHeads();
    return Object.fromEntries([...heads].map(([id, seq]) => [id, batchEnd(seq)]));
  }
}
