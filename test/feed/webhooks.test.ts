import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../support/e2e.js';
import { decodeCursor } from '../../src/feed/position.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Webhooks end to end on SQLite: the real server, the simulated phone streaming, real HTTP receivers
 * on loopback (WEBHOOK_ALLOW_PRIVATE=true). Deliveries are checked against the change log: every
 * event, in order per account, each delivery id once after dedupe, every signature valid.
 *
 * The receiver-down period is WASYNC_TEST_WEBHOOK_DOWN_MS (default 8 s, the figure is 60 s):
 * long enough, with WEBHOOK_RETRY_BASE_MS=250, for several retries of the same delivery.
 */

const DOWN_MS = Number(process.env.WASYNC_TEST_WEBHOOK_DOWN_MS ?? 8000);
const baseEnv = (envHook: string) => ({
  WA_DEMO: 'true',
  WA_SIM_CHATS: '3',
  WA_SIM_MESSAGES_PER_CHAT: '3',
  WA_SIM_RATE: '20',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_BASE_MS: '250',
  WEBHOOK_RETRY_MAX_MS: '4000',
  // Retries every 4 s at most: enough attempts to outlast the receiver's down period.
  WEBHOOK_MAX_ATTEMPTS: String(Math.ceil(DOWN_MS / 4000) + 20),
  WEBHOOK_URL: envHook,
  WEBHOOK_SECRET: 'env-secret-0123456789',
  WEBHOOK_EVENTS: 'message.created,account.updated',
});

let t: TestApp;
let envHook: WebhookReceiver;
beforeAll(async () => {
  envHook = await WebhookReceiver.start();
  t = await startTestApp(baseEnv(envHook.url));
  await waitFor('history', async () => ((await t.app.store.countMessages('demo')) >= 9 ? true : undefined));
});
afterAll(async () => {
  await t?.close();
  await envHook?.stop();
});

interface WebhookView {
  id: string;
  state: 'active' | 'failed';
  cursor: string | null;
  secret?: string;
  delivered: number;
  retry: null | { attempts: number; lastStatus: number | null; deliveryId: string };
  failure: null | { attempts: number; lastStatus: number | null; lastError: string; deliveryId: string; eventId: string };
}
const createHook = async (body: Record<string, unknown>) => {
  const res = await t.api<{ webhook: WebhookView }>('POST', '/api/whatsapp/webhooks', body);
  expect(res.status).toBe(201);
  return res.json.webhook;
};
const getHook = async (id: string) => (await t.api<{ webhook: WebhookView }>('GET', `/api/whatsapp/webhooks/${id}`)).json.webhook;

/** The log's events of `accountId` after `afterSeq` up to `uptoSeq`, as event ids in order (ids as the feed numbers them). */
async function logIds(app: TestApp, accountId: string, afterSeq: number, uptoSeq: number, types?: ReadonlySet<string>): Promise<string[]> {
  const { eventId } = await import('../../src/feed/position.js');
  const epoch = await app.app.store.changeLogEpoch();
  const page = await app.app.store.readChanges(accountId, afterSeq, 1000);
  if (page.status !== 'ok') throw new Error(page.reason);
  return page.batches
    .filter((b) => b.seq <= uptoSeq)
    .flatMap((b) => b.events.map((e, i) => ({ id: eventId(epoch, accountId, b.seq, i), type: e.type })))
    .filter((e) => !types || types.has(e.type))
    .map((e) => e.id);
}
const seqOfCursor = (cursor: string) => Number(JSON.parse(Buffer.from(cursor.slice(1), 'base64url').toString())[4]) >> 16;
/** An account's position in a cursor (a "*" endpoint's cursor names every account). */
const positionIn = (cursor: string, accountId: string): number => {
  const c = decodeCursor(cursor);
  return c.kind === 'account' ? c.position : (c.positions[accountId] ?? -1);
};

