import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, NotFoundError, WasyncError } from '../../src/domain/errors.js';
import type { AccountRecord, MediaRef, MessageRecord } from '../../src/domain/records.js';
import { threadIdOf } from '../../src/domain/records.js';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import { inlineReads } from '../../src/http/conversation-reads.js';
import { pooledReads } from '../../src/http/read-pool.js';
import { cachedReads, type CachedReads, type ReadCacheResult } from '../../src/http/read-cache.js';
import type { HttpDeps, HttpMetrics } from '../../src/http/deps.js';
import type { Store } from '../../src/store/port.js';
import { pino } from 'pino';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { openStoredMedia } from '../../src/supervisor/media.js';
import type {
  AccountRuntime,
  AccountsService,
  AccountView,
  FleetView,
  MediaRange,
  MediaStream,
  QrView,
  SendInput,
  SendResult,
} from '../../src/supervisor/service.js';
import { checkResponse } from '../support/api-contract.js';
import { makeMessage } from '../support/records.js';

export const TOKEN = 'test-token-0123456789';
export const AUTH = { authorization: `Bearer ${TOKEN}` } as const;

/**
 * An AccountsService for route tests only: it keeps accounts in the real store and answers the rest
 * from memory, so the tests exercise routing, validation and error mapping without actors or WhatsApp.
 * The real supervisor has its own end-to-end tests.
 */
export class StoreBackedAccounts implements AccountsService {
  readonly runtimes = new Map<string, AccountRuntime>();
  readonly calls: Array<{ op: string; args: unknown[] }> = [];
  /** The next call of any operation throws this (error-mapping tests). */
  failNext: Error | null = null;
  /** When set, `send` waits for it (abort-while-pending tests). */
  sendGate: Promise<void> | null = null;
  /**
   * What `openMedia` asks for a re-upload of expired media: the accounts service proxies this to the
   * actor, which asks its phone; media tests put a phone double here. Unset, a re-upload fails as with
   * a disconnected account.
   */
  mediaReupload: ((record: MessageRecord) => Promise<MediaRef>) | null = null;
  /** The stream the last `openMedia` handed out (abort tests check it was destroyed). */
  lastMediaStream: Readable | null = null;

  constructor(private readonly store: SqliteStore) {}

  private enter(op: string, ...args: unknown[]): void {
    this.calls.push({ op, args });
    const err = this.failNext;
    if (err) {
      this.failNext = null;
      throw err;
    }
  }

  private runtime(accountId: string): AccountRuntime {
    return (
      this.runtimes.get(accountId) ?? {
        actor: 'running',
        connection: 'open',
        reason: null,
        restarts: 0,
        qrAvailable: false,
        pendingWrites: 0,
        me: null,
      }
    );
  }

  private async account(accountId: string): Promise<AccountRecord> {
    const account = await this.store.getAccount(accountId);
    if (!account) throw new NotFoundError(`account ${accountId} not found`);
    return account;
  }

  async list(): Promise<AccountView[]> {
    this.enter('list');
    const accounts = await this.store.listAccounts();
    return accounts.map((account) => ({ account, runtime: this.runtime(account.id) }));
  }

  async get(accountId: string): Promise<AccountView> {
    this.enter('get', accountId);
    return { account: await this.account(accountId), runtime: this.runtime(accountId) };
  }

  async create(input: { accountId?: string }): Promise<AccountView> {
    this.enter('create', input);
    const id = input.accountId ?? `account_test_${Math.random().toString(36).slice(2, 10)}`;
    const account = await this.store.createAccount({ id, status: 'created' });
    return { account, runtime: this.runtime(id) };
  }

  async remove(accountId: string, opts: { purge: boolean }): Promise<void> {
    this.enter('remove', accountId, opts);
    await this.account(accountId);
    await this.store.deleteAccount(accountId, opts);
  }

  private async qr(accountId: string): Promise<QrView> {
    await this.account(accountId);
    return { accountId, connection: 'qr', qr: `2@test-qr-${accountId}`, qrDataUrl: 'data:image/png;base64,iVBORw0KGgo=' };
  }

  async regenerateQr(accountId: string): Promise<QrView> {
    this.enter('regenerateQr', accountId);
    return this.qr(accountId);
  }

  async getQr(accountId: string): Promise<QrView> {
    this.enter('getQr', accountId);
    return this.qr(accountId);
  }

  async requestPairingCode(accountId: string, phoneNumber: string): Promise<{ code: string }> {
    this.enter('requestPairingCode', accountId, phoneNumber);
    await this.account(accountId);
    return { code: 'ABCD-1234' };
  }

