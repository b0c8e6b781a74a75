import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { API_MESSAGE_COLUMNS } from '../src/store/sqlite/row-mapping.js';
import { countStoredMessages, startBenchServer } from './bench-server.js';

export interface ApiRun {
  engine: 'uws' | 'node';
  /** `this` build or the `before` build (BENCH_BASE_DIR: the same benchmark built from the base commit). */
  build: 'this' | 'before';
  /** Offered load in req/s (autocannon's overallRate), or null for saturation (every connection back to back). */
  rate: number | null;
  label: string;
  path: string;
  readPoolThreads: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** Live messages the simulated phone got stored per second during the load (shows it was streaming). */
  liveMessagesPerSec: number;
  /**
   * Server CPU time per request (ms): the server process's CPU time during the load less what it spent
   * per second streaming alone just before, over the requests served. Unlike req/s it hardly moves with
   * what else runs on a shared machine.
   */
  cpuMsPerRequest: number;
}

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat; the split above starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface ApiBenchResult {
  runs: ApiRun[];
  /** This build / the base commit's on GET …/messages at saturation (null without BENCH_BASE_DIR). */
  beforeRatio: number | null;
  /** The same with every request asking another page (the miss path; null without BENCH_BASE_DIR). */
  distinctBeforeRatio: number | null;
  /** p99 (ms) of this build and of the base commit at 500 req/s offered (the latter null without BENCH_BASE_DIR). */
  p99At500: { mine: number; before: number | null; ready: number };
  /** Base commit's server CPU per request / this build's (null without BENCH_BASE_DIR). */
  beforeCpuRatio: number | null;
  /** Server CPU per request of the limit (1 / limitPerCore) / this build's: how close a request gets to it. */
  cpuLimitRatio: number;
  /** The practical limit: the bare prepared SELECT of the same page + JSON.stringify, pages/s on one core. */
  limitPerCore: number;
  /** GET …/messages at saturation (uWS, read pool) / the practical limit on one core. */
  limitRatio: number;
  /** uWS / node:http on GET …/messages, the figure. */
  ratio: number;
  /** uWS / node:http on GET /ready: the HTTP layer alone, without a store read. */
  readyRatio: number;
  /** uWS with the read pool / uWS reading inline, on GET …/messages. */
  poolRatio: number;
  connections: number;
  durationSec: number;
}

const TOKEN = 'bench-token-0123456789abcdef';

function startServer(
  engine: 'uws' | 'node',
  dataDir: string,
  rate: number,
  readPoolThreads: number,
  build: 'this' | 'before',
): Promise<{ child: ChildProcess; url: string }> {
  const entry =
    build === 'before'
      ? path.join(process.env.BENCH_BASE_DIR!, 'dist/bench/api-server.js')
      : new URL('./api-server.js', import.meta.url).pathname;
  return startBenchServer({ entry, engine, dataDir, token: TOKEN, rate, messagesPerChat: 200, readPoolThreads });
}

async function get(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  return res.json();
}

interface RunSpec {
  label: string;
  engine: 'uws' | 'node';
  route: 'messages' | 'ready';
  /**
   * `same`: every request asks the same page (an inbox app polling its open chat: the response cache's
   * case). `distinct`: the requests rotate over 500 pages (50 chats × limits 46–55), so nearly every
   * one is a read (the miss path). Default `same`.
   */
  pages?: 'same' | 'distinct';
  readPoolThreads: number;
  build?: 'this' | 'before';
  /** Offered load (req/s over all connections); absent: saturation. */
  rate?: number;
  /** Measure the practical limit on this run's data, after the load. */
  limit?: boolean;
}

/**
 * The practical limit of the read path: the bare prepared SELECT of the same page (the columns the
 * API returns) + JSON.stringify of the rows, in a loop on this thread (one core) for `ms`.
 */
