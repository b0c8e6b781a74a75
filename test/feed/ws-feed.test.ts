import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedRetention } from '../../src/feed/retention.js';
import { decodeCursor, type Cursor } from '../../src/feed/position.js';
import type { ChangeBatch } from '../../src/store/change-log.js';
import { E2E_TOKEN, startTestApp, waitFor, type TestApp } from '../support/e2e.js';
import { FeedTestClient, UpgradeRefused, type FeedFrame } from '../support/feed-client.js';

/**
 * The websocket feed end to end on SQLite: the real server (uWS on a free port, worker-thread actors,
 * the simulated phone streaming live messages), real `ws` clients. What arrives is checked against
 * the store's change log itself and against the REST API.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    WA_DEMO: 'true',
    WA_SIM_CHATS: '6',
    WA_SIM_MESSAGES_PER_CHAT: '5',
    WA_SIM_RATE: '400',
    FEED_TICKET_TTL_SECONDS: '1',
  });
  // The demo account is paired and its history stored before the live stream is measured.
  await waitFor('history', async () => ((await t.app.store.countMessages('demo')) >= 20 ? true : undefined));
});
afterAll(async () => {
  await t?.close();
});

const connect = (auth: { token?: string; ticket?: string; query?: string } = { token: E2E_TOKEN }) =>
  FeedTestClient.connect(t.app.url, auth);
const positionOf = (cursor: string) => (decodeCursor(cursor) as Extract<Cursor, { kind: 'account' }>).position;
const created = (frames: FeedFrame[]) => frames.filter((f) => f.event === 'message.created' && f.data?.syncSource === 'realtime');

/** The account's log from its start, as event ids in order, with their types. */
async function logEvents(accountId: string): Promise<Array<{ seq: number; index: number; type: string; id: string; cursor: number }>> {
  const out: Array<{ seq: number; index: number; type: string; id: string; cursor: number }> = [];
  let after = 0;
  for (;;) {
    const page = await t.app.store.readChanges(accountId, after === 0 ? 'oldest' : after, 1000);
    if (page.status !== 'ok') throw new Error(page.reason);
    const batches: ChangeBatch[] = page.batches;
    for (const b of batches) {
      b.events.forEach((e, index) => {
        const messageId = e.type === 'message.created' || e.type === 'message.updated' ? e.data.message.id : '';
        const cursor = b.seq * 65536 + (index === b.events.length - 1 ? 65535 : index);
        out.push({ seq: b.seq, index, type: e.type, id: messageId, cursor });
      });
    }
    if (batches.length < 1000) return out;
    after = batches.at(-1)!.seq;
  }
}

