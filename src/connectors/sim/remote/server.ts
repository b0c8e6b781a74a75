import { randomUUID } from 'node:crypto';
import type { Contact, WAMessage } from '@whiskeysockets/baileys';
import {
  App,
  us_listen_socket_close,
  us_socket_local_port,
  type HttpResponse,
  type TemplatedApp,
  type WebSocket,
  type us_listen_socket,
  type us_socket,
} from 'uWebSockets.js';
import type { Logger } from '../../../logging/logger.js';
import { LidPnPairs, MessageArchive } from '../archive.js';
import { statusCodeOf } from '../errors.js';
import { planHistory, type HistoryChunkPlan } from '../history-sync.js';
import { emitUpsert, liveInboundMessage, type Emit } from '../realtime.js';
import { Rng } from '../rng.js';
import { BAILEYS_EVENTS, type BaileysEvent } from '../scenario-codec.js';
import { SimPhone, type SimDelays } from '../sim-phone.js';
import { SimWorld } from '../world.js';
import { encodeFrame, FrameError, parseClientFrame, type ClientFrame, type ServerFrame } from './protocol.js';

/**
 * A simulated WhatsApp shared by several wasync processes (`WA_SIM_SERVER`): it notices what a
 * fleet can get wrong. Per account it keeps the session (a token handed out at pairing, which the
 * connector stores in the account's creds), and like WhatsApp:
 * - a second connection for an account replaces the first, which is closed with 440 (`replaced`);
 *   concurrent connections are counted, and `maxConcurrent` is the number a fleet must keep at 1;
 * - inbound messages generated while no connection is open are queued and delivered on the next
 *   connection as offline `append` upserts, before `receivedPendingNotifications`; messages delivered
 *   but not acknowledged when a connection drops are delivered again on the next one;
 * - live inbound traffic runs per account (`rate`), whether anyone is connected or not.
 * Each connection runs the in-process simulated phone (`SimPhone`: pairing, history on first
 * pairing, sends and receipts, on-demand history) and forwards what it emits. A small JSON API
 * (`/stats`, `/accounts/{id}/…`) lets tests drive traffic and read the counters.
 */

export interface SimServerOptions {
  host?: string;
  /** 0: an ephemeral port. */
  port?: number;
  /** History sent when an account pairs (0 chats: no history, and no live traffic either). */
  chats?: number;
  messagesPerChat?: number;
  /** Live inbound messages per second per account (0 = none until `setRate`). */
  rate?: number;
  /** QR shown → paired, for a new login. */
  pairMs?: number;
  delays?: Partial<SimDelays>;
  /** Seconds without a frame or a pong before the server drops a connection (uWS pings meanwhile); 0 = never. */
  idleTimeoutSeconds?: number;
  logger: Logger;
}

/** One generated inbound message and what became of it. */
export interface SimMessageLog {
  id: string;
  chat: string;
  generatedAt: number;
  /** `live` to an open connection, `offline` in the backlog of a later one, `queued` not yet delivered. */
  delivery: 'live' | 'offline' | 'queued';
  /** The connection (its number, see `connections`) it was last delivered to. */
  connection: number | null;
  deliveries: number;
  acked: boolean;
}

export interface SimConnectionLog {
  n: number;
  instance: string | null;
  openedAt: number;
  closedAt: number | null;
  /** `client` (it hung up), `replaced` (a newer connection), `server` (stop/idle/logout). */
  closedBy: 'client' | 'replaced' | 'server' | null;
  resumed: boolean;
}

export interface SimAccountStats {
  /** Connections open right now. */
  open: number;
  /** The most connections that were ever open at once: 1 for a fleet that behaves. */
  maxConcurrent: number;
  connections: number;
  replacements: number;
  paired: boolean;
  rate: number;
  generated: number;
  queued: number;
  deliveredLive: number;
  deliveredOffline: number;
  unacked: number;
  sent: number;
  /** The instance of the connection open now (from its hello), or null. */
  connectedInstance: string | null;
}

interface Conn {
  n: number;
  ws: WebSocket<WsData>;
  phone: SimPhone | null;
  instance: string | null;
  /** Offline backlog delivered: new inbound goes out live. */
  ready: boolean;
  /** Detached: nothing more is sent on it (replaced, closing). */
  closed: boolean;
  unacked: Map<string, WAMessage>;
  log: SimConnectionLog;
}