function pageLimitPerCore(dataDir: string, threadId: string, ms: number): number {
  const db = new Database(path.join(dataDir, 'wasync.db'), { readonly: true, fileMustExist: true });
  try {
    const st = db.prepare(
      `SELECT ${API_MESSAGE_COLUMNS.join(', ')} FROM messages WHERE thread_id = ? AND account_id = ?
       ORDER BY created_at DESC, id DESC LIMIT ?`,
    );
    for (let i = 0; i < 200; i++) JSON.stringify(st.all(threadId, 'demo', 51));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms) {
      JSON.stringify(st.all(threadId, 'demo', 51));
      n++;
    }
    // Per core: CPU time, not wall time, so other load on the machine does not count against it.
    const cpu = process.cpuUsage(cpu0);
    return n / ((cpu.user + cpu.system) / 1e6);
  } finally {
    db.close();
  }
}

async function runOne(
  spec: RunSpec,
  connections: number,
  durationSec: number,
  rate: number,
): Promise<ApiRun & { limitPerCore: number | null }> {
  const { engine } = spec;
  const build = spec.build ?? 'this';
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `wasync-api-${engine}-`));
  const { child, url } = await startServer(engine, dataDir, rate, spec.readPoolThreads, build);
  try {
    // Let the history sync land (10,000 messages) before measuring.
    let threadId = '';
    for (let i = 0; i < 200; i++) {
      const j = (await get(`${url}/api/whatsapp/threads/demo?limit=1`)) as { threads?: Array<{ id: string }> };
      if (countStoredMessages(dataDir) >= 10_000 && j.threads?.[0]) {
        threadId = j.threads[0].id;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!threadId) throw new Error('history sync did not land');
    const routePath = spec.route === 'ready' ? '/ready' : `/api/whatsapp/messages/demo/${encodeURIComponent(threadId)}?limit=50`;
    const target = `${url}${routePath}`;
    // Distinct pages: every chat's newest page, at ten limits around 50, each request the next one.
    let requests: autocannon.Request[] | undefined;
    if (spec.pages === 'distinct') {
      const all = (await get(`${url}/api/whatsapp/threads/demo?limit=50`)) as { threads: Array<{ id: string }> };
      const paths = all.threads.flatMap((t) =>
        Array.from({ length: 10 }, (_, i) => `/api/whatsapp/messages/demo/${encodeURIComponent(t.id)}?limit=${46 + i}`),
      );
      let next = 0;
      requests = [
        {
          setupRequest: (req) => {
            req.path = paths[next++ % paths.length]!;
            return req;
          },
        },
      ];
    }
    const load = requests ? { requests } : {};
    await autocannon({ url: target, connections: 8, duration: 1, headers: { authorization: `Bearer ${TOKEN}` }, ...load }); // warm-up
    // What streaming alone costs the server per second, measured just before the load.
    const idle0 = cpuSeconds(child.pid!);
    const idleStarted = Date.now();
    await new Promise((r) => setTimeout(r, 3_000));
    const idleCpuPerSec = (cpuSeconds(child.pid!) - idle0) / ((Date.now() - idleStarted) / 1000);
    const before = countStoredMessages(dataDir);
    const started = Date.now();
    const cpu0 = cpuSeconds(child.pid!);
    const result = await autocannon({
      url: target,
      connections,
      duration: durationSec,
      headers: { authorization: `Bearer ${TOKEN}` },
      ...(spec.rate ? { overallRate: spec.rate } : {}),
      ...load,
    });
    const elapsed = (Date.now() - started) / 1000;
    const cpuForRequests = cpuSeconds(child.pid!) - cpu0 - idleCpuPerSec * elapsed;
    const liveMessagesPerSec = (countStoredMessages(dataDir) - before) / elapsed;
    return {
      engine,
      build,
      rate: spec.rate ?? null,
      limitPerCore: spec.limit ? pageLimitPerCore(dataDir, threadId, 3_000) : null,
      label: spec.label,
      path:
        spec.route === 'ready'
          ? 'GET /ready'
          : spec.pages === 'distinct'
            ? 'GET …/messages, 500 distinct pages'
            : 'GET …/messages?limit=50',
      readPoolThreads: spec.readPoolThreads,
      requestsPerSec: result.requests.average,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.errors,
      non2xx: result.non2xx,
      liveMessagesPerSec,
      cpuMsPerRequest: (cpuForRequests * 1000) / Math.max(1, result.requests.total),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchApi(opts: { connections: number; durationSec: number; rate: number }): Promise<ApiBenchResult> {
  const base = process.env.BENCH_BASE_DIR;
  const messages = (label: string, extra: Partial<RunSpec> = {}): RunSpec => ({
    label,
    engine: 'uws',
    route: 'messages',
    readPoolThreads: 2,
    ...extra,
  });
  // This build and the base commit alternate, so drift on the machine hits both alike.
  const specs: RunSpec[] = [
    messages('uWebSockets.js, read pool 2', { limit: true }),
    ...(base ? [messages('before (base commit), uWS, read pool 2', { build: 'before' })] : []),
    messages('uWebSockets.js, read pool 2, 500 req/s offered', { rate: 500 }),
    ...(base ? [messages('before (base commit), uWS, read pool 2, 500 req/s offered', { build: 'before', rate: 500 })] : []),
    messages('uWebSockets.js, read pool 2, distinct pages', { pages: 'distinct' }),
    ...(base ? [messages('before (base commit), uWS, read pool 2, distinct pages', { build: 'before', pages: 'distinct' })] : []),
    messages('node:http (same handlers), read pool 2', { engine: 'node' }),
    messages('uWebSockets.js, reads inline', { readPoolThreads: 0 }),
    { label: 'uWebSockets.js', engine: 'uws', route: 'ready', readPoolThreads: 2 },
    { label: 'node:http (same handlers)', engine: 'node', route: 'ready', readPoolThreads: 2 },
    // The floor of the p99 at 500 req/s on this machine at this time: the same load on a route that reads nothing.
    { label: 'uWebSockets.js, 500 req/s offered', engine: 'uws', route: 'ready', readPoolThreads: 2, rate: 500 },
  ];
  const runs: Array<ApiRun & { limitPerCore: number | null }> = [];
  for (const spec of specs) runs.push(await runOne(spec, opts.connections, opts.durationSec, opts.rate));
  const find = (label: string): ApiRun => runs.find((r) => r.label === label)!;
  const rps = (label: string): number => find(label).requestsPerSec;
  const limitPerCore = runs[0]!.limitPerCore ?? 0;
  const mine = 'uWebSockets.js, read pool 2';
  const before = 'before (base commit), uWS, read pool 2';
  return {
    runs,
    ratio: rps(mine) / rps('node:http (same handlers), read pool 2'),
    readyRatio: rps('uWebSockets.js') / rps('node:http (same handlers)'),
    poolRatio: rps(mine) / rps('uWebSockets.js, reads inline'),
    beforeRatio: base ? rps(mine) / rps(before) : null,
    distinctBeforeRatio: base ? rps(`${mine}, distinct pages`) / rps(`${before}, distinct pages`) : null,
    p99At500: {
      ready: find('uWebSockets.js, 500 req/s offered').p99Ms,
      mine: find(`${mine}, 500 req/s offered`).p99Ms,
      before: base ? find(`${before}, 500 req/s offered`).p99Ms : null,
    },
    beforeCpuRatio: base ? find(before).cpuMsPerRequest / find(mine).cpuMsPerRequest : null,
    limitPerCore,
    limitRatio: rps(mine) / limitPerCore,
    cpuLimitRatio: 1_000 / limitPerCore / find(mine).cpuMsPerRequest,
    connections: opts.connections,
    durationSec: opts.durationSec,
  };
}
