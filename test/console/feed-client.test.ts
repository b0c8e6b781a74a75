import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { LiveEvent, LiveMode } from '../../web/src/live/events.js';
import { FeedClient } from '../../web/src/live/feed-client.js';
import { waitFor } from '../support/e2e.js';

/**
 * The console's live-feed client (web/src/live/feed-client.ts) against a stand-in that speaks the
 * feed's protocol as issue 8 specifies it (single-use tickets, subscribe with `after`, event frames
 * with ids and cursors, resync-required). The real feed is on another branch; once merged, the
 * browser scenarios in console.test.ts run through it too. `ws` plays the browser's WebSocket.
 */

interface Frame {
  type: string;
  [k: string]: unknown;
}

class FeedDouble {
  readonly server: WebSocketServer;
  readonly tickets = new Set<string>();
  readonly received: Frame[] = [];
  readonly log: Array<{ id: string; cursor: string; accountId: string; event: string; data: unknown }> = [];
  readonly sockets = new Set<WebSocket>();
  refused = 0;
  connections = 0;
  /** Stop answering anything (a half-dead connection). */
  silent = false;
  private n = 0;

  constructor() {
    this.server = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/api/whatsapp/ws' });
    this.server.on('connection', (ws, req) => {
      const ticket = new URL(req.url ?? '', 'http://x').searchParams.get('ticket') ?? '';
      if (!this.tickets.delete(ticket)) {
        this.refused += 1;
        ws.close(4401, 'bad ticket');
        return;
      }
      this.connections += 1;
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('message', (raw) => {
        const frame = JSON.parse(String(raw)) as Frame;
        this.received.push(frame);
        if (this.silent) return;
        if (frame.type === 'subscribe') {
          const after = typeof frame.after === 'string' ? frame.after : null;
          const cursor = this.log.at(-1)?.cursor ?? 'c0';
          ws.send(JSON.stringify({ type: 'subscribed', accountId: frame.accountId, cursor }));
          if (after) {
            // Replays from the event *at* the cursor: the client must drop the one it already has.
            const from = this.log.findIndex((e) => e.cursor === after);
            for (const e of this.log.slice(Math.max(0, from))) ws.send(JSON.stringify({ type: 'event', ...e }));
          }
        } else if (frame.type === 'ping') {
          ws.send(JSON.stringify({ type: 'pong' }));
        }
      });
    });
  }

