import http from 'node:http';
import https from 'node:https';
import { AddressRefusedError, checkWebhookUrl, guardedLookup } from './address-guard.js';

/**
 * The HTTP side of a webhook delivery: one POST, with a connect deadline and a deadline for the whole
 * answer, no redirects followed, through the SSRF guard, on keep-alive connections. It classifies the
 * outcome for the dispatcher: 2xx delivered; 408, 429, 5xx and network failures retried; every other
 * status (and a refused address) is final.
 */

export interface WebhookClientOptions {
  allowPrivate: boolean;
  connectTimeoutMs: number;
  timeoutMs: number;
}

export type DeliveryOutcome =
  | { ok: true; status: number; ms: number }
  | { ok: false; status: number | null; error: string; retryable: boolean; retryAfterMs: number | null; ms: number };

/** Enough of an error body to say what went wrong; the rest is drained unread. */
const KEEP_BODY = 512;

export class WebhookClient {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 8 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 8 }),
  };
  private readonly lookup;

  constructor(private readonly o: WebhookClientOptions) {
    this.lookup = guardedLookup(o.allowPrivate);
  }

  /** `signal` aborts the request (shutdown): it then counts as a failure to retry, never as delivered. */
  post(rawUrl: string, body: string, headers: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<DeliveryOutcome> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = checkWebhookUrl(rawUrl, this.o.allowPrivate);
    } catch (err) {
      return Promise.resolve({ ok: false, status: null, error: (err as Error).message, retryable: false, retryAfterMs: null, ms: 0 });
    }
    const secure = url.protocol === 'https:';
    return new Promise<DeliveryOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: DeliveryOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(connectTimer);
        resolve(outcome);
      };
      const fail = (error: string, retryable: boolean, status: number | null = null) =>
        finish({ ok: false, status, error, retryable, retryAfterMs: null, ms: ms() });
      const req = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? this.agents.https : this.agents.http,
        lookup: this.lookup,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body, 'utf8')) },
      });
      let connectTimer: NodeJS.Timeout | undefined;
      const deadline = setTimeout(() => {
        req.destroy();
        fail(`no answer within ${this.o.timeoutMs} ms`, true);
      }, this.o.timeoutMs);
      req.on('socket', (socket) => {
        // A reused keep-alive socket is connected already.
        if (!(socket as { connecting?: boolean }).connecting) return;
        connectTimer = setTimeout(() => {
          req.destroy();
          fail(`could not connect within ${this.o.connectTimeoutMs} ms`, true);
        }, this.o.connectTimeoutMs);
        socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (err) => {
        const refused = err instanceof AddressRefusedError || (err as { cause?: unknown }).cause instanceof AddressRefusedError;
        fail(refused ? `address refused: ${err.message}` : `${(err as NodeJS.ErrnoException).code ?? 'error'}: ${err.message}`, !refused);
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < KEEP_BODY) text += chunk.slice(0, KEEP_BODY - text.length);
        });
        res.on('error', () => undefined);
        res.on('end', () => {
          if (status >= 200 && status < 300) return finish({ ok: true, status, ms: ms() });
          const retryable = status === 408 || status === 429 || status >= 500;
          const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
          const retryAfter = Number(res.headers['retry-after']);
          finish({
            ok: false,
            status,
            error: `HTTP ${status}${redirect}${text ? `: ${text.replace(/\s+/g, ' ').trim()}` : ''}`,
            retryable,
            retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : null,
            ms: ms(),
          });
        });
      });
      if (signal) {
        const onAbort = () => {
          req.destroy();
          fail('aborted', true);
        };
        if (signal.aborted) onAbort();
        else {
          signal.addEventListener('abort', onAbort, { once: true });
          // One signal serves a worker's every request: its listener goes with the request.
          req.once('close', () => signal.removeEventListener('abort', onAbort));
        }
      }
      req.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