describe('webhooks (SQLite)', () => {
  it(
    'receiver down for a while, server restarted meanwhile: every event delivered, in order, each delivery id once, all signed',
    async () => {
      const receiver = await WebhookReceiver.start();
      let down = true;
      receiver.answer = () => (down ? 503 : 200);
      const hook = await createHook({ url: receiver.url, accountId: 'demo', description: 'inbox' });
      expect(hook.secret).toMatch(/^whsec_/);
      const startSeq = seqOfCursor(hook.cursor!);
      // Several attempts of the first delivery while the receiver is down, backing off.
      await waitFor('retries', async () => (receiver.requests.length >= 3 ? true : undefined), DOWN_MS);
      const first = receiver.requests[0]!;
      expect(receiver.requests.slice(0, 3).map((r) => r.deliveryId)).toEqual([first.deliveryId, first.deliveryId, first.deliveryId]);
      expect(receiver.requests.slice(0, 3).map((r) => r.attempt)).toEqual([1, 2, 3]);
      const gaps = receiver.requests.slice(1, 3).map((r, i) => r.at - receiver.requests[i]!.at);
      expect(gaps[1]!).toBeGreaterThan(gaps[0]! * 0.9);
      expect((await getHook(hook.id)).retry).toMatchObject({ lastStatus: 503, deliveryId: first.deliveryId });

      // The server restarts while the receiver is still down; the retry state and cursor are in the store.
      const dataDir = t.dataDir;
      await t.app.shutdown();
      t = await startTestApp({ ...baseEnv(envHook.url), DATA_DIR: dataDir });
      await new Promise((r) => setTimeout(r, Math.max(0, DOWN_MS - (Date.now() - first.at))));
      down = false;

      // Everything up to the log's head as of now arrives.
      const upto = await t.app.store.changeLogHead('demo');
      const expected = await logIds(t, 'demo', startSeq, upto);
      expect(expected.length).toBeGreaterThan(30);
      await waitFor(
        'every event',
        async () => (expected.every((id) => receiver.delivered.some((r) => r.eventId === id)) ? true : undefined),
        30_000,
      );
      const delivered = receiver.delivered.map((r) => r.eventId);
      expect(delivered.slice(0, expected.length)).toEqual(expected);
      expect(new Set(receiver.delivered.map((r) => r.deliveryId)).size).toBe(receiver.delivered.length);
      expect(receiver.allSigned(hook.secret!)).toBe(true);
      // The body is the websocket event: the REST shapes.
      const created = receiver.delivered.find((r) => r.event === 'message.created')!;
      expect(created.body).toMatchObject({ id: created.eventId, accountId: 'demo', event: 'message.created' });
      expect(created.body.data).toHaveProperty('threadId');
      expect(created.body.data).toHaveProperty('tsServer');
      expect((await getHook(hook.id)).state).toBe('active');
      // Bounded-label metrics of the deliveries (after the restart: this process's own).
      const metrics = await (await fetch(`${t.app.url}/metrics`)).text();
      expect(metrics).toMatch(/^wasync_webhook_deliveries_total\{outcome="delivered"\} [1-9]/m);
      expect(metrics).toMatch(/^wasync_feed_events_delivered_total\{transport="webhook"\} [1-9]/m);
      expect(metrics).toMatch(/^wasync_webhook_lag_seconds_count [1-9]/m);
      expect(metrics).toMatch(/^wasync_webhook_endpoints\{state="active"\} [1-9]/m);
      await receiver.stop();
    },
    DOWN_MS + 60_000,
  );

  it('a 410 parks the endpoint at once with the error; redeliver sends the same delivery and goes on', async () => {
    const receiver = await WebhookReceiver.start();
    let gone = true;
    receiver.answer = () => (gone ? 410 : 204);
    const hook = await createHook({ url: receiver.url, accountId: 'demo', events: ['message.created'] });
    const parked = await waitFor('parked', async () => {
      const h = await getHook(hook.id);
      return h.state === 'failed' ? h : undefined;
    });
    expect(parked.failure).toMatchObject({ attempts: 1, lastStatus: 410 });
    expect(parked.failure!.lastError).toMatch(/HTTP 410/);
    expect(receiver.requests).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.requests).toHaveLength(1);
    const list = await t.api<{ webhooks: WebhookView[] }>('GET', '/api/whatsapp/webhooks');
    expect(list.json.webhooks.find((w) => w.id === hook.id)?.state).toBe('failed');
    expect(list.json.webhooks.every((w) => w.secret === undefined)).toBe(true);

    gone = false;
    const again = await t.api<{ webhook: WebhookView }>('POST', `/api/whatsapp/webhooks/${hook.id}/redeliver`);
    expect(again.json.webhook).toMatchObject({ state: 'active', failure: null });
    await waitFor('deliveries', async () => (receiver.delivered.length >= 5 ? true : undefined));
    expect(receiver.delivered[0]!.deliveryId).toBe(parked.failure!.deliveryId);
    expect(receiver.delivered.every((r) => r.event === 'message.created')).toBe(true);

    // Resetting the cursor to an earlier event delivers what follows it again, with the same ids.
    const replayFrom = receiver.delivered[1]!;
    const reset = await t.api<{ webhook: WebhookView }>('POST', `/api/whatsapp/webhooks/${hook.id}/reset`, {
      cursor: replayFrom.body.cursor,
    });
    expect(reset.status).toBe(200);
    const third = receiver.delivered[2]!;
    await waitFor('the replay', async () =>
      receiver.requests.filter((r) => r.deliveryId === third.deliveryId).length >= 2 ? true : undefined,
    );
    expect(await t.api('DELETE', `/api/whatsapp/webhooks/${hook.id}`)).toMatchObject({ status: 200 });
    expect((await t.api('GET', `/api/whatsapp/webhooks/${hook.id}`)).status).toBe(404);
    await receiver.stop();
  });

  it('one slow endpoint never holds up another', async () => {
    const slow = await WebhookReceiver.start();
    const fast = await WebhookReceiver.start();
    slow.answer = () => ({ status: 200, delayMs: 1500 });
    await createHook({ url: slow.url, accountId: 'demo' });
    await createHook({ url: fast.url, accountId: 'demo' });
    await waitFor('the fast one', async () => (fast.delivered.length >= 40 ? true : undefined), 20_000);
    expect(slow.requests.length).toBeLessThan(fast.delivered.length / 4);
    await Promise.all([slow.stop(), fast.stop()]);
  });

  it('WEBHOOK_URL is endpoint "env": its events, its secret, listed without the secret', async () => {
    await waitFor('env deliveries', async () => (envHook.delivered.length >= 5 ? true : undefined));
    // Only the types WEBHOOK_EVENTS names, signed with WEBHOOK_SECRET, in log order per account.
    expect(envHook.delivered.every((r) => r.event === 'message.created' || r.event === 'account.updated')).toBe(true);
    expect(envHook.allSigned('env-secret-0123456789')).toBe(true);
    const env = await getHook('env');
    expect(env).toMatchObject({ id: 'env', state: 'active' });
    expect(env).not.toHaveProperty('secret');
    const positions = envHook.delivered.map((r) => positionIn(r.body.cursor, r.body.accountId));
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
  });

  it('refuses URLs that are not http(s), carry credentials, or point at metadata addresses; checks the rest of the body', async () => {
    for (const url of [
      'ftp://example.com/x',
      'http://user:pw@example.com/x',
      'http://169.254.169.254/latest',
      'http://[fd00:ec2::254]/',
      'not a url',
    ]) {
      const res = await t.api<{ error: { code: string } }>('POST', '/api/whatsapp/webhooks', { url, accountId: 'demo' });
      expect(res.status, url).toBe(400);
    }
    expect((await t.api('POST', '/api/whatsapp/webhooks', { url: 'https://example.com/x', accountId: 'nobody' })).status).toBe(404);
    expect((await t.api('POST', '/api/whatsapp/webhooks', { url: 'https://example.com/x', events: ['message.deleted'] })).status).toBe(400);
    expect((await t.api('POST', '/api/whatsapp/webhooks', { url: 'https://example.com/x', secret: 'short' })).status).toBe(400);
    expect((await t.api('POST', '/api/whatsapp/webhooks', { url: 'https://example.com/x', after: 'junk' })).status).toBe(400);
  });
});
