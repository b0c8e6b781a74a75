import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../src/feed/webhooks/signature.js';

/**
 * A webhook receiver on a free loopback port, recording every request as it arrived (raw body and
 * headers). `answer` decides each response (the status, an optional delay): down, flaky, gone, slow.
 */

export interface Received {
  deliveryId: string;
  event: string;
  eventId: string;
  attempt: number;
  timestamp: number;
  signature: string;
  raw: string;
  body: { id: string; cursor: string; accountId: string; event: string; committedAt: string; data: Record<string, unknown> };
  status: number;
  at: number;
}

export class WebhookReceiver {
  readonly requests: Received[] = [];
  answer: (r: Received) => number | { status: number; delayMs: number } = () => 200;
  private server!: http.Server;
  url = '';

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    r.server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (raw += d));
      req.on('end', () => {
        const h = (name: string) => String(req.headers[name] ?? '');
        const rec: Received = {
          deliveryId: h('wasync-delivery'),
          event: h('wasync-event'),
          eventId: h('wasync-event-id'),
          attempt: Number(h('wasync-attempt')),
          timestamp: Number(h('wasync-timestamp')),
          signature: h('wasync-signature'),
          raw,
          body: JSON.parse(raw) as Received['body'],
          status: 0,
          at: Date.now(),
        };
        const a = r.answer(rec);
        const { status, delayMs } = typeof a === 'number' ? { status: a, delayMs: 0 } : a;
        rec.status = status;
        r.requests.push(rec);
        setTimeout(() => {
          res.writeHead(status, { 'content-type': 'text/plain' });
          res.end(status < 300 ? 'ok' : `nope ${status}`);
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
    return r;
  }

  /** Delivered requests (2xx), deduplicated by delivery id as a receiver would. */
  get delivered(): Received[] {
    const seen = new Set<string>();
    return this.requests.filter((r) => {
      if (r.status < 200 || r.status >= 300 || seen.has(r.deliveryId)) return false;
      seen.add(r.deliveryId);
      return true;
    });
  }

  /** Every request's signature checks out with `secret`, over the exact bytes received. */
  allSigned(secret: string): boolean {
    return this.requests.every(
      (r) =>
        verifySignature(secret, r.signature, r.raw, Math.floor(r.at / 1000)) && r.timestamp === Number(/t=(\d+)/.exec(r.signature)?.[1]),
    );
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
