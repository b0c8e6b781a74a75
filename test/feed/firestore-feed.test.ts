import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedHub, type FeedSink, type HubEvent } from '../../src/feed/hub.js';
import { decodeCursor, eventId } from '../../src/feed/position.js';
import { createFirestoreStore, type FirestoreStore } from '../../src/store/firestore/index.js';
import { E2E_TOKEN, startTestApp, waitFor, type TestApp } from '../support/e2e.js';
import { FeedTestClient, type FeedFrame } from '../support/feed-client.js';
import { openFirestoreEmulator, type Connection, type EmulatorClient } from '../support/firestore-emulator.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The live feed with STORE=firestore on Google's emulator: the real server and simulated phone, real
 * `ws` clients and a real webhook receiver; and a second instance (its own client of the same project,
 * no actors) whose hub must serve the events the first one writes.
 */

let emulator: EmulatorClient;
let connection: Connection;
let t: TestApp;
const env = () => ({
  STORE: 'firestore',
  GOOGLE_CLOUD_PROJECT: connection.projectId,
  WA_DEMO: 'true',
  WA_SIM_CHATS: '3',
  WA_SIM_MESSAGES_PER_CHAT: '3',
  WA_SIM_RATE: '60',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_BASE_MS: '200',
});
beforeAll(async () => {
  emulator = openFirestoreEmulator();
  connection = emulator.connect();
  t = await startTestApp(env());
  await waitFor('history', async () => ((await t.app.store.countMessages('demo')) >= 9 ? true : undefined), 30_000);
});
afterAll(async () => {
  await t?.close();
  await connection?.close();
  await emulator?.close();
});

const positionOf = (cursor: string) => {
  const c = decodeCursor(cursor);
  return c.kind === 'account' ? c.position : -1;
};
async function logIds(accountId: string, afterPos: number, uptoPos: number): Promise<string[]> {
  const epoch = await t.app.store.changeLogEpoch();
  const page = await t.app.store.readChanges(accountId, Math.floor(afterPos / 65536), 1000);
  if (page.status !== 'ok') throw new Error(page.reason);
  return page.batches.flatMap((b) =>
    b.events
      .map((_, i) => ({ id: eventId(epoch, accountId, b.seq, i), pos: b.seq * 65536 + (i === b.events.length - 1 ? 65535 : i) }))
      .filter((e) => e.pos > afterPos && e.pos <= uptoPos)
      .map((e) => e.id),
  );
}
const created = (frames: FeedFrame[]) => frames.filter((f) => f.event === 'message.created' && f.data?.syncSource === 'realtime');

describe('live feed on Firestore', () => {
  it('streams live messages once, in commit order, in the REST shape; resumes after a disconnect with no gap', async () => {
    const first = await FeedTestClient.connect(t.app.url, { token: E2E_TOKEN });
    first.subscribe('demo');
    const start = positionOf((await first.waitForFrame('subscribed')).cursor!);
    await first.waitFor('live messages', () => created(first.frames).length >= 60, 30_000);
    await first.close();
    await new Promise((r) => setTimeout(r, 1500));
    const second = await FeedTestClient.connect(t.app.url, { token: E2E_TOKEN });
    second.subscribe('demo', first.lastCursor!);
    await second.waitForFrame('live', 30_000);
    await second.waitFor('more', () => created(second.frames).length >= 60, 30_000);
    const union = [...first.events, ...second.events];
    expect(new Set(union.map((e) => e.id)).size).toBe(union.length);
    const positions = union.map((e) => positionOf(e.cursor!));
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
    expect(union.map((e) => e.id)).toEqual(await logIds('demo', start, positions.at(-1)!));
    const sample = created(union).at(-1)!;
    const rest = await t.api<{ messages: Array<Record<string, unknown>> }>(
      'GET',
      `/api/whatsapp/messages/demo/${encodeURIComponent(sample.data!.threadId as string)}?limit=500`,
    );
    const { threadId: _t, ...fromFeed } = sample.data!;
    expect(fromFeed).toEqual(rest.json.messages.find((m) => m.id === sample.data!.id));
    await second.close();
  });

  it('another instance on the same project serves the events this one writes (its hub is woken by head hints)', async () => {
    const other = emulator.connect(connection.projectId);
    const store: FirestoreStore = createFirestoreStore({ firestore: other.firestore });
    await store.init();
    const hub = new FeedHub({ store, logger: pino({ level: 'silent' }), render: (e) => e.id, pollMs: 60_000 });
    await hub.start();
    const got: Array<{ e: HubEvent; at: number }> = [];
    const sink: FeedSink = {
      closed: false,
      pressure: false,
      subscribed: () => undefined,
      live: () => undefined,
      resync: () => undefined,
      drained: async () => undefined,
      push: (e) => {
        got.push({ e, at: Date.now() });
        return true;
      },
    };
    const local = await FeedTestClient.connect(t.app.url, { token: E2E_TOKEN });
    local.subscribe('demo');
    await local.waitForFrame('live');
    await hub.subscribe('demo', null, sink);
    try {
      await waitFor(
        'events through the other instance',
        async () => (got.filter((g) => g.e.event.type === 'message.created').length >= 40 ? true : undefined),
        30_000,
      );
      const ids = got.map((g) => g.e.id);
      const positions = got.map((g) => g.e.position);
      expect(new Set(ids).size).toBe(ids.length);
      expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
      // The same events the local instance streams, in the same order.
      const localIds = local.events.map((e) => e.id);
      const from = localIds.indexOf(ids[0]!);
      expect(from).toBeGreaterThanOrEqual(0);
      expect(localIds.slice(from, from + ids.length)).toEqual(ids.slice(0, Math.min(ids.length, localIds.length - from)));
      // Within about a second of their commit (hints are written at most once a second per account).
      const lags = got.map((g) => g.at - g.e.committedAt).sort((a, b) => a - b);
      expect(lags[Math.floor(lags.length / 2)]!).toBeLessThan(3000);
    } finally {
      hub.stop();
      await local.close();
      await store.close();
      await other.close();
    }
  });

  it('webhooks: cursor and retries in Firestore; a restart in the middle loses nothing', async () => {
    const receiver = await WebhookReceiver.start();
    let down = true;
    receiver.answer = () => (down ? 500 : 200);
    const res = await t.api<{ webhook: { id: string; cursor: string; secret: string } }>('POST', '/api/whatsapp/webhooks', {
      url: receiver.url,
      accountId: 'demo',
    });
    expect(res.status).toBe(201);
    const start = positionOf(res.json.webhook.cursor);
    await waitFor('retries', async () => (receiver.requests.length >= 2 ? true : undefined), 20_000);
    await t.app.shutdown();
    t = await startTestApp(env());
    down = false;
    const upto = (await t.app.store.changeLogHead('demo')) * 65536 + 65535;
    const expected = await logIds('demo', start, upto);
    await waitFor(
      'every event',
      async () => (expected.every((id) => receiver.delivered.some((r) => r.eventId === id)) ? true : undefined),
      40_000,
    );
    expect(receiver.delivered.map((r) => r.eventId).slice(0, expected.length)).toEqual(expected);
    expect(receiver.allSigned(res.json.webhook.secret)).toBe(true);
    await receiver.stop();
  });
});
