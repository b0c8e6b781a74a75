import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import type { HttpDeps } from '../src/http/deps.js';
import { errorReply, replyForError, type Reply } from '../src/http/respond.js';
import { createRouter, decodeParams } from '../src/http/router.js';
import { ROUTES, authenticatorFor, type HttpServer } from '../src/http/server.js';

/**
 * The API benchmark's baseline: the same routes, router, auth and handlers as the uWS server, served
 * by node:http. Only GET routes are needed for the benchmark, so bodies are not read.
 */
export function createNodeHttpServer(deps: HttpDeps): HttpServer {
  const match = createRouter(ROUTES);
  const auth = authenticatorFor(deps);
  let draining = false;
  const write = (res: http.ServerResponse, reply: Reply): void => {
    if ('json' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.json));
    } else if ('stream' in reply) {
      res.writeHead(reply.status, { 'content-type': reply.contentType, ...reply.headers });
      pipeline(reply.stream, res, () => undefined);
    } else if ('bytes' in reply) {
      res.writeHead(reply.status, { 'content-type': reply.contentType, ...reply.headers });
      res.end(reply.bytes);
    } else {
      res.writeHead(reply.status, { 'content-type': reply.contentType, ...reply.headers });
      res.end(reply.text);
    }
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const found = match((req.method ?? 'GET').toLowerCase(), url.pathname);
    if (found.kind !== 'found') return write(res, errorReply(404, 'NOT_FOUND', 'no such route'));
    const route = found.route;
    const pending = (async (): Promise<Reply> => {
      const principal = route.open ? null : await auth.bearer(req.headers.authorization ?? '');
      if (!route.open && !principal) return errorReply(401, 'UNAUTHORIZED', 'missing or invalid bearer token');
      const params = decodeParams(found.rawParams);
      const input = found.route.checkInput(params, url.searchParams, undefined);
      return route.handler({
        deps,
        params,
        query: input.query,
        rawQuery: url.searchParams,
        body: input.body,
        headers: { range: req.headers.range ?? '', ifNoneMatch: req.headers['if-none-match'] ?? '', acceptEncoding: '' },
        principal,
      });
    })();
    pending.then(
      (reply) => write(res, reply),
      (err: unknown) => write(res, replyForError(err, deps.logger, found.route.pattern)),
    );
  });
  server.keepAliveTimeout = 60_000;
  return {
    listen(host, port) {
      return new Promise((resolve) => server.listen(port, host, () => resolve((server.address() as AddressInfo).port)));
    },
    close() {
      draining = true;
      server.close();
    },
    drain() {
      draining = true;
    },
    get draining() {
      return draining;
    },
    terminate() {
      server.closeAllConnections();
    },
  };
}