  async send(input: SendInput): Promise<SendResult> {
    this.enter('send', input);
    await this.account(input.accountId);
    if (this.sendGate !== null) await this.sendGate;
    if (this.runtime(input.accountId).connection !== 'open') throw new WasyncError('NOT_CONNECTED', 'account is not connected');
    const clientJid = input.to.includes('@') ? input.to : `${input.to.replace(/^\+/, '')}@s.whatsapp.net`;
    const messageId = input.messageId ?? `OUT${Date.now()}${Math.random().toString(36).slice(2, 6)}`.toUpperCase();
    if (input.messageId && (await this.store.getMessage(input.accountId, input.messageId))) {
      throw new ConflictError(`message ${input.messageId} was already sent`);
    }
    await this.store.applyMutations(input.accountId, [
      {
        kind: 'message',
        record: makeMessage({
          id: messageId,
          accountId: input.accountId,
          clientJid,
          direction: 'outbound',
          body: input.text,
          status: 'queued',
          syncSource: 'outbound_api',
          createdAt: Date.now(),
        }),
      },
    ]);
    return { messageId, threadId: threadIdOf(input.accountId, clientJid), clientJid, status: 'queued' };
  }

  async startBackfill(accountId: string): Promise<void> {
    this.enter('startBackfill', accountId);
    await this.account(accountId);
  }

  /** The accounts service's own media path (`openStoredMedia`), with `mediaReupload` in place of the actor. */
  async openMedia(accountId: string, messageId: string, range?: MediaRange): Promise<MediaStream> {
    this.enter('openMedia', accountId, messageId, range);
    const disconnected = async (): Promise<MediaRef> => {
      throw new WasyncError('NOT_CONNECTED', 'account is not connected');
    };
    const media = await openStoredMedia({
      store: this.store,
      logger: pino({ level: 'silent' }),
      accountId,
      messageId,
      range,
      defaultConnector: 'baileys',
      reupload: this.mediaReupload ?? disconnected,
    });
    this.lastMediaStream = media.stream;
    return media;
  }

  /** One instance owning every account: what a single process reports. */
  async instances(): Promise<FleetView> {
    this.enter('instances');
    const accounts = await this.store.listAccounts();
    const now = Date.now();
    return {
      self: 'harness',
      mode: 'active',
      leaseMs: 30_000,
      tickMs: 5_000,
      instances: [
        {
          instanceId: 'harness',
          url: null,
          mode: 'active',
          state: 'running',
          alive: true,
          self: true,
          startedAt: now,
          heartbeatAt: now,
          heartbeatAgeMs: 0,
          maxAccounts: 0,
          accounts: accounts.map((a) => ({
            accountId: a.id,
            epoch: 1,
            acquiredAt: now,
            until: now + 30_000,
            leaseAgeMs: 0,
            expiresInMs: 30_000,
          })),
        },
      ],
      unowned: [],
      parked: [],
    };
  }
}

export interface Harness {
  base: string;
  port: number;
  store: SqliteStore;
  accounts: StoreBackedAccounts;
  server: HttpServer;
  /** The list reads as served: the response cache (src/http/read-cache.ts) in front of inline or pooled reads. */
  reads: CachedReads;
  /** How each list read was answered by the cache, in order. */
  cacheResults: ReadCacheResult[];
  observed: Array<{ route: string; method: string; status: number }>;
  /** Warn-and-above log lines the server wrote. */
  logs: Array<{ level: number; msg: string }>;
  /** Log lines at error level or above: a correct server writes none for anything a client can send. */
  errors(): Array<{ level: number; msg: string }>;
  stop(): Promise<void>;
}

