import { BadRequestError, WasyncError } from '../../domain/errors.js';
import { decodeCursor } from '../../feed/position.js';
import type { FeedDeps } from '../deps.js';
import { serializeWebhook } from '../feed-wire.js';
import { jsonReply } from '../respond.js';
import { route, type Route, type RouteContext } from '../router.js';
import { iso } from '../serialize.js';
import { bodyId, objectBody } from '../validate.js';

/**
 * The live feed's REST side (README, "Live events"): websocket tickets for browsers, and webhook
 * endpoints (create, list, show, delete, redeliver after a failure, move the cursor).
 */

function feedOf(ctx: RouteContext): FeedDeps {
  if (!ctx.deps.feed) throw new WasyncError('NOT_FOUND', 'the live feed is not enabled on this server');
  return ctx.deps.feed;
}

function optionalCursor(value: unknown, name: string) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new BadRequestError(`${name} must be a cursor string or null`);
  return decodeCursor(value);
}

export const feedRoutes: readonly Route[] = [
  // A single-use ticket for `GET /api/whatsapp/ws?ticket=…` (browsers cannot set the Authorization header on a websocket).
  route('post', '/api/whatsapp/ws-ticket', {}, async (ctx) => {
    const feed = feedOf(ctx);
    if (!ctx.principal) throw new WasyncError('UNAUTHORIZED', 'missing or invalid bearer token');
    const { ticket, expiresAt } = feed.auth.issueTicket(ctx.principal, Date.now());
    return jsonReply(200, { success: true, ticket, expiresAt: iso(expiresAt) });
  }),

  route('post', '/api/whatsapp/webhooks', { body: true }, async (ctx) => {
    const feed = feedOf(ctx);
    const input = objectBody(ctx.body, false);
    const accountId =
      input.accountId === undefined || input.accountId === null || input.accountId === '*' ? null : bodyId(input, 'accountId');
    if (input.secret !== undefined && typeof input.secret !== 'string') throw new BadRequestError('secret must be a string');
    const endpoint = await feed.webhooks.create({
      url: typeof input.url === 'string' ? input.url : (input.url as string),
      accountId,
      events: (input.events ?? null) as never,
      ...(typeof input.secret === 'string' ? { secret: input.secret } : {}),
      description: (input.description ?? null) as string | null,
      after: optionalCursor(input.after, 'after'),
    });
    // The only time the secret is shown.
    return jsonReply(201, { success: true, webhook: { ...serializeWebhook(endpoint, feed.hub.epoch), secret: endpoint.secret } });
  }),

  route('get', '/api/whatsapp/webhooks', {}, async (ctx) => {
    const feed = feedOf(ctx);
    const accountId = ctx.query.get('accountId');
    const all = (await feed.webhooks.list()).filter((e) => accountId === null || e.accountId === accountId);
    return jsonReply(200, { success: true, webhooks: all.map((e) => serializeWebhook(e, feed.hub.epoch)), count: all.length });
  }),

  route('get', '/api/whatsapp/webhooks/:id', {}, async (ctx) => {
    const feed = feedOf(ctx);
    return jsonReply(200, { success: true, webhook: serializeWebhook(await feed.webhooks.get(ctx.params.id), feed.hub.epoch) });
  }),

  route('delete', '/api/whatsapp/webhooks/:id', {}, async (ctx) => {
    await feedOf(ctx).webhooks.delete(ctx.params.id);
    return jsonReply(200, { success: true, id: ctx.params.id });
  }),

  // A parked endpoint resumes with the delivery it failed on (same delivery id), with a fresh attempt budget.
  route('post', '/api/whatsapp/webhooks/:id/redeliver', {}, async (ctx) => {
    const feed = feedOf(ctx);
    return jsonReply(200, { success: true, webhook: serializeWebhook(await feed.webhooks.redeliver(ctx.params.id), feed.hub.epoch) });
  }),

  // Body `{ "cursor": "<cursor>" }` delivers what follows that cursor; `{ "cursor": null }` (or no body) skips to now.
  route('post', '/api/whatsapp/webhooks/:id/reset', { body: true }, async (ctx) => {
    const feed = feedOf(ctx);
    const input = objectBody(ctx.body, true);
    const endpoint = await feed.webhooks.reset(ctx.params.id, optionalCursor(input.cursor, 'cursor'));
    return jsonReply(200, { success: true, webhook: serializeWebhook(endpoint, feed.hub.epoch) });
  }),
];
