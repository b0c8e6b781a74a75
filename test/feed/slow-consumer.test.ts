import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_TOKEN, startTestApp, waitFor, type TestApp } from '../support/e2e.js';
import { FeedTestClient } from '../support/feed-client.js';

/**
 * Flow control and liveness of the websocket feed on the real server (the clients run in the test's
 * process, beside the server: the reading client keeps up with 500 messages a second, about 1,000
 * frames, here; the benchmark's clients run in processes of their own). A client that never reads is
 * closed with 4008 once its backlog passes FEED_MAX_BUFFERED_KB, while ingest keeps its rate and other
 * clients keep receiving; a connection that stops answering pings is reaped, a live one is pinged.
 */

let t: TestApp;
const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${t.app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
};
const socketOf = (c: FeedTestClient) => (c.ws as unknown as { _socket: Socket })._socket;

describe('websocket feed flow control (SQLite)', () => {
  beforeAll(async () => {
    // The idle timeout (default 60 s) is longer than the test: a paused client that answers no
    // ping would otherwise be reaped as dead before it is closed as slow.
    t = await startTestApp({
      WA_DEMO: 'true',
      WA_SIM_CHATS: '4',
      WA_SIM_MESSAGES_PER_CHAT: '2',
      WA_SIM_RATE: '500',
      FEED_MAX_BUFFERED_KB: '512',
    });
    await waitFor('history', async () => ((await t.app.store.countMessages('demo')) >= 8 ? true : undefined));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a client that never reads is closed with 4008 while ingest keeps its rate and a reading client keeps up', async () => {
    const slow = await FeedTestClient.connect(t.app.url, { token: E2E_TOKEN });
    const reader = await FeedTestClient.connect(t.app.url, { token: E2E_TOKEN });
    slow.subscribe('demo');
    reader.subscribe('demo');
    await slow.waitForFrame('live');
    await reader.waitForFrame('live');
    // Stop reading: the kernel buffers fill, then uWS's, then the server gives up on it.
    socketOf(slow).pause();
    const before = await t.app.store.countMessages('demo');
    const started = Date.now();
    await waitFor(
      'the slow consumer to be closed',
      async () => ((await metric('wasync_feed_slow_consumer_closes_total')) >= 1 ? true : undefined),
      40_000,
      200,
    );
    const seconds = (Date.now() - started) / 1000;
    const stored = (await t.app.store.countMessages('demo')) - before;
    // Ingest did not slow down: about WA_SIM_RATE messages a second were stored meanwhile.
    expect(stored / seconds).toBeGreaterThan(400);
    // The reading client was not held up: it has everything up to about now.
    const readerCount = reader.events.length;
    await reader.waitFor('more live events', () => reader.events.length > readerCount + 100);
    expect(reader.closed).toBeNull();
    // The slow client sees its close once it reads again: code 4008 (after the frames it had not read).
    socketOf(slow).resume();
    await slow.waitFor('close', () => slow.closed !== null, 20_000);
    expect(slow.closed!.code).toBe(4008);
    // It resumes from its last cursor without a gap.
    const resumed = await FeedTestClient.connect(t.app.url, { token: E2E_TOKEN });
    const last = slow.events.at(-1)!;
    resumed.subscribe('demo', last.cursor!);
    await resumed.waitForFrame('live', 30_000);
    const ids = new Set(slow.events.map((e) => e.id));
    expect(resumed.events.some((e) => ids.has(e.id!))).toBe(false);
    const readerIndex = reader.events.findIndex((e) => e.id === last.id);
    expect(readerIndex).toBeGreaterThanOrEqual(0);
    const next = reader.events.slice(readerIndex + 1, readerIndex + 50).map((e) => e.id);
    expect(resumed.events.slice(0, next.length).map((e) => e.id)).toEqual(next);
    await Promise.all([reader.close(), resumed.close()]);
  });
});

describe('websocket feed liveness (SQLite)', () => {
  beforeAll(async () => {
    t = await startTestApp({ WA_DEMO: 'true', WA_SIM_CHATS: '1', WA_SIM_MESSAGES_PER_CHAT: '1', FEED_IDLE_TIMEOUT_SECONDS: '8' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('pings idle connections and reaps one that stops answering', async () => {
    const live = await FeedTestClient.connect(t.app.url, { token: E2E_TOKEN });
    const dead = await FeedTestClient.connect(t.app.url, { token: E2E_TOKEN });
    // Neither subscribes: nothing is sent to them but pings. `dead` stops reading (no pong).
    socketOf(dead).pause();
    const connections = () => metric('wasync_feed_connections');
    const atStart = await connections();
    await waitFor('the dead connection to be reaped', async () => ((await connections()) <= atStart - 1 ? true : undefined), 30_000, 500);
    expect(live.closed).toBeNull();
    expect(live.pings).toBeGreaterThan(0);
    await live.close();
    dead.ws.terminate();
  });
});
