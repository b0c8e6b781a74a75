import {
  App,
  us_listen_socket_close,
  us_socket_local_port,
  type HttpRequest,
  type HttpResponse,
  type us_listen_socket,
  type us_socket,
} from 'uWebSockets.js';
import { OwnedElsewhereError, WasyncError } from '../domain/errors.js';
import { authorize } from './access.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import { createCors } from './cors.js';
import { createFeedSocket, type FeedSocket } from './feed-socket.js';
import { DEFAULT_MAX_BODY_BYTES, type HttpDeps } from './deps.js';
import { forwardToOwner } from './forward.js';
import { checkContentLength, parseJsonBody, readBody, snapshotRequest } from './request.js';
import { errorReply, Responder, type Reply } from './respond.js';
import { createRouter, decodeParams, type AccountRule, type Route } from './router.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { accountRoutes } from './routes/accounts.js';
import { consoleRoutes } from './routes/console.js';
import { conversationRoutes } from './routes/conversations.js';
import { docsRoutes } from './routes/docs.js';
import { exportRoutes } from './routes/export.js';
import { mediaRoutes } from './routes/media.js';
import { statusRoutes } from './routes/status.js';
import { defaultConsoleDir, loadStaticFiles, type StaticFiles } from './static-files.js';
import { feedRoutes } from './routes/feed.js';

export interface HttpServer {
  /** Resolves with the port actually bound (pass 0 for an ephemeral one). */
  listen(host: string, port: number): Promise<number>;
  /**
   * Shutdown step one: stop accepting connections and answer every further request on connections
   * still open (keep-alive) with 503 SHUTTING_DOWN.
   */
  close(): void;
  /** Answer new requests with 503 SHUTTING_DOWN while still listening (e.g. to drain a load balancer first). */
  drain(): void;
  readonly draining: boolean;
  /** Shutdown's last step: drops every open connection, in-flight responses included. */
  terminate(): void;
}

export const ROUTES: readonly Route[] = [
  ...statusRoutes,
  ...conversationRoutes,
  ...exportRoutes,
  ...mediaRoutes,
  ...accountRoutes,
  ...apiKeyRoutes,
  ...feedRoutes,
];

/**
 * Every route this server answers: the API's, the OpenAPI document and its page, then the console's
 * (last: the API's own routes always win a match). The OpenAPI document is built from this same table.
 */
export function routeTable(consoleFiles: StaticFiles): Route[] {
  const table: Route[] = [];
  table.push(...ROUTES, ...docsRoutes(() => table), ...consoleRoutes(consoleFiles));
  return table;
}

/** The account a request names, by its route's rule (README, API keys): null when it names none. */
function accountOf(rule: AccountRule, params: Readonly<Record<string, string>>): string | null {
  if (rule === 'param') return params.accountId ?? null;
  return null;
}

function bodyAccountId(body: unknown): string | null {
  if (body && typeof body === 'object' && 'accountId' in body && typeof body.accountId === 'string') return body.accountId;
  return null;
}

/** The default lifetime of a websocket ticket when no feed configuration says otherwise. */
const DEFAULT_TICKET_TTL_MS = 30_000;

/** The server's authenticator: the feed's when it has one (tickets need the store), else one for bearer tokens. */
export function authenticatorFor(deps: HttpDeps): Authenticator {
  return (
    deps.feed?.auth ??
    createAuthenticator({
      apiToken: deps.apiToken,
      keys: deps.apiKeys ?? null,
      ticketTtlMs: DEFAULT_TICKET_TTL_MS,
      useOnce: (key, until) => deps.store.useOnce(key, until),
    })
  );
}

