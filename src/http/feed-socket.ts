import type { HttpRequest, HttpResponse, WebSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import { WasyncError } from '../domain/errors.js';
import type { FeedHub, FeedSink, HubEvent, Subscription } from '../feed/hub.js';
import { decodeCursor } from '../feed/position.js';
import type { Logger } from '../logging/logger.js';
import type { Principal } from '../supervisor/api-keys.js';
import { authorize } from './access.js';
import type { Authenticator } from './auth.js';

/**
 * The websocket feed at `/api/whatsapp/ws` (README, "Live events"), on uWebSockets.js next to the
 * REST routes. Authentication happens at the upgrade (bearer header, or `?ticket=` for browsers);
 * without a valid credential the upgrade is answered 401 and no socket opens. Frames are JSON text.
 *
 * Client → server: `subscribe` {accountId | "*", after?}, `unsubscribe` {accountId}, `ping`.
 * Server → client: `subscribed`, `event`, `live`, `resync-required`, `unsubscribed`, `pong`, `error`.
 *
 * Flow control: live events are queued per connection and written in one corked batch per turn of
 * the event loop; a connection whose unsent bytes (uWS's buffered amount plus that queue) pass
 * FEED_MAX_BUFFERED_KB is closed with 4008 and resumes from its last cursor. A replay never piles up:
 * it waits for the socket to drain. Idle connections get pings (uWS); one that answers nothing for
 * FEED_IDLE_TIMEOUT_SECONDS is closed.
 */

/** Close codes (README): the client should reconnect and resume from its last cursor. */
export const CLOSE_SLOW_CONSUMER = 4008;
export const CLOSE_GOING_AWAY = 1001;

/** Frames larger than this get an error frame; larger than `MAX_PAYLOAD` uWS closes the socket (1009). */
const MAX_FRAME_BYTES = 4096;
const MAX_PAYLOAD = 64 * 1024;
const MAX_SUBSCRIPTIONS = 100;

export interface FeedSocketOptions {
  hub: FeedHub;
  auth: Authenticator;
  logger: Logger;
  maxBufferedBytes: number;
  idleTimeoutSeconds: number;
  /** Unknown accounts are refused on subscribe. */
  accountExists: (accountId: string) => Promise<boolean>;
  draining: () => boolean;
  metrics?: FeedSocketMetrics;
}

export interface FeedSocketMetrics {
  connected(delta: 1 | -1): void;
  delivered(n: number): void;
  slowConsumerClosed(): void;
}

interface UserData {
  principal: Principal;
  conn?: FeedConnection;
}

export interface FeedSocket {
  /** The uWS behaviour for `app.ws('/api/whatsapp/ws', …)`. */
  behavior: WebSocketBehavior<UserData>;
  /** Shutdown: every connection gets `1001` (clients resume elsewhere, or here after the restart). */
  closeAll(): void;
}

export function createFeedSocket(o: FeedSocketOptions): FeedSocket {
  const connections = new Set<FeedConnection>();
  const behavior: WebSocketBehavior<UserData> = {
    maxPayloadLength: MAX_PAYLOAD,
    idleTimeout: o.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    // Never let uWS drop a frame silently: our own limit closes the socket well before this.
    maxBackpressure: o.maxBufferedBytes * 2 + MAX_PAYLOAD,
    closeOnBackpressureLimit: false,
    upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => upgrade(o, res, req, context),
    open: (ws) => {
      const conn = new FeedConnection(ws, o);
      ws.getUserData().conn = conn;
      connections.add(conn);
      o.metrics?.connected(1);
    },
    message: (ws, message) => {
      ws.getUserData().conn?.onMessage(message);
    },
    drain: (ws) => {
      ws.getUserData().conn?.onDrain();
    },
    close: (ws) => {
      const conn = ws.getUserData().conn;
      if (!conn) return;
      conn.onClose();
      connections.delete(conn);
      o.metrics?.connected(-1);
    },
  };
  return {
    behavior,
    closeAll() {
      for (const conn of [...connections]) conn.end(CLOSE_GOING_AWAY, 'server shutting down');
    },
  };
}

/**
 * Copies what it needs from the request before anything asynchronous (uWS's request dies at the first
 * await), then authenticates: the bearer header (an API key is looked up in the store), else a ticket.
 */
function upgrade(o: FeedSocketOptions, res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
  const key = req.getHeader('sec-websocket-key');
  const protocol = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  const authorization = req.getHeader('authorization');
  const ticket = new URLSearchParams(req.getQuery() ?? '').get('ticket');
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  const refuse = (status: string, code: string, message: string) => {
    if (aborted) return;
    res.cork(() => {
      res.writeStatus(status);
      if (code === 'UNAUTHORIZED') res.writeHeader('www-authenticate', 'Bearer');
      res.writeHeader('content-type', 'application/json; charset=utf-8');
      res.writeHeader('cache-control', 'no-store');
      res.end(JSON.stringify({ success: false, error: { code, message } }));
    });
  };
  if (o.draining()) {
    refuse('503 Service Unavailable', 'SHUTTING_DOWN', 'server is shutting down');
    return;
  }
  // A bearer header (the bootstrap token or an API key) first, else a ticket, which carries the
  // principal it was issued to: no principal, no socket (401). Scopes are checked per subscription.
  const pending: Promise<Principal | null> = o.auth
    .bearer(authorization)
    .then((principal) => principal ?? (ticket ? o.auth.redeemTicket(ticket, Date.now()) : null));
  pending.then(
    (p) => {
      if (aborted) return;
      if (!p) {
        refuse('401 Unauthorized', 'UNAUTHORIZED', 'missing or invalid bearer token or ticket');
        return;
      }
      res.cork(() => res.upgrade<UserData>({ principal: p }, key, protocol, extensions, context));
    },
    (err: unknown) => {
      o.logger.warn({ err }, 'websocket ticket check failed');
      refuse('503 Service Unavailable', 'STORE_TRANSIENT', 'could not check the ticket; try again');
    },
  );
}

type ClientFrame =
  | { type: 'subscribe'; accountId: string; after: string | null }
  | { type: 'unsubscribe'; accountId: string }
  | { type: 'ping' };

class FrameError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseFrame(message: ArrayBuffer): ClientFrame {
  if (message.byteLength > MAX_FRAME_BYTES) throw new FrameError('FRAME_TOO_LARGE', `frames are at most ${MAX_FRAME_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(message));
  } catch {
    throw new FrameError('BAD_JSON', 'the frame is not JSON text');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FrameError('BAD_FRAME', 'a frame is a JSON object');
  const f = value as Record<string, unknown>;
  switch (f.type) {
    case 'ping':
      return { type: 'ping' };
    case 'subscribe':
    case 'unsubscribe': {
      if (typeof f.accountId !== 'string' || f.accountId.length === 0 || f.accountId.length > 100) {
        throw new FrameError('BAD_FRAME', 'accountId must be an account id or "*"');
      }
      if (f.type === 'unsubscribe') return { type: 'unsubscribe', accountId: f.accountId };
      if (f.after !== undefined && f.after !== null && typeof f.after !== 'string')
        throw new FrameError('BAD_CURSOR', 'after must be a cursor string');
      return { type: 'subscribe', accountId: f.accountId, after: (f.after as string | null | undefined) ?? null };
    }
    default:
      throw new FrameError('UNKNOWN_TYPE', `unknown frame type ${JSON.stringify(f.type)?.slice(0, 40) ?? 'undefined'}`);
  }
}

/**
 * Connections with frames waiting, flushed together once per turn of the event loop: an event fanned
 * out to 100 subscribers costs one timer, not 100.
 */
const pendingFlush = new Set<FeedConnection>();
let flushScheduled = false;

function scheduleFlush(conn: FeedConnection): void {
  pendingFlush.add(conn);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    const conns = [...pendingFlush];
    pendingFlush.clear();
    for (const c of conns) c.flush();
  });
}

/** One websocket: its subscriptions and its outgoing queue. */
class FeedConnection {
  open = true;
  readonly subs = new Map<string, SocketSub>();
  private queue: string[] = [];
  private queuedBytes = 0;
  private drainWaiters: Array<() => void> = [];
  readonly principal: Principal;

  constructor(
    private readonly ws: WebSocket<UserData>,
    readonly o: FeedSocketOptions,
  ) {
    this.principal = ws.getUserData().principal;
  }

  /** Unsent bytes: what uWS holds for a slow socket plus what waits for this turn's flush. */
  get backlog(): number {
    return this.open ? this.ws.getBufferedAmount() + this.queuedBytes : 0;
  }

  /** Queues a frame; false when the backlog is past the limit (the caller closes the connection). */
  enqueue(frame: string): boolean {
    if (!this.open) return false;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (this.queue.length === 1) scheduleFlush(this);
    return this.backlog <= this.o.maxBufferedBytes;
  }

  control(frame: Record<string, unknown>): void {
    this.enqueue(JSON.stringify(frame));
  }

  flush(): void {
    if (!this.open || this.queue.length === 0) return;
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    this.ws.cork(() => {
      for (const f of frames) this.ws.send(f, false);
    });
    if (this.ws.getBufferedAmount() > this.o.maxBufferedBytes) this.closeSlow();
  }

  closeSlow(): void {
    if (!this.open) return;
    this.o.logger.info({ backlog: this.backlog }, 'websocket feed: slow consumer closed (4008)');
    this.o.metrics?.slowConsumerClosed();
    this.end(CLOSE_SLOW_CONSUMER, 'slow consumer: resume from your last cursor');
  }

  end(code: number, reason: string): void {
    if (!this.open) return;
    this.dropQueue();
    // `end` runs the close handler at once, which closes every subscription.
    this.ws.end(code, reason);
  }

  private dropQueue(): void {
    this.queue = [];
    this.queuedBytes = 0;
  }

  async drained(): Promise<void> {
    while (this.open && this.backlog > this.o.maxBufferedBytes / 4) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  onDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  onClose(): void {
    this.open = false;
    this.dropQueue();
    for (const sub of this.subs.values()) sub.end();
    this.subs.clear();
    this.onDrain();
  }

  onMessage(message: ArrayBuffer): void {
    let frame: ClientFrame;
    try {
      frame = parseFrame(message);
    } catch (err) {
      const e = err as FrameError;
      this.control({ type: 'error', code: e.code, message: e.message });
      return;
    }
    if (frame.type === 'ping') {
      this.control({ type: 'pong' });
      return;
    }
    if (frame.type === 'unsubscribe') {
      const sub = this.subs.get(frame.accountId);
      if (!sub) {
        this.control({
          type: 'error',
          code: 'NOT_SUBSCRIBED',
          message: `not subscribed to ${frame.accountId}`,
          accountId: frame.accountId,
        });
        return;
      }
      sub.end();
      this.subs.delete(frame.accountId);
      this.control({ type: 'unsubscribed', accountId: frame.accountId });
      return;
    }
    void this.subscribe(frame.accountId, frame.after).catch((err: unknown) => {
      const code =
        err instanceof FrameError
          ? err.code
          : err instanceof WasyncError
            ? err.code === 'BAD_REQUEST'
              ? 'BAD_CURSOR'
              : err.code
            : 'INTERNAL';
      if (code === 'INTERNAL') this.o.logger.error({ err }, 'websocket subscribe failed');
      const message = code === 'INTERNAL' ? 'internal error' : (err as Error).message;
      this.control({ type: 'error', code, message, accountId: frame.accountId });
    });
  }

  private async subscribe(accountId: string, after: string | null): Promise<void> {
    const all = accountId === '*';
    if (this.subs.has(accountId)) throw new FrameError('ALREADY_SUBSCRIBED', `already subscribed to ${accountId}; unsubscribe first`);
    if (all ? this.subs.size > 0 : this.subs.has('*')) {
      throw new FrameError('OVERLAP', 'a "*" subscription cannot share a connection with per-account ones (each event would come twice)');
    }
    if (this.subs.size >= MAX_SUBSCRIPTIONS) throw new FrameError('TOO_MANY', `at most ${MAX_SUBSCRIPTIONS} subscriptions per connection`);
    // Scope `read` on the account (README, API keys): answered in band as an `error` frame with code
    // FORBIDDEN, the connection stays open. `*` needs the scope only; for a key limited to some
    // accounts it is narrowed to those (SocketSub.push skips the others).
    authorize(all ? { ...this.principal, accounts: null } : this.principal, 'read', all ? null : accountId);
    const cursor = after === null ? null : decodeCursor(after);
    const sub = new SocketSub(this, accountId);
    this.subs.set(accountId, sub);
    try {
      if (!all && !(await this.o.accountExists(accountId))) throw new FrameError('NOT_FOUND', `account ${accountId} not found`);
      if (sub.closed) return;
      sub.handle = await this.o.hub.subscribe(accountId, cursor, sub);
      if (sub.closed) sub.handle.close();
    } catch (err) {
      sub.end();
      if (this.subs.get(accountId) === sub) this.subs.delete(accountId);
      throw err;
    }
  }
}

/** One subscription of a connection, as the hub sees it. */
class SocketSub implements FeedSink {
  handle: Subscription | null = null;
  private ended = false;

  constructor(
    private readonly conn: FeedConnection,
    readonly accountId: string,
  ) {}

  get closed(): boolean {
    return this.ended || !this.conn.open;
  }

  get pressure(): boolean {
    return this.conn.backlog > this.conn.o.maxBufferedBytes / 2;
  }

  subscribed(cursor: string): void {
    this.conn.control({ type: 'subscribed', accountId: this.accountId, cursor });
  }

  push(event: HubEvent, frame: () => string): boolean {
    if (this.closed) return false;
    const allowed = this.conn.principal.accounts;
    if (allowed !== null && !allowed.has(event.accountId)) return true;
    if (!this.conn.enqueue(frame())) {
      this.conn.closeSlow();
      return false;
    }
    this.conn.o.metrics?.delivered(1);
    return true;
  }

  live(cursor: string): void {
    this.conn.control({ type: 'live', accountId: this.accountId, cursor });
  }

  resync(reason: 'pruned' | 'ahead' | 'epoch'): void {
    const why =
      reason === 'pruned'
        ? 'the cursor is older than the retention (FEED_RETENTION_HOURS)'
        : 'the cursor does not belong to this server’s log (another database, or one restored from a backup)';
    this.conn.control({
      type: 'resync-required',
      accountId: this.accountId,
      reason,
      message: `${why}: re-read through the REST API, then subscribe without after`,
    });
    this.end();
    if (this.conn.subs.get(this.accountId) === this) this.conn.subs.delete(this.accountId);
  }

  drained(): Promise<void> {
    return this.conn.drained();
  }

  end(): void {
    this.ended = true;
    this.handle?.close();
  }
}