export interface HarnessOptions extends Partial<Omit<HttpDeps, 'store'>> {
  withMetrics?: boolean;
  /** Serve through a wrapper of the harness's own store (health-report tests). */
  wrapStore?: (store: SqliteStore) => Store;
  /** Serve the list endpoints through the piscina read pool instead of inline. */
  pooled?: boolean;
  /** Bytes of the list endpoints' response cache, as the app has it by default (0: off). Default 8 MiB. */
  readCacheBytes?: number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'wasync-http-'));
  const store = openSqliteStore({ file: join(dir, 'wasync.db') });
  await store.init();
  const accounts = new StoreBackedAccounts(store);
  const observed: Harness['observed'] = [];
  const metrics: HttpMetrics = {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    render: async () => '# HELP wasync_up test\nwasync_up 1\n',
    observeHttp: (route, method, status) => observed.push({ route, method, status }),
  };
  const logs: Harness['logs'] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const { withMetrics = true, wrapStore, pooled = false, readCacheBytes = 8 * 1024 * 1024, ...rest } = options;
  const served = wrapStore ? wrapStore(store) : store;
  // The pool opens the same file through openStore: DATA_DIR/wasync.db.
  const storeReads = pooled ? pooledReads({ STORE: 'sqlite', DATA_DIR: dir, LOG_LEVEL: 'warn' }, 2) : inlineReads(served);
  // The cache in front, as src/app.ts wires it: every route test also checks that it never serves a stale page.
  const cacheResults: ReadCacheResult[] = [];
  const reads = cachedReads(storeReads, {
    maxBytes: readCacheBytes,
    changeToken: served.changeToken ? () => served.changeToken!() : null,
    onResult: (result) => cacheResults.push(result),
  });
  const server = createHttpServer({
    store: served,
    reads,
    accounts,
    apiToken: TOKEN,
    logger,
    instanceId: 'test-instance',
    mode: () => 'active',
    ...(withMetrics ? { metrics } : {}),
    ...rest,
  });
  const port = await server.listen('127.0.0.1', 0);
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    store,
    accounts,
    server,
    reads,
    cacheResults,
    observed,
    logs,
    errors: () => logs.filter((l) => l.level >= 50),
    async stop() {
      server.close();
      server.terminate();
      await reads.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** fetch with a deadline: a route that never answers fails the test instead of hanging it. */
export async function call(
  base: string,
  path: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    auth?: boolean;
    /** False only for answers the route cannot give for real (an error injected into the service double). */
    contract?: boolean;
  } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...(init.auth === false ? {} : AUTH), ...init.headers };
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  const body: unknown = contentType.startsWith('application/json') && text !== '' ? JSON.parse(text) : text;
  if (init.contract !== false) checkResponse({ method: init.method ?? 'GET', path, status: res.status, contentType, body });
  return { status: res.status, headers: res.headers, body };
}

export interface RawResponse {
  status: number;
  head: string;
  body: string;
  /** The server closed the connection after answering. */
  closed: boolean;
}

/**
 * One request over a raw TCP socket: for what fetch would normalise or refuse (`..` segments, bad
 * escapes, lying Content-Length). Resolves on the first complete response or when the server closes.
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  opts: { timeoutMs?: number /** Resolve only once the server closes the connection. */; untilClose?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('raw request timed out'));
    }, opts.timeoutMs ?? 5_000);
    const finish = (closed: boolean): void => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return;
      const head = text.slice(0, split);
      const body = text.slice(split + 4);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!closed && (opts.untilClose || (length && Buffer.byteLength(body, 'latin1') < Number(length[1])))) return;
      clearTimeout(timer);
      socket.destroy();
      const status = Number(head.split(' ')[1]);
      try {
        checkRawResponse(request, status, head, body);
      } catch (err) {
        reject(err);
        return;
      }
      resolve({ status, head, body, closed });
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      finish(false);
    });
    socket.on('close', () => {
      finish(true);
      clearTimeout(timer);
      reject(new Error('connection closed without a response'));
    });
    socket.on('error', () => undefined);
    socket.write(request);
  });
}

/**
 * The response contract (test/support/api-contract.ts) for a raw exchange: the method and path from the
 * request line; the body when it came whole (`Content-Length`; chunked media bodies are left alone).
 */
function checkRawResponse(request: string | Buffer, status: number, head: string, body: string): void {
  const [method = '', path = ''] = Buffer.from(request).toString('latin1').split('\r\n', 1)[0]!.split(' ');
  const contentType = /\r\ncontent-type: *([^\r\n]*)/i.exec(head)?.[1] ?? '';
  const whole = /\r\ncontent-length: *\d+/i.test(head);
  // A 304 carries the page's tag and no body (no content type either).
  const json = contentType.startsWith('application/json') && whole && body.length > 0;
  checkResponse({
    method,
    path,
    status,
    contentType,
    body: json ? (JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) as unknown) : body,
  });
}

export function get(path: string, headers: Record<string, string> = AUTH): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `GET ${path} HTTP/1.1\r\nhost: localhost\r\n${lines.join('')}\r\n`;
}

export interface ErrorBody {
  success: false;
  error: { code: string; message: string };
}

export function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  const e = b.error as Record<string, unknown> | undefined;
  return b.success === false && typeof e === 'object' && e !== null && typeof e.code === 'string' && typeof e.message === 'string';
}
