import http from 'node:http';
import type { HttpDeps } from './deps.js';
import type { Reply } from './respond.js';
import { statusRoutes } from './routes/status.js';

/**
 * `HEALTH_PORT`: `/health` and `/ready` on a second, plain node:http listener. uWebSockets.js 20 answers
 * every HTTP/1.0 request with a fixed 505 (compiled into the binary, no option), and some load
 * balancers' health checks speak HTTP/1.0 (README, Health). Only the two open probes are served here:
 * no token, no account data.
 */
export function startHealthListener(deps: HttpDeps, host: string, port: number): Promise<{ port: number; close: () => Promise<void> }> {
  const routes = new Map(
    statusRoutes.filter((r) => r.open && (r.pattern === '/health' || r.pattern === '/ready')).map((r) => [r.pattern, r]),
  );
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = req.method === 'GET' || req.method === 'HEAD' ? routes.get(path) : undefined;
    const answer = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'content-length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (!route) {
      answer(404, { success: false, error: { code: 'NOT_FOUND', message: 'only /health and /ready are served on this port' } });
      return;
    }
    route
      .handler({ deps, params: {}, query: {}, rawQuery: new URLSearchParams(), body: undefined, headers: { range: '' }, principal: null })
      .then(
        (reply: Reply) => answer(reply.status, 'json' in reply ? reply.json : {}),
        () => answer(503, { status: 'error' }),
      );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