  static async start(): Promise<FeedDouble> {
    const d = new FeedDouble();
    await new Promise<void>((resolve) => d.server.once('listening', () => resolve()));
    return d;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/whatsapp/ws`;
  }

  issue(): string {
    const t = `t${Math.random().toString(36).slice(2)}`;
    this.tickets.add(t);
    return t;
  }

  /** Logs an event and sends it to every open connection (unless `quiet`: then only logged, as if missed). */
  emit(event: string, data: Record<string, unknown>, quiet = false): string {
    this.n += 1;
    const e = { id: `e${this.n}`, cursor: `c${this.n}`, accountId: 'acc', event, data };
    this.log.push(e);
    if (!quiet) for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'event', ...e }));
    return e.id;
  }

  send(frame: unknown): void {
    for (const ws of this.sockets) ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const message = (id: string) => ({ id, threadId: 'acc__1@s.whatsapp.net', status: 'delivered', body: id, syncSource: 'realtime' });

let feed: FeedDouble;
let client: FeedClient | null = null;

afterEach(async () => {
  client?.stop();
  client = null;
  await feed?.close();
});

function start(opts: { ticket?: () => Promise<string | null>; pingMs?: number; idleMs?: number } = {}) {
  const events: LiveEvent[] = [];
  const modes: LiveMode[] = [];
  const state = { resyncs: 0, unavailable: 0 };
  client = new FeedClient({
    url: feed.url,
    ticket: opts.ticket ?? (async () => feed.issue()),
    onEvent: (e) => events.push(e),
    onMode: (m) => modes.push(m),
    onResync: () => (state.resyncs += 1),
    onUnavailable: () => (state.unavailable += 1),
    giveUpAfter: 3,
    WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
    ...(opts.pingMs ? { pingMs: opts.pingMs } : {}),
    ...(opts.idleMs ? { idleMs: opts.idleMs } : {}),
  });
  client.start();
  return { events, modes, state };
}

describe('live feed client', () => {
  it('subscribes to every account with a single-use ticket and hands events on, checked', async () => {
    feed = await FeedDouble.start();
    const { events, modes } = start();
    await waitFor('subscribed', async () => (modes.at(-1)?.kind === 'feed' ? true : undefined));
    expect(feed.received[0]).toEqual({ type: 'subscribe', accountId: '*' });
    feed.emit('message.created', message('m1'));
    feed.emit('account.updated', { status: 'open' });
    // Frames the page must survive: not JSON, unknown type, unknown event, an event missing its data.
    feed.send('not json');
    feed.send({ type: 'mystery' });
    feed.send({ type: 'event', id: 'x1', cursor: 'cx', accountId: 'acc', event: 'nope', data: {} });
    feed.send({ type: 'event', id: 'x2', cursor: 'cy', accountId: 'acc', event: 'message.created', data: { id: 'no-thread' } });
    feed.emit('thread.updated', { id: 'acc__1@s.whatsapp.net', lastMessagePreview: 'hi' });
    await waitFor('three events', async () => (events.length >= 3 ? true : undefined));
    expect(events.map((e) => e.event)).toEqual(['message.created', 'account.updated', 'thread.updated']);
    expect(events[0]).toMatchObject({ accountId: 'acc', data: { id: 'm1', threadId: 'acc__1@s.whatsapp.net' } });
    expect(feed.tickets.size).toBe(0);
    expect(feed.refused).toBe(0);
  });

  it('reconnects after a drop with a new ticket and resumes after the last cursor: nothing lost, nothing twice', async () => {
    feed = await FeedDouble.start();
    const { events, modes } = start();
    await waitFor('subscribed', async () => (modes.at(-1)?.kind === 'feed' ? true : undefined));
    feed.emit('message.created', message('m1'));
    feed.emit('message.updated', { ...message('m1'), status: 'read' });
    await waitFor('two events', async () => (events.length === 2 ? true : undefined));
    expect(client!.resumeCursor).toBe('c2');

    feed.dropAll();
    // Missed while disconnected: the server replays them on resume.
    feed.emit('message.created', message('m2'), true);
    feed.emit('message.created', message('m3'), true);
    await waitFor('reconnecting reported', async () => (modes.some((m) => m.kind === 'feed-reconnecting') ? true : undefined));
    await waitFor('four events', async () => (events.length >= 4 ? true : undefined));
    await waitFor('back to live', async () => (modes.at(-1)?.kind === 'feed' ? true : undefined));
    const resume = feed.received.filter((f) => f.type === 'subscribe');
    expect(resume).toEqual([
      { type: 'subscribe', accountId: '*' },
      { type: 'subscribe', accountId: '*', after: 'c2' },
    ]);
    // The replay started at c2 (already handled): dropped by id.
    expect(events.map((e) => `${(e.data as { id: string }).id}:${e.event}`)).toEqual([
      'm1:message.created',
      'm1:message.updated',
      'm2:message.created',
      'm3:message.created',
    ]);
    expect(feed.connections).toBe(2);
    expect(client!.resumeCursor).toBe('c4');
  });

  it('on resync-required it tells the page to reload and subscribes again from now', async () => {
    feed = await FeedDouble.start();
    const { state, modes } = start();
    await waitFor('subscribed', async () => (modes.at(-1)?.kind === 'feed' ? true : undefined));
    feed.emit('message.created', message('m1'));
    await waitFor('cursor', async () => (client!.resumeCursor === 'c1' ? true : undefined));
    feed.send({ type: 'resync-required', accountId: '*', reason: 'cursor too old' });
    await waitFor('resync', async () => (state.resyncs === 1 ? true : undefined));
    await waitFor('fresh subscribe', async () => (feed.received.filter((f) => f.type === 'subscribe').length === 2 ? true : undefined));
    expect(feed.received.filter((f) => f.type === 'subscribe').at(-1)).toEqual({ type: 'subscribe', accountId: '*' });
    // "From now": the cursor the new subscription names, so a later reconnect resumes from there.
    await waitFor('the new subscription’s cursor', async () => (client!.resumeCursor === 'c1' ? true : undefined));
    feed.emit('message.created', message('m2'));
    await waitFor('the next event', async () => (client!.resumeCursor === 'c2' ? true : undefined));
  });

  it('pings, and treats a connection that stopped answering as dead', async () => {
    feed = await FeedDouble.start();
    const { modes } = start({ pingMs: 50, idleMs: 300 });
    await waitFor('subscribed', async () => (modes.at(-1)?.kind === 'feed' ? true : undefined));
    await waitFor('a ping', async () => (feed.received.some((f) => f.type === 'ping') ? true : undefined));
    feed.silent = true;
    await waitFor('a reconnect', async () => (feed.connections >= 2 ? true : undefined), 10_000);
  });

  it('a server without the feed (no ticket) makes it step aside for polling, without connecting', async () => {
    feed = await FeedDouble.start();
    const { state } = start({ ticket: async () => null });
    await waitFor('unavailable', async () => (state.unavailable === 1 ? true : undefined));
    expect(feed.connections).toBe(0);
  });

  it('gives up on a feed it could never subscribe to (websockets dropped on the way) and lets the page poll', async () => {
    feed = await FeedDouble.start();
    // Tickets the server never issued: every connection is refused.
    const { state, modes } = start({ ticket: async () => 'forged' });
    await waitFor('the fallback', async () => (state.unavailable === 1 ? true : undefined), 15_000);
    expect(feed.refused).toBe(3);
    expect(modes.filter((m) => m.kind === 'feed-reconnecting')).toHaveLength(2);
  });

  it('after one subscription it keeps retrying (a server restart), however long it takes', async () => {
    feed = await FeedDouble.start();
    let forge = false;
    const { state, modes } = start({ ticket: async () => (forge ? 'forged' : feed.issue()) });
    await waitFor('subscribed', async () => (modes.at(-1)?.kind === 'feed' ? true : undefined));
    forge = true;
    feed.dropAll();
    await waitFor('three refused reconnects', async () => (feed.refused >= 3 ? true : undefined), 20_000);
    expect(state.unavailable).toBe(0);
    forge = false;
    await waitFor('back to live', async () => (modes.at(-1)?.kind === 'feed' ? true : undefined), 30_000);
  });

  it('a failing ticket request is retried with backoff', async () => {
    feed = await FeedDouble.start();
    let calls = 0;
    const { modes } = start({
      ticket: async () => {
        calls += 1;
        if (calls < 2) throw new Error('HTTP 503');
        return feed.issue();
      },
    });
    await waitFor('connected at last', async () => (modes.at(-1)?.kind === 'feed' ? true : undefined), 15_000);
    expect(modes.filter((m) => m.kind === 'feed-reconnecting')).toHaveLength(1);
    expect(modes.find((m) => m.kind === 'feed-reconnecting')).toMatchObject({ error: 'HTTP 503' });
  });
});
