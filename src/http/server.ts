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
import { createAuthenticator, type Authenticator } from './auth.js';
import { createFeedSocket, type FeedSocket } from './feed-socket.js';
import { DEFAULT_MAX_BODY_BYTES, type HttpDeps } from './deps.js';
import { forwardToOwner } from './forward.js';
import { checkContentLength, parseJsonBody, readBody, snapshotRequest } from './request.js';
import { errorReply, Responder, type Reply } from './respond.js';
import { createRouter, decodeParams, type Route } from './router.js';
import { accountRoutes } from './routes/accounts.js';
import { consoleRoutes } from './routes/console.js';
import { conversationRoutes } from './routes/conversations.js';
import { mediaRoutes } from './routes/media.js';
import { statusRoutes } from './routes/status.js';
import { defaultConsoleDir, loadStaticFiles } from './static-files.js';
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

export const ROUTES: readonly Route[] = [...statusRoutes, ...conversationRoutes, ...mediaRoutes, ...accountRoutes, ...feedRoutes];

/** The default lifetime of a websocket ticket when no feed configuration says otherwise. */
const DEFAULT_TICKET_TTL_MS = 30_000;

/** The server's authenticator: the feed's when it has one (tickets need the store), else one for bearer tokens. */
export function authenticatorFor(deps: HttpDeps): Authenticator {
  return (
    deps.feed?.auth ??
    createAuthenticator({
      apiToken: deps.apiToken,
      ticketTtlMs: DEFAULT_TICKET_TTL_MS,
      useOnce: (key, until) => deps.store.useOnce(key, until),
    })
  );
}

export function createHttpServer(deps: HttpDeps): HttpServer {
  const app = App();
  // The console's routes come last: the API's own routes always win a match.
  const match = createRouter([...ROUTES, ...consoleRoutes(loadStaticFiles(deps.consoleDir ?? defaultConsoleDir()))]);
  const auth = authenticatorFor(deps);
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
      if (draining) throw new WasyncError('SHUTTING_DOWN', 'server is shutting down');
      const found = match(snap.method, snap.path);
      const open = found.kind === 'found' ? found.route.open : found.kind === 'method-not-allowed' ? found.open : false;
      const principal = open ? null : auth.bearer(snap.authorization);
      // Unknown paths need the token too: without it, 404 vs 401 would map out the API to anyone.
      if (!open && !principal) throw new WasyncError('UNAUTHORIZED', 'missing or invalid bearer token');
      if (found.kind === 'not-found') {
        responder.send(errorReply(404, 'NOT_FOUND', 'no such route'));
        return;
      }
      if (found.kind === 'method-not-allowed') {
        responder.send(errorReply(405, 'METHOD_NOT_ALLOWED', `use ${found.allow}`, { allow: found.allow }));
        return;
      }
      const { route } = found;
      routeName = `${route.method.toUpperCase()} ${route.pattern}`;
      const params = decodeParams(found.rawParams);
      const query = new URLSearchParams(snap.query);
      const headers = { range: snap.range, ifNoneMatch: snap.ifNoneMatch, acceptEncoding: snap.acceptEncoding };
      let pending: Promise<Reply>;
      let rawBody: Buffer | null = null;
      if (route.body) {
        checkContentLength(snap.contentLength, maxBodyBytes);
        pending = readBody(responder, maxBodyBytes).then((raw) => {
          rawBody = raw;
          return route.handler({ deps, params, query, body: parseJsonBody(raw), headers, principal });
        });
      } else {
        pending = route.handler({ deps, params, query, body: undefined, headers, principal });
      }
      // A command for an account another instance owns goes there (src/http/forward.ts).
      pending = pending.catch((err: unknown) => {
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