interface AccountState {
  id: string;
  world: SimWorld;
  plan: readonly HistoryChunkPlan[];
  archive: MessageArchive;
  pairs: LidPnPairs;
  user: Contact;
  token: string | null;
  conn: Conn | null;
  open: number;
  maxConcurrent: number;
  replacements: number;
  connections: SimConnectionLog[];
  rate: number;
  trafficTimer: NodeJS.Timeout | null;
  trafficStarted: number;
  trafficSent: number;
  rng: Rng;
  queue: WAMessage[];
  messages: Map<string, SimMessageLog>;
  sent: Array<{ id: string; jid: string; connection: number; at: number }>;
}

interface WsData {
  accountId: string;
  conn: Conn | null;
}

export class SimServer {
  private readonly o: SimServerOptions;
  private readonly log: Logger;
  private readonly accounts = new Map<string, AccountState>();
  private app: TemplatedApp | null = null;
  private listenSocket: us_listen_socket | null = null;
  private connectionCount = 0;
  url = '';

  constructor(opts: SimServerOptions) {
    for (const [name, v] of Object.entries({ chats: opts.chats, messagesPerChat: opts.messagesPerChat, rate: opts.rate })) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`sim server: ${name} must be ≥ 0, got ${v}`);
    }
    this.o = opts;
    this.log = opts.logger;
  }

  async start(): Promise<string> {
    const app = App();
    this.app = app;
    app.ws<WsData>('/ws/*', {
      maxPayloadLength: 16 * 1024 * 1024,
      maxBackpressure: 64 * 1024 * 1024,
      idleTimeout: this.o.idleTimeoutSeconds ?? 32,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const accountId = decodeURIComponent(req.getUrl().slice('/ws/'.length));
        res.upgrade<WsData>(
          { accountId, conn: null },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      message: (ws, message) => this.onFrame(ws, Buffer.from(message).toString('utf8')),
      close: (ws) => this.onClose(ws),
    });
    this.http(app);
    const host = this.o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      app.listen(host, this.o.port ?? 0, (socket) => {
        if (!socket) return reject(new Error(`sim server: cannot listen on ${host}:${this.o.port ?? 0}`));
        this.listenSocket = socket;
        this.url = `http://${host}:${us_socket_local_port(socket as unknown as us_socket)}`;
        resolve();
      });
    });
    return this.url;
  }

  stop(): void {
    for (const a of this.accounts.values()) {
      if (a.trafficTimer) clearInterval(a.trafficTimer);
      a.trafficTimer = null;
      a.conn?.phone?.end(undefined).catch(() => undefined);
    }
    if (this.listenSocket) us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    this.app?.close();
    this.app = null;
  }

  /** Live inbound messages per second for one account (from now on). */
  setRate(accountId: string, rate: number): void {
    if (!(Number.isFinite(rate) && rate >= 0)) throw new RangeError(`rate must be ≥ 0, got ${rate}`);
    const a = this.account(accountId);
    a.rate = rate;
    this.schedule(a);
  }

  /** `count` inbound messages now; answers their ids. */
  inject(accountId: string, count: number): string[] {
    const a = this.account(accountId);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.generate(a);
      if (id) ids.push(id);
    }
    return ids;
  }

  stats(accountId: string): SimAccountStats {
    const a = this.account(accountId);
    let live = 0;
    let offline = 0;
    for (const m of a.messages.values()) {
      if (m.delivery === 'live') live++;
      else if (m.delivery === 'offline') offline++;
    }
    return {
      open: a.open,
      maxConcurrent: a.maxConcurrent,
      connections: a.connections.length,
      replacements: a.replacements,
      paired: a.token !== null,
      rate: a.rate,
      generated: a.messages.size,
      queued: a.queue.length,
      deliveredLive: live,
      deliveredOffline: offline,
      unacked: a.conn?.unacked.size ?? 0,
      sent: a.sent.length,
      connectedInstance: a.conn && !a.conn.closed ? a.conn.instance : null,
    };
  }

  allStats(): Record<string, SimAccountStats> {
    return Object.fromEntries([...this.accounts.keys()].sort().map((id) => [id, this.stats(id)]));
  }

  messages(accountId: string): SimMessageLog[] {
    return [...this.account(accountId).messages.values()].map((m) => ({ ...m }));
  }

  connections(accountId: string): SimConnectionLog[] {
    return this.account(accountId).connections.map((c) => ({ ...c }));
  }

  sentMessages(accountId: string): Array<{ id: string; jid: string; connection: number; at: number }> {
    return this.account(accountId).sent.map((s) => ({ ...s }));
  }

  // ---- accounts ----------------------------------------------------------------------------------

  private account(accountId: string): AccountState {
    let a = this.accounts.get(accountId);
    if (a) return a;
    const world = new SimWorld({ chats: this.o.chats ?? 5, messagesPerChat: this.o.messagesPerChat ?? 0, seed: accountId });
    const id = world.identity;
    a = {
      id: accountId,
      world,
      plan: planHistory(world),
      archive: new MessageArchive(),
      pairs: new LidPnPairs(),
      user: { id: id.id, name: id.name, lid: id.lid },
      token: null,
      conn: null,
      open: 0,
      maxConcurrent: 0,
      replacements: 0,
      connections: [],
      rate: this.o.rate ?? 0,
      trafficTimer: null,
      trafficStarted: Date.now(),
      trafficSent: 0,
      rng: Rng.fromString(`${accountId}/traffic/${randomUUID()}`),
      queue: [],
      messages: new Map(),
      sent: [],
    };
    this.accounts.set(accountId, a);
    this.schedule(a);
    return a;
  }

  /** Traffic runs per account from its first appearance, connected or not (WhatsApp queues the rest). */
  private schedule(a: AccountState): void {
    if (a.trafficTimer) clearInterval(a.trafficTimer);
    a.trafficTimer = null;
    a.trafficStarted = Date.now();
    a.trafficSent = 0;
    if (!(a.rate > 0)) return;
    const tickMs = Math.max(20, Math.floor(1000 / a.rate));
    a.trafficTimer = setInterval(() => {
      const due = Math.floor(((Date.now() - a.trafficStarted) * a.rate) / 1000) - a.trafficSent;
      const n = Math.min(due, Math.max(1, Math.ceil(a.rate)));
      for (let i = 0; i < n; i++) this.generate(a);
      a.trafficSent += Math.max(0, n);
    }, tickMs);
    a.trafficTimer.unref();
  }

  private generate(a: AccountState): string | null {
    const msg = liveInboundMessage(a.world, a.rng, Math.floor(Date.now() / 1000));
    const id = msg?.key.id;
    if (!msg || !id) return null;
    a.messages.set(id, {
      id,
      chat: msg.key.remoteJid ?? '',
      generatedAt: Date.now(),
      delivery: 'queued',
      connection: null,
      deliveries: 0,
      acked: false,
    });
    const conn = a.conn;
    if (conn?.ready && !conn.closed) this.deliver(a, conn, [msg], 'notify');
    else a.queue.push(msg);
    return id;
  }

  /** Sends inbound messages with everything Baileys emits for each (`emitUpsert`), held until acknowledged. */
  private deliver(a: AccountState, conn: Conn, messages: readonly WAMessage[], type: 'notify' | 'append'): void {
    for (const msg of messages) {
      const id = msg.key.id!;
      conn.unacked.set(id, msg);
      const entry = a.messages.get(id);
      if (entry) {
        entry.delivery = type === 'notify' ? 'live' : 'offline';
        entry.connection = conn.n;
        entry.deliveries += 1;
      }
      const emit: Emit = (event, data) => this.send(conn, { t: 'ev', event, data, ...(event === 'messages.upsert' ? { ack: [id] } : {}) });
      emitUpsert(emit, msg, type);
    }
  }

  // ---- connections -------------------------------------------------------------------------------

  private onFrame(ws: WebSocket<WsData>, text: string): void {
    const data = ws.getUserData();
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(text);
    } catch (err) {
      this.log.warn({ err: err instanceof FrameError ? err.message : String(err) }, 'sim server: malformed frame');
      return;
    }
    if (frame.t === 'hello') {
      if (!data.conn) this.login(ws, frame.token, frame.instance);
      return;
    }
    const conn = data.conn;
    if (!conn || conn.closed) return;
    const a = this.account(data.accountId);
    if (frame.t === 'ack') {
      for (const id of frame.ids) {
        if (!conn.unacked.delete(id)) continue;
        const entry = a.messages.get(id);
        if (entry) entry.acked = true;
      }
      return;
    }
    void this.call(a, conn, frame);
  }

  /**
   * A connection logs in: one already open for the account is replaced (440 to it, as WhatsApp does
   * when a second client uses the session). A token matching the paired session resumes it; anything
   * else is a new login (QR, history), which replaces the session token.
   */
  private login(ws: WebSocket<WsData>, token: string | null, instance: string | null): void {
    const a = this.account(ws.getUserData().accountId);
    const resumed = a.token !== null && token === a.token;
    const n = ++this.connectionCount;
    const log: SimConnectionLog = { n, instance, openedAt: Date.now(), closedAt: null, closedBy: null, resumed };
    const conn: Conn = { n, ws, phone: null, instance, ready: false, closed: false, unacked: new Map(), log };
    ws.getUserData().conn = conn;
    a.connections.push(log);
    a.open += 1;
    a.maxConcurrent = Math.max(a.maxConcurrent, a.open);
    const old = a.conn;
    a.conn = conn;
    if (old && !old.closed) {
      a.replacements += 1;
      this.log.warn({ accountId: a.id, old: old.instance, by: instance }, 'sim server: a second connection replaces the first (440)');
      this.send(old, {
        t: 'ev',
        event: 'connection.update',
        data: {
          connection: 'close',
          lastDisconnect: { error: { message: 'Stream Errored (conflict)', output: { statusCode: 440 } }, date: new Date().toISOString() },
        },
      });
      this.detach(a, old, 'replaced');
      old.ws.end(4440, 'replaced');
    }
    const phone = new SimPhone({
      user: a.user,
      script: { kind: 'generated', world: a.world, plan: resumed ? [] : a.plan, rate: 0 },
      archive: a.archive,
      pairs: a.pairs,
      logger: this.log,
      delays: { pairMs: this.o.pairMs ?? 0, ...this.o.delays },
      pairing: resumed ? 'resume' : 'qr',
      onLoggedOut: () => {
        a.token = null;
      },
    });
    conn.phone = phone;
    for (const event of Object.keys(BAILEYS_EVENTS) as BaileysEvent[]) {
      phone.ev.on(event, (data: unknown) => this.forward(a, conn, event, data));
    }
  }

  private forward(a: AccountState, conn: Conn, event: BaileysEvent, data: unknown): void {
    if (conn.closed) return;
    if (event !== 'connection.update') {
      this.send(conn, { t: 'ev', event, data });
      return;
    }
    const update = data as { connection?: string; receivedPendingNotifications?: boolean; lastDisconnect?: { error?: unknown } };
    if (update.connection === 'open') {
      a.token ??= randomUUID();
      this.send(conn, { t: 'ev', event, data, user: a.user, token: a.token });
      return;
    }
    if (update.receivedPendingNotifications === true) {
      // The offline backlog first, oldest first, then the news that there is no more.
      const backlog = a.queue.splice(0);
      this.deliver(a, conn, backlog, 'append');
      conn.ready = true;
    }
    this.send(conn, { t: 'ev', event, data });
    if (update.connection === 'close') {
      // The phone ended the stream itself (logout, a restart after pairing): so does the server.
      this.detach(a, conn, 'server');
      conn.ws.end(1000, 'closed');
    }
  }

  private async call(a: AccountState, conn: Conn, frame: Extract<ClientFrame, { t: 'call' }>): Promise<void> {
    const phone = conn.phone;
    let answer: ServerFrame;
    try {
      if (!phone) throw new Error('not logged in');
      let value: unknown;
      const args: unknown = frame.args;
      if (frame.method === 'sendMessage') {
        const msg = await phone.sendMessage(...(args as Parameters<SimPhone['sendMessage']>));
        if (msg?.key.id) a.sent.push({ id: msg.key.id, jid: msg.key.remoteJid ?? '', connection: conn.n, at: Date.now() });
        value = msg ?? null;
      } else if (frame.method === 'fetchMessageHistory') {
        value = await phone.fetchMessageHistory(...(args as Parameters<SimPhone['fetchMessageHistory']>));
      } else if (frame.method === 'requestPairingCode') {
        value = await phone.requestPairingCode(...(args as Parameters<SimPhone['requestPairingCode']>));
      } else {
        await phone.logout();
        value = null;
      }
      answer = { t: 'result', id: frame.id, ok: true, value };
    } catch (err) {
      answer = {
        t: 'result',
        id: frame.id,
        ok: false,
        error: { message: err instanceof Error ? err.message : String(err), statusCode: statusCodeOf(err) ?? null },
      };
    }
    this.send(conn, answer);
  }

  private onClose(ws: WebSocket<WsData>): void {
    const data = ws.getUserData();
    const conn = data.conn;
    if (!conn) return;
    const a = this.account(data.accountId);
    this.detach(a, conn, 'client');
  }

  /**
   * Nothing more goes out on `conn`; what it was sent but did not acknowledge goes back to the front
   * of the queue (the next connection gets it again, as WhatsApp redelivers unacknowledged messages).
   */
  private detach(a: AccountState, conn: Conn, by: NonNullable<SimConnectionLog['closedBy']>): void {
    if (conn.log.closedAt === null) {
      conn.log.closedAt = Date.now();
      conn.log.closedBy = by;
      a.open -= 1;
    }
    if (conn.closed) return;
    conn.closed = true;
    if (a.conn === conn) a.conn = null;
    if (conn.unacked.size > 0) {
      const back = [...conn.unacked.values()];
      conn.unacked.clear();
      for (const m of back) {
        const entry = a.messages.get(m.key.id!);
        if (entry) entry.delivery = 'queued';
      }
      // Before anything queued since: the order a phone would see them in.
      a.queue.unshift(...back);
      if (a.conn?.ready && !a.conn.closed) this.deliver(a, a.conn, a.queue.splice(0), 'append');
    }
    conn.phone?.end(undefined).catch(() => undefined);
  }

  private send(conn: Conn, frame: ServerFrame): void {
    if (conn.closed) return;
    try {
      conn.ws.send(encodeFrame(frame));
    } catch (err) {
      // The socket went away between the check and the send (uWS throws on a closed socket).
      this.log.debug({ err: String(err) }, 'sim server: send on a closed connection');
    }
  }

  // ---- the JSON API for tests and demos ----------------------------------------------------------

  private http(app: TemplatedApp): void {
    const json = (res: HttpResponse, status: number, body: unknown): void => {
      res.cork(() => {
        res.writeStatus(`${status}`).writeHeader('content-type', 'application/json').end(JSON.stringify(body));
      });
    };
    const accountOf = (url: string): string => decodeURIComponent(url.split('/')[2] ?? '');
    const withBody = (res: HttpResponse, handle: (body: Record<string, unknown>) => unknown): void => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const chunks: Buffer[] = [];
      res.onData((chunk, last) => {
        chunks.push(Buffer.from(new Uint8Array(chunk)));
        if (!last || aborted) return;
        try {
          const text = Buffer.concat(chunks).toString('utf8');
          const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
          json(res, 200, handle(body));
        } catch (err) {
          json(res, 400, { error: err instanceof Error ? err.message : String(err) });
        }
      });
    };
    app.get('/stats', (res) => json(res, 200, { accounts: this.allStats() }));
    app.get('/accounts/*', (res, req) => {
      const url = req.getUrl();
      const accountId = accountOf(url);
      if (url.endsWith('/messages')) return json(res, 200, { messages: this.messages(accountId) });
      if (url.endsWith('/connections')) return json(res, 200, { connections: this.connections(accountId) });
      if (url.endsWith('/sent')) return json(res, 200, { sent: this.sentMessages(accountId) });
      return json(res, 200, this.stats(accountId));
    });
    app.post('/accounts/*', (res, req) => {
      const url = req.getUrl();
      const accountId = accountOf(url);
      if (url.endsWith('/traffic')) {
        return withBody(res, (b) => {
          this.setRate(accountId, Number(b.rate));
          return { accountId, rate: Number(b.rate) };
        });
      }
      if (url.endsWith('/inbound'))
        return withBody(res, (b) => ({ ids: this.inject(accountId, Math.max(0, Math.floor(Number(b.count ?? 1)))) }));
      return json(res, 404, { error: 'no such route' });
    });
    app.post('/traffic', (res) =>
      withBody(res, (b) => {
        this.o.rate = Number(b.rate);
        for (const id of this.accounts.keys()) this.setRate(id, Number(b.rate));
        return { rate: Number(b.rate) };
      }),
    );
    app.any('/*', (res) => json(res, 404, { error: 'no such route' }));
  }
}
