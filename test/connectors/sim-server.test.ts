import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { proto, type BaileysEventMap } from '@whiskeysockets/baileys';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WaSocket } from '../../src/connectors/types.js';
import { RemoteSimConnector, SimServer } from '../../src/connectors/sim/index.js';
import { encodeFrame, parseServerFrame } from '../../src/connectors/sim/remote/protocol.js';
import { withFence } from '../../src/store/fenced-store.js';
import type { Store } from '../../src/store/port.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';
import { ofType, recordEvents, silentLogger, sleep, waitFor, type Recorded } from './sim-support.js';

/**
 * The sim server several wasync processes share (WA_SIM_SERVER), through the real connector over a real
 * websocket: pairing hands out a session token that the connector keeps in the account's creds; a
 * second connection replaces the first with 440 and is counted; messages generated while nobody is
 * connected, or delivered but never acknowledged, arrive on the next connection as offline `append`
 * upserts before `receivedPendingNotifications`; sends go through the server's phone and come back
 * with receipts. The payloads are rebuilt with Baileys' proto classes on the connector side.
 */

describe('the sim server and its connector', () => {
  let server: SimServer;
  let temp: TempStore;
  let store: Store;
  const sockets: WaSocket[] = [];

  beforeAll(async () => {
    server = new SimServer({ chats: 3, messagesPerChat: 4, logger: silentLogger, delays: { ackMs: 5, deliveryMs: 5, readMs: 5 } });
    await server.start();
  });
  afterAll(() => server.stop());
  beforeEach(async () => {
    temp = await openTempStore('sim-server');
    store = temp.store;
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) await s.end(undefined);
    await temp.cleanup();
  });

  async function connect(accountId: string, instance = 'wa-1'): Promise<{ sock: WaSocket; events: Recorded[] }> {
    const connector = new RemoteSimConnector({ serverUrl: server.url, instance });
    const sock = await connector.connect({ accountId, store, logger: silentLogger });
    sockets.push(sock);
    return { sock, events: recordEvents(sock) };
  }
  const opened = (events: Recorded[]) => () => ofType(events, 'connection.update').some((u) => u.connection === 'open');
  const caughtUp = (events: Recorded[]) => () => ofType(events, 'connection.update').some((u) => u.receivedPendingNotifications === true);
  const closedWith = (events: Recorded[]) =>
    ofType(events, 'connection.update')
      .filter((u) => u.connection === 'close')
      .map((u) => (u.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode);

  it('pairs with a QR and the history, keeps the session token in the creds, and resumes with it without a QR', async () => {
    await store.createAccount({ id: 'pair' });
    const first = await connect('pair');
    await waitFor(caughtUp(first.events), 5000, 'first connection caught up');
    expect(ofType(first.events, 'connection.update').some((u) => typeof u.qr === 'string')).toBe(true);
    await waitFor(() => ofType(first.events, 'messaging-history.set').length > 0, 5000, 'history');
    const set = ofType(first.events, 'messaging-history.set')[0]!;
    // Rebuilt with Baileys' classes: the payload behaves like the one Baileys hands out.
    expect(set.messages[0]).toBeInstanceOf(proto.WebMessageInfo);
    expect(first.sock.user?.id).toMatch(/@s\.whatsapp\.net$/);
    await waitFor(() => server.stats('pair').paired, 2000, 'paired');
    await sleep(150);
    const creds = JSON.parse(Buffer.from((await store.readAuthCreds('pair'))!).toString('utf8')) as { token: string; instance: string };
    expect(creds).toMatchObject({ instance: 'wa-1' });
    await first.sock.end(undefined);
    await waitFor(() => server.stats('pair').open === 0, 2000, 'closed');

    const second = await connect('pair', 'wa-2');
    await waitFor(caughtUp(second.events), 5000, 'resumed');
    expect(ofType(second.events, 'connection.update').some((u) => typeof u.qr === 'string')).toBe(false);
    expect(ofType(second.events, 'messaging-history.set')).toHaveLength(0);
    expect(server.connections('pair').map((c) => c.resumed)).toEqual([false, true]);
    expect(server.stats('pair')).toMatchObject({ maxConcurrent: 1, replacements: 0 });
  });

  it('a second connection replaces the first: 440 to the first, and the counter shows two at once', async () => {
    await store.createAccount({ id: 'twice' });
    const a = await connect('twice', 'wa-a');
    await waitFor(opened(a.events), 5000, 'a open');
    const b = await connect('twice', 'wa-b');
    await waitFor(opened(b.events), 5000, 'b open');
    await waitFor(() => closedWith(a.events).length > 0, 2000, 'a closed');
    expect(closedWith(a.events)).toEqual([440]);
    expect(server.stats('twice')).toMatchObject({ open: 1, maxConcurrent: 2, replacements: 1, connectedInstance: 'wa-b' });
    expect(server.connections('twice').map((c) => c.closedBy)).toEqual(['replaced', null]);
  });

  it('messages generated while nobody is connected arrive on the next connection as offline appends, before caught-up', async () => {
    await store.createAccount({ id: 'offline' });
    const first = await connect('offline');
    await waitFor(caughtUp(first.events), 5000, 'first');
    await first.sock.end(undefined);
    await waitFor(() => server.stats('offline').open === 0, 2000, 'closed');
    const ids = server.inject('offline', 5);
    expect(server.stats('offline').queued).toBe(5);
    const second = await connect('offline');
    await waitFor(caughtUp(second.events), 5000, 'second');
    const upserts = second.events.filter((e) => e.event === 'messages.upsert').map((e) => e.data as BaileysEventMap['messages.upsert']);
    expect(upserts.map((u) => u.type)).toEqual(['append', 'append', 'append', 'append', 'append']);
    expect(upserts.flatMap((u) => u.messages.map((m) => m.key.id))).toEqual(ids);
    // Before the news that nothing more is pending.
    const last = second.events.findLastIndex((e) => e.event === 'messages.upsert');
    const pending = second.events.findIndex(
      (e) => e.event === 'connection.update' && (e.data as { receivedPendingNotifications?: boolean }).receivedPendingNotifications,
    );
    expect(last).toBeLessThan(pending);
    await waitFor(() => server.messages('offline').every((m) => m.acked), 2000, 'acks');
    expect(server.stats('offline')).toMatchObject({ queued: 0, deliveredOffline: 5, unacked: 0 });
    // Live now: the next ones come as notify.
    server.inject('offline', 2);
    await waitFor(() => second.events.filter((e) => e.event === 'messages.upsert').length === 7, 2000, 'live');
    expect((second.events.filter((e) => e.event === 'messages.upsert').at(-1)!.data as { type: string }).type).toBe('notify');
    expect(server.stats('offline').deliveredLive).toBe(2);
  });

  it('what a connection received but never acknowledged is delivered again on the next one', async () => {
    await store.createAccount({ id: 'unacked' });
    const first = await connect('unacked');
    await waitFor(caughtUp(first.events), 5000, 'first');
    await first.sock.end(undefined);
    await waitFor(() => server.stats('unacked').open === 0, 2000, 'closed');
    const token = (JSON.parse(Buffer.from((await store.readAuthCreds('unacked'))!).toString('utf8')) as { token: string }).token;
    // A client that takes the messages and dies before acknowledging them (kill -9 mid-batch).
    const raw = new WebSocket(`${server.url.replace('http', 'ws')}/ws/unacked`);
    const got: string[] = [];
    raw.on('message', (d: Buffer) => {
      const f = parseServerFrame(d.toString('utf8'));
      if (f.t === 'ev' && f.ack) got.push(...f.ack);
    });
    await new Promise((r) => raw.once('open', r));
    raw.send(encodeFrame({ t: 'hello', token, instance: 'dies' }));
    await waitFor(() => server.stats('unacked').open === 1, 2000, 'raw open');
    await sleep(100);
    const ids = server.inject('unacked', 3);
    await waitFor(() => got.length === 3, 2000, 'raw got them');
    raw.terminate();
    await waitFor(() => server.stats('unacked').open === 0, 2000, 'raw closed');
    expect(server.stats('unacked').queued).toBe(3);
    const next = await connect('unacked');
    await waitFor(caughtUp(next.events), 5000, 'next');
    const upserts = ofType(next.events, 'messages.upsert');
    expect(upserts.flatMap((u) => u.messages.map((m) => m.key.id))).toEqual(ids);
    expect(server.messages('unacked').map((m) => m.deliveries)).toEqual([2, 2, 2]);
  });

  it('sends go through the server phone: the append upsert and the receipts come back; the server logs the send', async () => {
    await store.createAccount({ id: 'sender' });
    const { sock, events } = await connect('sender');
    await waitFor(caughtUp(events), 5000, 'open');
    const sent = await sock.sendMessage('40711111111@s.whatsapp.net', { text: 'hi over the wire' }, { messageId: 'REMOTE_SEND_1' });
    expect(sent?.key.id).toBe('REMOTE_SEND_1');
    await waitFor(
      () =>
        ofType(events, 'messages.update').some((batch) =>
          batch.some((u) => u.key.id === 'REMOTE_SEND_1' && u.update.status === proto.WebMessageInfo.Status.READ),
        ),
      3000,
      'read receipt',
    );
    expect(ofType(events, 'messages.upsert').some((u) => u.type === 'append' && u.messages[0]?.key.id === 'REMOTE_SEND_1')).toBe(true);
    expect(server.sentMessages('sender')).toMatchObject([{ id: 'REMOTE_SEND_1', jid: '40711111111@s.whatsapp.net' }]);
  });

  it("the session writes carry the owner's fence: a superseded owner's are refused", async () => {
    await store.createAccount({ id: 'fenced' });
    const lease = await store.acquireLease('fenced', 'owner', 'wa-1', 60_000, Date.now());
    const refused: Error[] = [];
    const fenced = withFence(store, { holder: 'wa-1', epoch: lease!.epoch }, (err) => refused.push(err));
    // Another instance takes the account over (a newer epoch) before this one's phone opens.
    await store.acquireLease('fenced', 'owner', 'wa-2', 60_000, Date.now(), { steal: true });
    const connector = new RemoteSimConnector({ serverUrl: server.url, instance: 'wa-1' });
    const sock = await connector.connect({ accountId: 'fenced', store: fenced, logger: silentLogger });
    sockets.push(sock);
    const events = recordEvents(sock);
    await waitFor(caughtUp(events), 5000, 'open');
    await connector.settled('fenced');
    expect(refused.map((e) => (e as { code?: string }).code)).toContain('LEASE_LOST');
    expect(await store.readAuthCreds('fenced')).toBeNull();
  });

  it('the entry point serves the same (npm run sim-server)', async () => {
    const main = fileURLToPath(new URL('../../dist/src/connectors/sim/remote/main.js', import.meta.url));
    const child = spawn(process.execPath, [main, '--port', '0', '--rate', '0', '--log-level', 'silent'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => /listening on (http:\/\/\S+)/.test(out), 10_000, 'the listening line');
      const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
      const stats = (await (await fetch(`${url}/stats`)).json()) as { accounts: object };
      expect(stats).toEqual({ accounts: {} });
      const traffic = await fetch(`${url}/accounts/x/traffic`, { method: 'POST', body: JSON.stringify({ rate: 2 }) });
      expect(await traffic.json()).toEqual({ accountId: 'x', rate: 2 });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
