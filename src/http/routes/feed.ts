import { BadRequestError, WasyncError } from '../../domain/errors.js';
import { decodeCursor } from '../../feed/position.js';
import type { FeedDeps } from '../deps.js';
import { serializeWebhook } from '../feed-wire.js';
import { jsonReply } from '../respond.js';
import { route, type Route, type RouteContext } from '../router.js';
import * as S from '../schemas/feed.js';
import { iso } from '../serialize.js';

/**
 * The live feed's REST side (README, "Live events"): websocket tickets for browsers, and webhook
 * endpoints (create, list, show, delete, redeliver after a failure, move the cursor). A ticket needs
 * scope `read` and carries the caller's principal (the socket's subscriptions are checked against it);
 * webhook endpoints are `admin`: an endpoint receives every account's events unless limited, and its
 * URL is where the data goes.
 */

function feedOf(ctx: Pick<RouteContext, 'deps'>): FeedDeps {
  if (!ctx.deps.feed) throw new WasyncError('NOT_FOUND', 'the live feed is not enabled on this server');
  return ctx.deps.feed;
}

function optionalCursor(value: string | null | undefined) {
  return value === undefined || value === null ? null : decodeCursor(value);
}

const SAFE_ID = /^[^/\\\p{Cc}]{1,100}$/u;

export const feedRoutes: readonly Route[] = [
  // A single-use ticket for `GET /api/whatsapp/ws?ticket=…` (browsers cannot set the Authorization header on a websocket).
  route('post', '/api/whatsapp/ws-ticket', { scope: 'read', account: 'filter', schema: S.createWsTicket }, async (ctx) => {
    const feed = feedOf(ctx);
    if (!ctx.principal) throw new WasyncError('UNAUTHORIZED', 'missing or invalid bearer token');
    const { ticket, expiresAt } = feed.auth.issueTicket(ctx.principal, Date.now());
    return jsonReply(200, { success: true, ticket, expiresAt: iso(expiresAt) });
  }),

  route('post', '/api/whatsapp/webhooks', { scope: 'admin', account: 'none', schema: S.createWebhook }, async (ctx) => {
    const feed = feedOf(ctx);
    const input = ctx.body;
    const raw = input.accountId;
    const accountId = raw === undefined || raw === null || raw === '*' ? null : raw;
    if (accountId !== null && (!SAFE_ID.test(accountId) || accountId.includes('..')))
      throw new BadRequestError('accountId is not a valid id');
    const endpoint = await feed.webhooks.create({
      url: input.url,
      accountId,
      events: (input.events ?? null) as never,
      ...(input.secret !== undefined ? { secret: input.secret } : {}),
      description: input.description ?? null,
      after: optionalCursor(input.after),
    });
    // The only time the secret is shown.
    return jsonReply(201, { success: true, webhook: { ...serializeWebhook(endpoint, feed.hub.epoch), secret: endpoint.secret } });
  }),

  route('get', '/api/whatsapp/webhooks', { scope: 'admin', account: 'none', schema: S.listWebhooks }, async (ctx) => {
    const feed = feedOf(ctx);
    const accountId = ctx.query.accountId ?? null;
    const all = (await feed.webhooks.list()).filter((e) => accountId === null || e.accountId === accountId);
    return jsonReply(200, { success: true, webhooks: all.map((e) => serializeWebhook(e, feed.hub.epoch)), count: all.length });
  }),

  route('get', '/api/whatsapp/webhooks/:id', { scope: 'admin', account: 'none', schema: S.getWebhook }, async (ctx) => {
    const feed = feedOf(ctx);
    return jsonReply(200, { success: true, webhook: serializeWebhook(await feed.webhooks.get(ctx.params.id), feed.hub.epoch) });
  }),

  route('delete', '/api/whatsapp/webhooks/:id', { scope: 'admin', account: 'none', schema: S.deleteWebhook }, async (ctx) => {
    await feedOf(ctx).webhooks.delete(ctx.params.id);
    return jsonReply(200, { success: true, id: ctx.params.id });
  }),

  // A parked endpoint resumes with the delivery it failed on (same delivery id), with a fresh attempt budget.
  route('post', '/api/whatsapp/webhooks/:id/redeliver', { scope: 'admin', account: 'none', schema: S.redeliverWebhook }, async (ctx) => {
    const feed = feedOf(ctx);
    return jsonReply(200, { success: true, webhook: serializeWebhook(await feed.webhooks.redeliver(ctx.params.id), feed.hub.epoch) });
  }),

  // Body `{ "cursor": "<cursor>" }` delivers what follows that cursor; `{ "cursor": null }` (or no body) skips to now.
  route('post', '/api/whatsapp/webhooks/:id/reset', { scope: 'admin', account: 'none', schema: S.resetWebhook }, async (ctx) => {
    const feed = feedOf(ctx);
    const endpoint = await feed.webhooks.reset(ctx.params.id, optionalCursor(ctx.body.cursor));
    return jsonReply(200, { success: true, webhook: serializeWebhook(endpoint, feed.hub.epoch) });
  }),
];
