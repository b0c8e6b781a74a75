import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Footprint of connected accounts: one wasync process (SQLite, simulated phone: a small history per
 * account and 1 live message/s each), RSS with no account, then with N connected accounts; per account
 * = (RSS(N) − RSS(0)) / N. With all N streaming: the main thread's event-loop delay over a window
 * without scrapes, the CPU each kind of thread used meanwhile (from /proc: the actors name their
 * threads `actor-<threadId>`), then the time of 20 `/metrics` scrapes. Then a restart with every
 * account stored: time until all are connected and the main thread's event-loop delay meanwhile.
 *
 * The process runs with `MALLOC_ARENA_MAX=2` unless the environment says otherwise, as the shipped
 * launchers start it (deploy/, `npm start`): see docs/benchmarks.md, Footprint.
 */
export interface FootprintStep {
  accounts: number;
  /** Accounts connected when measured (all of them unless one did not connect within 5 minutes). */
  connected: number;
  rssMiB: number;
  perAccountMiB: number;
  /**
   * Main thread's event-loop delay over a window while every account streams (no scrape in it), as
   * Node's `monitorEventLoopDelay` at 10 ms resolution reports it: the interval between two ticks of a
   * 10 ms timer, so an idle loop reads 10 ms and the delay beyond the tick is the figure less 10.
   */
  eldP99Ms: number;
  eldMaxMs: number;
  /** CPU over the same window, in % of one core, by kind of thread. */
  cpu: ThreadCpu;
  /** `/metrics` scrape, median and worst of 20. */
  scrapeP50Ms: number;
  scrapeMaxMs: number;
  /** 1-minute load average of the machine when the step was measured (other work included). */
  load: number;
}

/** CPU used over a window, in % of one core: the main thread, the actors' threads, every other thread. */
export interface ThreadCpu {
  main: number;
  actors: number;
  /** V8's platform threads (concurrent GC and compilation for every isolate), libuv's pool, the read pool. */
  other: number;
  /** Process CPU per live message stored meanwhile (N accounts × 1 msg/s), in ms. */
  msPerMessage: number;
  /**
   * The main thread's time runnable but waiting for a core (/proc schedstat), in ms per second of
   * window: with the cores busy, what its event-loop delay is made of.
   */
  mainWaitMsPerSec: number;
}

export interface FootprintResult {
  baselineMiB: number;
  steps: FootprintStep[];
  /** Restart with `accounts` stored accounts. */
  startup: { accounts: number; connected: number; allConnectedMs: number; eldP99Ms: number; eldMaxMs: number; load: number };
  /** MALLOC_ARENA_MAX the process ran with ('' when unset: glibc's default, 8 arenas per core). */
  mallocArenaMax: string;
  /** RSS per account at the largest N, at the start and end of a streaming window (growth per message). */
  drift: {
    seconds: number;
    messages: number;
    startMiB: number;
    endMiB: number;
    bytesPerMessage: number;
    /** RSS at evenly spaced points through the window (seconds from its start): a leak climbs steadily,
     * caches filling and heaps settling level off. */
    samples: Array<{ atSec: number; rssMiB: number }>;
    /** Growth over the second half of the window only, per message: past the caches' filling. */
    secondHalfBytesPerMessage: number;
  };
}

const TOKEN = 'bench-token-0123456789abcdef';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Server {
  child: ChildProcess;
  url: string;
  eld(): Promise<{ p99: number; max: number }>;
  eldReset(): void;
  stop(): Promise<void>;
}

