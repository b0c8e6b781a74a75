import WebSocket from 'ws';

/**
 * A real websocket client of the feed (the `ws` package, as an inbox's server would use), recording
 * every frame. `connect` resolves once the socket is open, or rejects with the HTTP status of a
 * refused upgrade.
 */

export interface FeedFrame {
  type: string;
  id?: string;
  cursor?: string;
  accountId?: string;
  event?: string;
  committedAt?: string;
  data?: Record<string, unknown>;
  code?: string;
  message?: string;
  reason?: string;
}

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`upgrade refused with HTTP ${status}`);
  }
}

export class FeedTestClient {
  readonly frames: FeedFrame[] = [];
  /** Arrival times (ms, this process's clock) of `frames`. */
  readonly receivedAt: number[] = [];
  closed: { code: number; reason: string } | null = null;
  pings = 0;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as FeedFrame);
      this.receivedAt.push(Date.now());
      this.wake();
    });
    ws.on('ping', () => {
      this.pings++;
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  static connect(baseUrl: string, auth: { token?: string; ticket?: string; query?: string } = {}): Promise<FeedTestClient> {
    const query = auth.ticket ? `?ticket=${encodeURIComponent(auth.ticket)}` : (auth.query ?? '');
    const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/api/whatsapp/ws${query}`;
    const ws = new WebSocket(wsUrl, auth.token ? { headers: { authorization: `Bearer ${auth.token}` } } : {});
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new FeedTestClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body)));
      });
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  subscribe(accountId: string, after: string | null = null): void {
    this.send({ type: 'subscribe', accountId, ...(after === null ? {} : { after }) });
  }

  get events(): FeedFrame[] {
    return this.frames.filter((f) => f.type === 'event');
  }

  /** The cursor to resume from: the last event's, else the `subscribed` frame's. */
  get lastCursor(): string | null {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      if ((f.type === 'event' || f.type === 'subscribed' || f.type === 'live') && f.cursor) return f.cursor;
    }
    return null;
  }

  async waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what} (${this.frames.length} frames, last ${JSON.stringify(this.frames.at(-1))?.slice(0, 300)})`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitForFrame(type: string, timeoutMs = 10_000): Promise<FeedFrame> {
    return this.waitFor(`a ${type} frame`, () => this.frames.some((f) => f.type === type), timeoutMs).then(
      () => this.frames.find((f) => f.type === type)!,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close();
    await this.waitFor('close', () => this.closed !== null, 5_000).catch(() => this.ws.terminate());
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
