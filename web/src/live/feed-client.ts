import { toLiveEvent, type LiveEvent, type LiveMode } from './events.js';

/**
 * The live feed's client (`/api/whatsapp/ws`, README "Live feed"). The browser cannot put the API
 * token in a websocket's headers, so each connection first gets a single-use ticket
 * (`POST /api/whatsapp/ws-ticket`, with the token) and passes it as `?ticket=`.
 *
 * After connecting it subscribes to every account (`"*"`), passing the cursor of the last event it
 * handled as `after`, so a reconnect resumes where it stopped instead of losing what happened in
 * between. When the server can no longer replay that far (`resync-required`) the page reloads its
 * data over REST and the feed continues from now. Reconnects back off (0.5 s doubling to 15 s, with
 * jitter); a silent connection (no frame for `idleMs` although pings are sent) counts as dead.
 */
export interface FeedClientOptions {
  /** A fresh ticket; null when the server has no feed (the caller falls back to polling). */
  ticket: () => Promise<string | null>;
  /** `ws://host/api/whatsapp/ws` for the page's own origin. */
  url: string;
  onEvent: (e: LiveEvent) => void;
  onMode: (m: LiveMode) => void;
  onResync: () => void;
  /**
   * No feed to be had: the server has none (no ticket route), or the first `giveUpAfter` connections
   * all failed before a subscription (a proxy that drops websockets): switch to polling.
   */
  onUnavailable: (reason: string) => void;
  /** Failed first connections before giving up on the feed (default 3); after one success it always retries. */
  giveUpAfter?: number;
  WebSocketImpl?: typeof WebSocket;
  pingMs?: number;
  idleMs?: number;
}

interface FeedFrame {
  type?: unknown;
  id?: unknown;
  cursor?: unknown;
  accountId?: unknown;
  event?: unknown;
  data?: unknown;
  code?: unknown;
  message?: unknown;
}

const SEEN_IDS_KEPT = 2000;

export class FeedClient {
  private ws: WebSocket | null = null;
  private cursor: string | null = null;
  private attempt = 0;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private everSubscribed = false;
  /** Event ids already handled: a resumed subscription may send the boundary event again. */
  private readonly seen = new Set<string>();
  private readonly WS: typeof WebSocket;

  constructor(private readonly o: FeedClientOptions) {
    this.WS = o.WebSocketImpl ?? WebSocket;
  }

  start(): void {
    this.o.onMode({ kind: 'connecting' });
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.ws?.close(1000, 'page closed');
    this.ws = null;
  }

  /** The cursor a reconnect resumes from (tests, diagnostics). */
  get resumeCursor(): string | null {
    return this.cursor;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let ticket: string | null;
    try {
      ticket = await this.o.ticket();
    } catch (err) {
      this.retry(err instanceof Error ? err.message : String(err));
      return;
    }
    if (this.stopped) return;
    if (ticket === null) {
      this.giveUp('this server has no live feed');
      return;
    }
    const ws = new this.WS(`${this.o.url}?ticket=${encodeURIComponent(ticket)}`);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.lastFrameAt = Date.now();
      ws.send(JSON.stringify({ type: 'subscribe', accountId: '*', ...(this.cursor ? { after: this.cursor } : {}) }));
      this.startPings(ws);
    };
    ws.onmessage = (msg) => {
      this.lastFrameAt = Date.now();
      if (typeof msg.data !== 'string') return;
      let frame: FeedFrame;
      try {
        frame = JSON.parse(msg.data) as FeedFrame;
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.pingTimer) clearInterval(this.pingTimer);
      if (this.stopped) return;
      this.retry(opened ? `connection closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})` : 'could not connect');
    };
    ws.onerror = () => {
      // A close event always follows; it decides what happens next.
    };
  }

  private onFrame(frame: FeedFrame): void {
    switch (frame.type) {
      case 'subscribed':
        this.attempt = 0;
        this.everSubscribed = true;
        if (typeof frame.cursor === 'string' && this.cursor === null) this.cursor = frame.cursor;
        this.o.onMode({ kind: 'feed' });
        return;
      case 'event': {
        if (typeof frame.cursor === 'string') this.cursor = frame.cursor;
        if (typeof frame.id === 'string') {
          if (this.seen.has(frame.id)) return;
          this.remember(frame.id);
        }
        const e = toLiveEvent(frame);
        if (e) this.o.onEvent(e);
        return;
      }
      case 'resync-required':
        // Events were lost for good: start again from now, and let the page reload what it shows.
        this.cursor = null;
        this.ws?.send(JSON.stringify({ type: 'subscribe', accountId: '*' }));
        this.o.onResync();
        return;
      case 'error':
        // Protocol errors are logged for whoever opens the console; the connection decides the rest.
        console.warn('live feed error', frame.code, frame.message);
        return;
      default:
        return;
    }
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS_KEPT) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  private startPings(ws: WebSocket): void {
    const pingMs = this.o.pingMs ?? 20_000;
    const idleMs = this.o.idleMs ?? 3 * pingMs;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (ws.readyState !== this.WS.OPEN) return;
      if (Date.now() - this.lastFrameAt > idleMs) {
        ws.close(4000, 'no answer to pings');
        return;
      }
      ws.send(JSON.stringify({ type: 'ping' }));
    }, pingMs);
  }

  private giveUp(reason: string): void {
    this.stopped = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.ws?.close(1000, 'falling back to polling');
    this.ws = null;
    this.o.onUnavailable(reason);
  }

  private retry(error: string | null): void {
    if (this.stopped) return;
    this.attempt += 1;
    if (!this.everSubscribed && this.attempt >= (this.o.giveUpAfter ?? 3)) {
      this.giveUp(`the live feed could not be opened (${error ?? 'no reason'})`);
      return;
    }
    this.o.onMode({ kind: 'feed-reconnecting', attempt: this.attempt, error });
    const base = Math.min(15_000, 500 * 2 ** Math.min(this.attempt - 1, 10));
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}

/** The feed's address on the page's own origin. */
export function feedUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/api/whatsapp/ws`;
}