async function startServer(dataDir: string, extraEnv: Record<string, string>): Promise<Server> {
  const entry = new URL('./api-server.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [entry, 'uws'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      API_TOKEN: TOKEN,
      WA_CONNECTOR: 'sim',
      WA_DEMO: 'false',
      WA_SIM_CHATS: '5',
      WA_SIM_MESSAGES_PER_CHAT: '20',
      WA_SIM_RATE: '1',
      LOG_LEVEL: 'error',
      AUTO_BACKFILL_ENABLED: 'false',
      RECENT_SYNC_ENABLED: 'false',
      MEDIA_ARCHIVE: 'off',
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
      ...extraEnv,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  const waiters: Array<(line: string) => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      for (const w of waiters.splice(0)) w(line);
      nl = out.indexOf('\n');
    }
  });
  const nextLine = (prefix: string): Promise<string> =>
    new Promise((resolve) => {
      const w = (line: string): void => {
        if (line.startsWith(prefix)) resolve(line.slice(prefix.length));
        else waiters.push(w);
      };
      waiters.push(w);
    });
  const url = await Promise.race([
    nextLine('READY '),
    new Promise<string>((_, reject) => child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)))),
  ]);
  return {
    child,
    url: url.trim(),
    eldReset: () => child.stdin!.write('eld-reset\n'),
    async eld() {
      const line = nextLine('ELD ');
      child.stdin!.write('eld\n');
      return JSON.parse(await line) as { p99: number; max: number };
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** RSS of the whole process (main thread and every worker), from /proc, averaged over a few samples. */
async function rssMiB(pid: number, samples = 5): Promise<number> {
  let sum = 0;
  for (let i = 0; i < samples; i++) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    sum += Number(m?.[1] ?? 0) / 1024;
    if (i < samples - 1) await sleep(400);
  }
  return sum / samples;
}

/** utime + stime of each thread of `pid`, in clock ticks, by kind: main (tid = pid), actors (`actor-…`), other. */
function threadTicks(pid: number): { main: number; actors: number; other: number } {
  const out = { main: 0, actors: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (tid === String(pid)) out.main += ticks;
    else if (comm.startsWith('actor-')) out.actors += ticks;
    else out.other += ticks;
  }
  return out;
}

/** The main thread's time waiting on a run queue, in ns (/proc/<pid>/task/<pid>/schedstat, second field). */
function mainRunQueueWaitNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]);
}

/** Linux's USER_HZ: /proc's clock ticks per second. */
const TICKS_PER_SECOND = 100;

async function cpuOver(pid: number, work: () => Promise<void>, messagesPerSecond: number): Promise<ThreadCpu> {
  // A thread that ended during the window drops out: its ticks are not counted (actors stay up here).
  const a = threadTicks(pid);
  const waitA = mainRunQueueWaitNs(pid);
  const started = performance.now();
  await work();
  const b = threadTicks(pid);
  const waitB = mainRunQueueWaitNs(pid);
  const seconds = (performance.now() - started) / 1000;
  const pct = (ticks: number): number => Math.round((ticks / TICKS_PER_SECOND / seconds) * 1000) / 10;
  const total = b.main - a.main + (b.actors - a.actors) + (b.other - a.other);
  return {
    main: pct(b.main - a.main),
    actors: pct(b.actors - a.actors),
    other: pct(b.other - a.other),
    msPerMessage: ((total / TICKS_PER_SECOND) * 1000) / (messagesPerSecond * seconds),
    mainWaitMsPerSec: Math.round((waitB - waitA) / 1e6 / seconds),
  };
}

async function api(url: string, method = 'GET', body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return res.json();
}

async function connectedCount(url: string): Promise<number> {
  const j = (await api(`${url}/api/whatsapp/accounts`)) as { accounts: Array<{ runtime: { connection: string } }> };
  return j.accounts.filter((a) => a.runtime.connection === 'open').length;
}

/**
 * Milliseconds until `n` accounts are connected; past `timeoutMs`, how many were (the run goes on and
 * says so). Polled every half second: the account list of 100 accounts is main-thread work of its own,
 * which a tighter poll would add to the event-loop delay measured meanwhile.
 */
async function waitConnected(url: string, n: number, timeoutMs: number): Promise<{ ms: number; connected: number }> {
  const started = Date.now();
  for (;;) {
    const connected = await connectedCount(url);
    if (connected >= n || Date.now() - started > timeoutMs) return { ms: Date.now() - started, connected };
    await sleep(500);
  }
}

