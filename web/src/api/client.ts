import type { ApiAccount, ApiFleet, MessagesPage, QrAnswer, ReadyAnswer, SendAnswer, ThreadsPage } from './types.js';

/** An API error with the server's code (`UNAUTHORIZED`, `NOT_FOUND`, `SHUTTING_DOWN`…), or `NETWORK`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  get draining(): boolean {
    return this.code === 'SHUTTING_DOWN';
  }
}

export interface PageQuery {
  limit?: number;
  cursor?: string | null;
  order?: 'asc' | 'desc';
}

/**
 * The REST API, as any client uses it: the bearer token in the `Authorization` header (never in a
 * URL), JSON in and out, errors as `{ success: false, error: { code, message } }`.
 */
export class Api {
  /** Called on every 401, so the page can sign out once the token stops working. */
  onUnauthorized: (() => void) | null = null;

  constructor(
    private readonly token: string,
    private readonly base = '',
  ) {}

  private async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        cache: 'no-store',
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Is it running?');
    }
    if (res.ok) return res;
    const error = await errorOf(res);
    if (error.unauthorized) this.onUnauthorized?.();
    throw error;
  }

  private async json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.request(method, path, body, signal);
    return (await res.json()) as T;
  }

  accounts(signal?: AbortSignal): Promise<ApiAccount[]> {
    return this.json<{ accounts: ApiAccount[] }>('GET', '/api/whatsapp/accounts', undefined, signal).then((r) => r.accounts);
  }
  account(id: string, signal?: AbortSignal): Promise<ApiAccount> {
    return this.json<{ account: ApiAccount }>('GET', `/api/whatsapp/accounts/${enc(id)}`, undefined, signal).then((r) => r.account);
  }
  createAccount(accountId?: string): Promise<ApiAccount> {
    return this.json<{ account: ApiAccount }>('POST', '/api/whatsapp/accounts', accountId ? { accountId } : {}).then((r) => r.account);
  }
  deleteAccount(id: string, purge: boolean): Promise<unknown> {
    return this.json('DELETE', `/api/whatsapp/accounts/${enc(id)}?purge=${purge}`);
  }
  regenerateQr(id: string): Promise<QrAnswer> {
    return this.json('POST', `/api/whatsapp/accounts/${enc(id)}/regenerate-qr`);
  }
  qr(id: string, signal?: AbortSignal): Promise<QrAnswer> {
    return this.json('GET', `/api/whatsapp/accounts/${enc(id)}/qr`, undefined, signal);
  }
  pairingCode(id: string, phoneNumber: string): Promise<{ code: string }> {
    return this.json('POST', `/api/whatsapp/accounts/${enc(id)}/pairing-code`, { phoneNumber });
  }
  backfill(id: string): Promise<unknown> {
    return this.json('POST', `/api/whatsapp/backfill/${enc(id)}`);
  }
  threads(accountId: string, q: PageQuery = {}, signal?: AbortSignal): Promise<ThreadsPage> {
    return this.json('GET', `/api/whatsapp/threads/${enc(accountId)}${query(q)}`, undefined, signal);
  }
  messages(accountId: string, threadId: string, q: PageQuery = {}, signal?: AbortSignal): Promise<MessagesPage> {
    return this.json('GET', `/api/whatsapp/messages/${enc(accountId)}/${enc(threadId)}${query(q)}`, undefined, signal);
  }
  send(input: { accountId: string; to: string; text: string; messageId?: string }): Promise<SendAnswer> {
    return this.json('POST', '/api/whatsapp/send', input);
  }
  /** The media file, fetched with the token and handed out as a Blob (shown through a blob: URL). */
  async media(accountId: string, messageId: string, signal?: AbortSignal): Promise<Blob> {
    const res = await this.request('GET', `/api/whatsapp/media/${enc(accountId)}/${enc(messageId)}`, undefined, signal);
    return res.blob();
  }
  /** `GET /ready` is open; it tells whether this instance runs the periodic jobs. */
  async ready(signal?: AbortSignal): Promise<ReadyAnswer> {
    return this.json('GET', '/ready', undefined, signal);
  }
  /** The fleet (`GET /api/whatsapp/instances`); null when this server has no such route. */
  async instances(signal?: AbortSignal): Promise<ApiFleet | null> {
    try {
      return await this.json<ApiFleet>('GET', '/api/whatsapp/instances', undefined, signal);
    } catch (err) {
      if (err instanceof ApiError && err.notFound) return null;
      throw err;
    }
  }
  /** A single-use ticket for the live feed; null when this server has no live feed. */
  async wsTicket(): Promise<{ ticket: string; expiresAt: string } | null> {
    try {
      return await this.json<{ ticket: string; expiresAt: string }>('POST', '/api/whatsapp/ws-ticket');
    } catch (err) {
      if (err instanceof ApiError && (err.notFound || err.status === 405)) return null;
      throw err;
    }
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  return new ApiError(res.status, code, message);
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function query(q: PageQuery): string {
  const p = new URLSearchParams();
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  if (q.cursor) p.set('cursor', q.cursor);
  if (q.order) p.set('order', q.order);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** A message the operator can act on: what went wrong and what to do next. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'NETWORK') return err.message;
    if (err.unauthorized) return 'The server refused the API token. Sign in again with the current token.';
    if (err.draining) return 'The server is shutting down (draining). Try again once it is back.';
    if (err.code === 'NOT_CONNECTED') return `${err.message}. The account must be connected first.`;
    return `${err.message} (${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}
