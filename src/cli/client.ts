import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CliError, EXIT, UsageError, exitCodeForStatus } from './errors.js';

/** Where the server is and how to authenticate: flags first, then the environment, then defaults. */
export interface Connection {
  url: string;
  /** Lazily resolved: commands on open routes (`ready`) never need one. */
  token(): string;
}

export interface ConnectionFlags {
  url?: string | undefined;
  token?: string | undefined;
}

/**
 * `--url`, else `WASYNC_URL`, else the server's own `PORT` on loopback: the CLI usually runs on the
 * server's box with the server's environment (a container's healthcheck, a shell with the env file).
 * The token: `--token`, `WASYNC_TOKEN`, the server's `API_TOKEN`, else the file the server generated
 * in `DATA_DIR` (`./data` by default, as for the server).
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv, cwd: string): Connection {
  const raw = flags.url ?? env.WASYNC_URL ?? `http://127.0.0.1:${env.PORT || '8080'}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url: expected an http(s) URL such as http://127.0.0.1:8080, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url: expected http or https, got "${url.protocol}"`);
  if (url.username || url.password) throw new UsageError('--url: put the token in --token or WASYNC_TOKEN, not in the URL');
  let cached: string | undefined;
  return {
    url: url.href.replace(/\/+$/, ''),
    token() {
      cached ??= resolveToken(flags, env, cwd);
      return cached;
    },
  };
}

function resolveToken(flags: ConnectionFlags, env: NodeJS.ProcessEnv, cwd: string): string {
  const given = flags.token ?? env.WASYNC_TOKEN ?? env.API_TOKEN;
  if (given !== undefined && given.trim() !== '') return given.trim();
  const file = path.resolve(cwd, env.DATA_DIR || './data', 'api-token');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? `${file} does not exist (run where the server's DATA_DIR is, or set DATA_DIR)`
        : code === 'EACCES'
          ? `${file} is not readable by this user (it is mode 0600: run as the service user, e.g. sudo -u deploy)`
          : `${file}: ${(err as Error).message}`;
    throw new CliError(EXIT.AUTH, `no API token: ${why}; or pass --token / set WASYNC_TOKEN`);
  }
  const token = text.trim();
  if (token === '') throw new CliError(EXIT.AUTH, `no API token: ${file} is empty`);
  return token;
}

/** The API's error body: `{ success: false, error: { code, message } }`. */
interface ApiErrorBody {
  error?: { code?: unknown; message?: unknown };
}

export interface RequestOptions {
  body?: unknown;
  /** Open routes (`/ready`, `/health`, `/metrics`) are called without the token. */
  open?: boolean;
  timeoutMs?: number;
}

/** A thin JSON client over the REST API: every failure becomes a `CliError` with its exit code. */
export class ApiClient {
  constructor(
    private readonly connection: Connection,
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  get url(): string {
    return this.connection.url;
  }

  /** The `Authorization` header value (the websocket feed's upgrade takes the same bearer token). */
  authorization(): string {
    return `Bearer ${this.connection.token()}`;
  }

  async request<T>(method: 'GET' | 'POST' | 'DELETE', route: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (!opts.open) headers.authorization = `Bearer ${this.connection.token()}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.connection.url}${route}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? this.defaultTimeoutMs),
      });
    } catch (err) {
      throw new CliError(
        EXIT.UNAVAILABLE,
        `cannot reach wasync at ${this.connection.url}: ${networkReason(err)} (is it running? set --url or WASYNC_URL)`,
      );
    }
    const text = await res.text();
    const json = this.parse(method, route, res, text);
    if (!res.ok) throw this.failure(res, json);
    return json as T;
  }

  /**
   * A GET whose body is streamed to the caller (`export`): the timeout covers the answer's head only,
   * so a long download is never cut. Errors are mapped as for `request`.
   */
  async download(route: string, headTimeoutMs = this.defaultTimeoutMs): Promise<{ res: Response; body: ReadableStream<Uint8Array> }> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException('no answer in time', 'TimeoutError')), headTimeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.connection.url}${route}`, {
        headers: { authorization: `Bearer ${this.connection.token()}` },
        signal: abort.signal,
      });
    } catch (err) {
      throw new CliError(
        EXIT.UNAVAILABLE,
        `cannot reach wasync at ${this.connection.url}: ${networkReason(err)} (is it running? set --url or WASYNC_URL)`,
      );
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || !res.body) throw this.failure(res, this.parse('GET', route, res, await res.text()));
    return { res, body: res.body };
  }

  private parse(method: string, route: string, res: Response, text: string): unknown {
    try {
      return text === '' ? {} : JSON.parse(text);
    } catch {
      throw new CliError(
        EXIT.FAILED,
        `${method} ${route}: HTTP ${res.status} with a body that is not JSON (is ${this.connection.url} a wasync server?)`,
      );
    }
  }

  private failure(res: Response, json: unknown): CliError {
    const error = (json as ApiErrorBody).error;
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${res.status}`;
    const message = typeof error?.message === 'string' ? error.message : res.statusText;
    const hint = res.status === 401 ? ' (wrong token? it is in DATA_DIR/api-token unless API_TOKEN is set)' : '';
    return new CliError(exitCodeForStatus(res.status), `${code}: ${message}${hint}`);
  }
}

function networkReason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (cause?.code === 'ENOTFOUND') return 'unknown host';
  return cause?.message ?? (err instanceof Error ? err.message : String(err));
}