async function scrapeTimes(url: string, n: number): Promise<{ p50: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await res.text();
    times.push(performance.now() - t);
    await sleep(50);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n / 2)]!, max: times[n - 1]! };
}

export async function benchFootprint(opts: {
  steps: number[];
  settleSec: number;
  /** The streaming window over which the event-loop delay and CPU are measured. */
  windowSec: number;
  driftSec: number;
  env?: Record<string, string>;
}): Promise<FootprintResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-footprint-'));
  const env = opts.env ?? {};
  const liveRate = Number(env.WA_SIM_RATE ?? '1');
  let server: Server | undefined;
  try {
    server = await startServer(dataDir, env);
    await sleep(3_000);
    const baselineMiB = await rssMiB(server.child.pid!);
    const steps: FootprintStep[] = [];
    let created = 0;
    for (const n of opts.steps) {
      for (; created < n; created++)
        await api(`${server.url}/api/whatsapp/accounts`, 'POST', { accountId: `fp${String(created).padStart(3, '0')}` });
      const { connected } = await waitConnected(server.url, n, 300_000);
      await sleep(opts.settleSec * 1000);
      const pid = server.child.pid!;
      const rss = await rssMiB(pid, 10);
      // The delay window holds no scrape (a scrape is the main thread's work too: timed below on its own).
      server.eldReset();
      const cpu = await cpuOver(pid, () => sleep(opts.windowSec * 1000), connected * liveRate);
      const eld = await server.eld();
      const load = os.loadavg()[0]!;
      const scrape = await scrapeTimes(server.url, 20);
      steps.push({
        accounts: n,
        connected,
        rssMiB: rss,
        perAccountMiB: (rss - baselineMiB) / n,
        eldP99Ms: eld.p99,
        eldMaxMs: eld.max,
        cpu,
        scrapeP50Ms: scrape.p50,
        scrapeMaxMs: scrape.max,
        load,
      });
    }
    const n = created;
    // Growth per message: RSS now and through a further window of streaming (n × WA_SIM_RATE msg/s).
    const pid = server.child.pid!;
    const startMiB = await rssMiB(pid, 10);
    const samples: Array<{ atSec: number; rssMiB: number }> = [{ atSec: 0, rssMiB: startMiB }];
    const points = 6;
    const t0 = Date.now();
    for (let i = 1; i <= points; i++) {
      const at = (opts.driftSec * i) / points;
      await sleep(Math.max(0, t0 + at * 1000 - Date.now()));
      samples.push({ atSec: Math.round((Date.now() - t0) / 1000), rssMiB: await rssMiB(pid, 5) });
    }
    const endMiB = samples[samples.length - 1]!.rssMiB;
    const midMiB = samples[points / 2]!.rssMiB;
    const messages = n * liveRate * opts.driftSec;
    const drift = {
      seconds: opts.driftSec,
      messages,
      startMiB,
      endMiB,
      bytesPerMessage: ((endMiB - startMiB) * 2 ** 20) / messages,
      samples,
      secondHalfBytesPerMessage: ((endMiB - midMiB) * 2 ** 20) / (messages / 2),
    };
    await server.stop();
    // Restart with every account stored: how long until all are connected, and the main thread meanwhile.
    server = await startServer(dataDir, env);
    server.eldReset();
    const up = await waitConnected(server.url, n, 300_000);
    const eld = await server.eld();
    const load = os.loadavg()[0]!;
    await server.stop();
    return {
      baselineMiB,
      steps,
      startup: { accounts: n, connected: up.connected, allConnectedMs: up.ms, eldP99Ms: eld.p99, eldMaxMs: eld.max, load },
      drift,
      mallocArenaMax: env.MALLOC_ARENA_MAX ?? process.env.MALLOC_ARENA_MAX ?? '2',
    };
  } finally {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}
