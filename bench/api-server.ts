import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config/index.js';
import { startApp } from '../src/app.js';
import { createNodeHttpServer } from './node-http-server.js';

/**
 * A wasync process for the API and footprint benchmarks: the real app (supervisor, actors, simulated
 * phone streaming live messages), served by uWS or, for the baseline, by node:http with the same handlers.
 * `node dist/bench/api-server.js uws|node`; prints `READY <url>` when listening. On stdin it answers
 * `eld-reset` (restart the main thread's event-loop delay histogram) and `eld` (prints `ELD <json>`
 * with its percentiles in ms), so a benchmark can measure the main thread's delay over a window.
 */
const engine = process.argv[2] === 'node' ? 'node' : 'uws';
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
const app = await startApp(loadConfig(env), { env, ...(engine === 'node' ? { serve: createNodeHttpServer } : {}) });
process.stdout.write(`READY ${app.url}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'eld-reset') eld.reset();
  if (line === 'eld') {
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    const out = { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max), mean: ms(eld.mean) };
    process.stdout.write(`ELD ${JSON.stringify(out)}\n`);
  }
});
process.on('SIGTERM', () => {
  void app.shutdown().then(() => process.exit(0));
});
