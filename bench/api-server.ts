import { loadConfig } from '../src/config/index.js';
import { startApp } from '../src/app.js';
import { createNodeHttpServer } from './node-http-server.js';

/**
 * A wasync process for the API benchmark: the real app (supervisor, actor, simulated phone streaming
 * live messages), served by uWS or, for the baseline, by node:http with the same handlers.
 * `node dist/bench/api-server.js uws|node`; prints `READY <url>` when listening.
 */
const engine = process.argv[2] === 'node' ? 'node' : 'uws';
const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
const app = await startApp(loadConfig(env), { env, ...(engine === 'node' ? { serve: createNodeHttpServer } : {}) });
process.stdout.write(`READY ${app.url}\n`);
process.on('SIGTERM', () => {
  void app.shutdown().then(() => process.exit(0));
});