describe('websocket feed (SQLite)', () => {
  it('streams 1,000 live messages: each message.created once, in commit order, in the REST shape', async () => {
    const client = await connect();
    client.subscribe('demo');
    const subscribed = await client.waitForFrame('subscribed');
    expect(subscribed.accountId).toBe('demo');
    await client.waitFor('1,000 live messages', () => created(client.frames).length >= 1000, 30_000);
    const events = client.events;
    // Once each, and in the log's order: positions only ever increase.
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const positions = events.map((e) => positionOf(e.cursor!));
    expect(positions.every((p, i) => i === 0 || p > positions[i - 1]!)).toBe(true);
    // The same sequence the store committed, event for event, from the subscription's start.
    const start = positionOf(subscribed.cursor!);
    const log = (await logEvents('demo')).filter((e) => e.seq * 65536 + e.index > start).slice(0, events.length);
    expect(events.map((e) => e.event)).toEqual(log.map((e) => e.type));
    expect(events.filter((e) => e.event === 'message.created').map((e) => e.data!.id)).toEqual(
      log.filter((e) => e.type === 'message.created').map((e) => e.id),
    );
    const msgs = created(events);
    // The REST shape plus threadId: a message reads the same as from GET /api/whatsapp/messages.
    const sample = msgs[msgs.length - 1]!;
    const threadId = sample.data!.threadId as string;
    const page = await t.api<{ messages: Array<Record<string, unknown>> }>(
      'GET',
      `/api/whatsapp/messages/demo/${encodeURIComponent(threadId)}?limit=500`,
    );
    const rest = page.json.messages.find((m) => m.id === sample.data!.id);
    expect(rest).toBeDefined();
    const { threadId: _t, ...fromFeed } = sample.data!;
    expect(fromFeed).toEqual(rest);
    expect(Object.keys(fromFeed).sort()).toEqual(Object.keys(rest!).sort());
    await client.close();
  });

  it('disconnected for a few seconds mid-stream, resumed with the last cursor: every message exactly once, no gap', async () => {
    const first = await connect();
    first.subscribe('demo');
    const subscribed = await first.waitForFrame('subscribed');
    await first.waitFor('some events', () => created(first.frames).length >= 100);
    await first.close();
    const resumeFrom = first.lastCursor!;
    // Messages keep flowing while nobody listens.
    await new Promise((r) => setTimeout(r, 2500));
    const second = await connect();
    second.subscribe('demo', resumeFrom);
    await second.waitForFrame('live', 20_000);
    const upTo = second.events.at(-1)!;
    const union = [...first.events, ...second.events];
    expect(new Set(union.map((e) => e.id)).size).toBe(union.length);
    const from = positionOf(subscribed.cursor!);
    const to = positionOf(upTo.cursor!);
    const log = (await logEvents('demo')).filter((e) => {
      const p = e.seq * 65536 + e.index;
      return p > from && p <= to;
    });
    expect(union.map((e) => e.event)).toEqual(log.map((e) => e.type));
    expect(union.filter((e) => e.event === 'message.created').map((e) => e.data!.id)).toEqual(
      log.filter((e) => e.type === 'message.created').map((e) => e.id),
    );
    // More than 2 s of live messages were replayed from the store.
    expect(created(second.frames).length).toBeGreaterThan(400);
    await second.close();
  });

  it('a cursor older than the retention gets resync-required, never a silent gap', async () => {
    const client = await connect();
    client.subscribe('demo');
    const old = (await client.waitForFrame('subscribed')).cursor!;
    // Several batches after the cursor (the last one is kept whatever its age).
    await client.waitFor('several batches', () => new Set(client.events.map((e) => positionOf(e.cursor!) >> 16)).size >= 3);
    await client.close();
    // The retention job, with a retention of zero: everything but each account's last batch goes.
    expect(
      await new FeedRetention({ store: t.app.store, hub: t.app.feed.hub, retentionMs: 0, logger: t.app.logger }).run(),
    ).toBeGreaterThan(1);
    const again = await connect();
    again.subscribe('demo', old);
    const resync = await again.waitForFrame('resync-required');
    expect(resync).toMatchObject({ accountId: 'demo', reason: 'pruned' });
    expect(again.events).toEqual([]);
    // The connection stays usable: a fresh subscription without a cursor goes live.
    again.subscribe('demo');
    await again.waitForFrame('live');
    await again.close();
  });

  it('refuses the upgrade with 401, nothing sent: no token, a bad one, the token in a URL, a reused, forged or old ticket', async () => {
    const refused = async (auth: Parameters<typeof connect>[0]) => {
      const err = await connect(auth).then(
        (c) => {
          void c.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UpgradeRefused);
      expect((err as UpgradeRefused).status).toBe(401);
      expect(JSON.parse((err as UpgradeRefused).body)).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    };
    await refused({});
    await refused({ token: 'wrong-token' });
    await refused({ query: `?token=${E2E_TOKEN}` });
    await refused({ query: `?access_token=${E2E_TOKEN}` });
    const issue = async () => (await t.api<{ ticket: string; expiresAt: string }>('POST', '/api/whatsapp/ws-ticket')).json;
    const { ticket, expiresAt } = await issue();
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const viaTicket = await connect({ ticket });
    viaTicket.subscribe('demo');
    await viaTicket.waitForFrame('live');
    await viaTicket.close();
    await refused({ ticket });
    await refused({ ticket: `${ticket.slice(0, -4)}AAAA` });
    await refused({ ticket: 'wst_x.y' });
    const stale = (await issue()).ticket;
    await new Promise((r) => setTimeout(r, 1200));
    await refused({ ticket: stale });
    // Tickets themselves need the token.
    const anonymous = await fetch(`${t.app.url}/api/whatsapp/ws-ticket`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
  });

  it('answers bad frames with an error frame and keeps the connection; an oversize frame past the hard limit closes it', async () => {
    const client = await connect();
    const errors = () => client.frames.filter((f) => f.type === 'error');
    client.send('not json');
    client.send(JSON.stringify({ type: 'dance' }));
    client.send(JSON.stringify([1, 2]));
    client.send(JSON.stringify({ type: 'subscribe', accountId: 'nobody-here' }));
    client.send(JSON.stringify({ type: 'subscribe', accountId: 'demo', after: 'not-a-cursor' }));
    client.send(JSON.stringify({ type: 'unsubscribe', accountId: 'demo' }));
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }));
    await client.waitFor('seven errors', () => errors().length >= 7);
    expect(errors().map((f) => f.code)).toEqual([
      'BAD_JSON',
      'UNKNOWN_TYPE',
      'BAD_FRAME',
      'NOT_FOUND',
      'BAD_CURSOR',
      'NOT_SUBSCRIBED',
      'FRAME_TOO_LARGE',
    ]);
    client.send({ type: 'ping' });
    await client.waitForFrame('pong');
    client.subscribe('demo');
    client.subscribe('demo');
    client.subscribe('*');
    await client.waitFor('two more errors', () => errors().length >= 9);
    expect(
      errors()
        .slice(7)
        .map((f) => f.code)
        .sort(),
    ).toEqual(['ALREADY_SUBSCRIBED', 'OVERLAP']);
    client.send({ type: 'unsubscribe', accountId: 'demo' });
    await client.waitForFrame('unsubscribed');
    expect(client.closed).toBeNull();
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
    await client.waitFor('close', () => client.closed !== null);
    // uWS drops such a connection at once (no close frame: 1006 on the client's side).
    expect([1006, 1009]).toContain(client.closed!.code);
  });

  it('"*" streams every account, each event with a cursor that resumes "*"', async () => {
    const client = await connect();
    client.subscribe('*');
    await client.waitForFrame('live');
    await client.waitFor('events', () => client.events.length >= 20);
    expect(client.events.every((e) => e.accountId === 'demo')).toBe(true);
    const cut = client.events[9]!;
    await client.close();
    const resumed = await connect();
    resumed.subscribe('*', cut.cursor!);
    await resumed.waitFor('resumed', () => resumed.events.length >= 10);
    expect(resumed.events.slice(0, 10).map((e) => e.id)).toEqual(client.events.slice(10, 20).map((e) => e.id));
    await resumed.close();
  });

  it('examples/feed-client.mjs (npm run tail): a ticket, events, and a resume from the cursor it saved', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-example-'));
    const script = fileURLToPath(new URL('../../examples/feed-client.mjs', import.meta.url));
    const run = () =>
      promisify(execFile)(process.execPath, [script, 'demo', '--json', '--limit', '5'], {
        cwd: dir,
        env: { PATH: process.env.PATH, WASYNC_URL: t.app.url, WASYNC_TOKEN: E2E_TOKEN, WASYNC_CURSOR_FILE: path.join(dir, 'cursor.json') },
        timeout: 20_000,
      });
    try {
      const first = (await run()).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as FeedFrame);
      expect(first).toHaveLength(5);
      expect(first.every((f) => f.type === 'event' && f.accountId === 'demo')).toBe(true);
      expect(JSON.parse(readFileSync(path.join(dir, 'cursor.json'), 'utf8'))).toEqual({ account: 'demo', cursor: first.at(-1)!.cursor });
      // The second run starts where the first stopped: the very next events, none repeated.
      const second = (await run()).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as FeedFrame);
      expect(second).toHaveLength(5);
      expect(positionOf(second[0]!.cursor!)).toBeGreaterThan(positionOf(first.at(-1)!.cursor!));
      const log = await logEvents('demo');
      const at = (f: FeedFrame) => log.findIndex((e) => e.cursor === positionOf(f.cursor!));
      expect(at(first.at(-1)!)).toBeGreaterThanOrEqual(0);
      expect(at(second[0]!)).toBe(at(first.at(-1)!) + 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scoped keys: a read key limited to some accounts is FORBIDDEN (in band) elsewhere; "*" carries only its accounts', async () => {
    await t.app.store.createAccount({ id: 'ws-mine' });
    await t.app.store.createAccount({ id: 'ws-theirs' });
    const created = await t.api<{ key: string }>('POST', '/api/whatsapp/api-keys', { scopes: ['read'], accounts: ['demo', 'ws-mine'] });
    expect(created.status).toBe(201);
    const key = created.json.key;
    const forbidden = (c: FeedTestClient, accountId: string) =>
      c.waitFor(`FORBIDDEN for ${accountId}`, () =>
        c.frames.some((f) => f.type === 'error' && f.code === 'FORBIDDEN' && f.accountId === accountId),
      );

    // Bearer key: another account is refused in band, the connection stays and may subscribe to its own.
    const byKey = await connect({ token: key });
    byKey.subscribe('ws-theirs');
    await forbidden(byKey, 'ws-theirs');
    byKey.subscribe('ws-mine');
    await byKey.waitFor('subscribed ws-mine', () => byKey.frames.some((f) => f.type === 'subscribed' && f.accountId === 'ws-mine'));
    await byKey.close();

    // A ticket issued to the key carries it: the same answers through the browser's path.
    const ticketReply = await fetch(`${t.app.url}/api/whatsapp/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    expect(ticketReply.status).toBe(200);
    const { ticket } = (await ticketReply.json()) as { ticket: string };
    const byTicket = await connect({ ticket });
    byTicket.subscribe('ws-theirs');
    await forbidden(byTicket, 'ws-theirs');
    await byTicket.close();

    // "*": the bootstrap token sees both accounts' events, the limited key only its own.
    const all = await connect();
    const limited = await connect({ token: key });
    all.subscribe('*');
    limited.subscribe('*');
    await all.waitForFrame('live');
    await limited.waitForFrame('live');
    await t.app.store.patchAccount('ws-theirs', { status: 'open' });
    await t.app.store.patchAccount('ws-mine', { status: 'open' });
    const from = (c: FeedTestClient, accountId: string) => c.events.filter((e) => e.accountId === accountId);
    await all.waitFor('both accounts', () => from(all, 'ws-theirs').length > 0 && from(all, 'ws-mine').length > 0);
    await limited.waitFor('its own account', () => from(limited, 'ws-mine').length > 0);
    expect(from(limited, 'ws-theirs')).toEqual([]);
    expect(limited.events.every((e) => e.accountId === 'demo' || e.accountId === 'ws-mine')).toBe(true);
    await all.close();
    await limited.close();

    // A key without scope read gets no ticket.
    const sendOnly = await t.api<{ key: string }>('POST', '/api/whatsapp/api-keys', { scopes: ['send'] });
    const refusedTicket = await fetch(`${t.app.url}/api/whatsapp/ws-ticket`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sendOnly.json.key}` },
    });
    expect(refusedTicket.status).toBe(403);
  });
});