export function createHttpServer(deps: HttpDeps): HttpServer {
  const app = App();
  const match = createRouter(routeTable(loadStaticFiles(deps.consoleDir ?? defaultConsoleDir())));
  const auth = authenticatorFor(deps);
  const cors = createCors(deps.corsOrigins ?? []);
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger = deps.logger.child({ component: 'http' });
  let listenSocket: us_listen_socket | null = null;
  let draining = false;

  /**
   * The one entry point. Synchronous part, in this order: abort handler (inside `Responder`), copy of the
   * request, then every check that can answer at once. Only then does anything asynchronous start, and
   * its outcome (value or error) always ends in exactly one `send`, or in silence after an abort.
   */
  function onRequest(res: HttpResponse, req: HttpRequest): void {
    const started = performance.now();
    let routeName = 'unmatched';
    let method = '';
    const responder = new Responder(res, logger, (status) => {
      const seconds = (performance.now() - started) / 1000;
      deps.metrics?.observeHttp?.(routeName, method, status, seconds);
      logger.debug({ route: routeName, method, status, ms: Math.round(seconds * 1000) }, 'request');
    });
    try {
      const snap = snapshotRequest(req);
      method = snap.method;
      const corsHeaders = cors.headersFor(snap.origin);
      if (corsHeaders) responder.setExtraHeaders(corsHeaders);
      if (draining) throw new WasyncError('SHUTTING_DOWN', 'server is shutting down');
      const found = match(snap.method, snap.path);
      // A CORS preflight carries no token by design: it is answered from the route table alone.
      if (snap.method === 'options' && cors.enabled && snap.origin !== '' && snap.accessControlRequestMethod !== '') {
        routeName = 'OPTIONS preflight';
        responder.send(cors.preflight(snap.origin, found.kind === 'not-found' ? null : allowedMethods(snap.path)));
        return;
      }
      const open = found.kind === 'found' ? found.route.open : found.kind === 'method-not-allowed' ? found.open : false;
      // The body handler must be attached before this callback returns (uWS drops data that arrives with none).
      const route = found.kind === 'found' ? found.route : null;
      const body = route?.body ? readBody(responder, maxBodyBytes) : null;
      body?.catch(() => undefined);
      if (route) routeName = `${route.method.toUpperCase()} ${route.pattern}`;
      let rawBody: Buffer | null = null;
      const pending = (async (): Promise<Reply> => {
        // Unknown paths need a valid token too: without it, 404 vs 401 would map out the API to anyone.
        const principal = open ? null : await auth.bearer(snap.authorization);
        if (!open && !principal) throw new WasyncError('UNAUTHORIZED', 'missing or invalid bearer token');
        if (found.kind === 'not-found') return errorReply(404, 'NOT_FOUND', 'no such route');
        if (found.kind === 'method-not-allowed') return errorReply(405, 'METHOD_NOT_ALLOWED', `use ${found.allow}`, { allow: found.allow });
        const r = found.route;
        const params = decodeParams(found.rawParams);
        // `filter` routes show only the key's accounts: the scope is all they check here.
        if (principal && r.scope && r.account === 'filter') authorize({ ...principal, accounts: null }, r.scope, null);
        else if (principal && r.scope && r.account !== 'body') authorize(principal, r.scope, accountOf(r.account, params));
        const rawQuery = new URLSearchParams(snap.query);
        const headers = { range: snap.range, ifNoneMatch: snap.ifNoneMatch, acceptEncoding: snap.acceptEncoding };
        let parsed: unknown;
        if (body !== null) {
          checkContentLength(snap.contentLength, maxBodyBytes);
          rawBody = await body;
          parsed = parseJsonBody(rawBody);
          if (principal && r.scope && r.account === 'body') authorize(principal, r.scope, bodyAccountId(parsed));
        }
        // Parameters, query and body are checked against the route's schema before the handler runs.
        const input = r.checkInput(params, rawQuery, parsed);
        return r.handler({ deps, params, query: input.query, rawQuery, body: input.body, headers, principal });
      })().catch((err: unknown) => {
        // A command for an account another instance owns goes there (src/http/forward.ts) with the
        // caller's own Authorization header: the owner authenticates and validates it once more itself
        // (the fleet shares the store, so its API keys); this instance has validated the input already.
        if (!(err instanceof OwnedElsewhereError)) throw err;
        return forwardToOwner(err, { ...snap, body: rawBody }, { forwarding: deps.forwarding, instanceId: deps.instanceId, logger });
      });
      pending
        .then(
          (reply) => responder.send(reply),
          (err: unknown) => responder.fail(err, routeName),
        )
        // `send` itself can throw (a reply JSON cannot encode): that still gets an answer.
        .catch((err: unknown) => responder.fail(err, routeName))
        .catch((err: unknown) => logger.error({ err }, 'could not answer a request'));
    } catch (err) {
      try {
        responder.fail(err, routeName);
      } catch (failure) {
        // Nothing left to answer with; the abort handler is in place, so uWS lets the request time out.
        logger.error({ err: failure }, 'could not answer a request');
      }
    }
  }

  /** Every method a path answers to (a preflight's `Access-Control-Allow-Methods`). */
  function allowedMethods(path: string): string[] {
    const out: string[] = [];
    for (const m of ['get', 'post', 'delete'] as const) if (match(m, path).kind === 'found') out.push(m.toUpperCase());
    return out;
  }

  // The websocket feed, registered before the catch-all: uWS routes the upgrade here, and a plain
  // request to the same path falls through to the router (which answers 404 for it).
  let feedSocket: FeedSocket | null = null;
  if (deps.feed) {
    const feed = deps.feed;
    feedSocket = createFeedSocket({
      hub: feed.hub,
      auth,
      logger: deps.logger.child({ component: 'feed' }),
      maxBufferedBytes: feed.maxBufferedBytes,
      idleTimeoutSeconds: feed.idleTimeoutSeconds,
      accountExists: async (id) => (await deps.store.getAccount(id)) !== null,
      draining: () => draining,
      ...(feed.metrics ? { metrics: feed.metrics } : {}),
    });
    app.ws('/api/whatsapp/ws', feedSocket.behavior);
  }
  app.any('/*', onRequest);

  return {
    listen(host, port) {
      return new Promise<number>((resolve, reject) => {
        app.listen(host, port, (socket) => {
          if (!socket) {
            reject(new Error(`cannot listen on ${host}:${port}`));
            return;
          }
          listenSocket = socket;
          // uWS types the port lookup for sockets only, but it reads listen sockets the same way.
          const bound = us_socket_local_port(socket as unknown as us_socket);
          logger.info({ host, port: bound }, 'http listening');
          resolve(bound);
        });
      });
    },
    close() {
      draining = true;
      if (listenSocket) {
        us_listen_socket_close(listenSocket);
        listenSocket = null;
      }
      feedSocket?.closeAll();
    },
    drain() {
      draining = true;
    },
    get draining() {
      return draining;
    },
    terminate() {
      draining = true;
      listenSocket = null;
      app.close();
    },
  };
}
