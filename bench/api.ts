import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';

export interface ApiRun {
  engine: 'uws' | 'node';
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** Live messages the simulated phone got stored per second during the load (shows it was streaming). */
  liveMessagesPerSec: number;
}

export interface ApiBenchResult {
  uws: ApiRun;
  node: ApiRun;
  ratio: number;
  connections: number;
  durationSec: number;
}

const TOKEN = 'bench-token-0123456789abcdef';

async function startServer(engine: 'uws' | 'node', dataDir: string, rate: number): Promise<{ child: ChildProcess; url: string }> {
  const entry = new URL('./api-server.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [entry, engine], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      API_TOKEN: TOKEN,
      WA_CONNECTOR: 'sim',
      WA_DEMO: 'true',
      WA_SIM_CHATS: '50',
      WA_SIM_MESSAGES_PER_CHAT: '200',
      WA_SIM_RATE: String(rate),
      LOG_LEVEL: 'error',
      AUTO_BACKFILL_ENABLED: 'false',
      RECENT_SYNC_ENABLED: 'false',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { child, url };
}

async function get(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  return res.json();
}

function countRows(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'wasync.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function runOne(engine: 'uws' | 'node', connections: number, durationSec: number, rate: number): Promise<ApiRun> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `wasync-api-${engine}-`));
  const { child, url } = await startServer(engine, dataDir, rate);
  try {
    // Let the history sync land (10,000 messages) before measuring.
    let threadId = '';
    for (let i = 0; i < 200; i++) {
      const j = (await get(`${url}/api/whatsapp/threads/demo?limit=1`)) as { threads?: Array<{ id: string }> };
      if (countRows(dataDir) >= 10_000 && j.threads?.[0]) {
        threadId = j.threads[0].id;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!threadId) throw new Error('history sync did not land');
    const target = `${url}/api/whatsapp/messages/demo/${encodeURIComponent(threadId)}?limit=50`;
    await autocannon({ url: target, connections: 8, duration: 1, headers: { authorization: `Bearer ${TOKEN}` } }); // warm-up
    const before = countRows(dataDir);
    const started = Date.now();
    const result = await autocannon({ url: target, connections, duration: durationSec, headers: { authorization: `Bearer ${TOKEN}` } });
    const liveMessagesPerSec = (countRows(dataDir) - before) / ((Date.now() - started) / 1000);
    return {
      engine,
      requestsPerSec: result.requests.average,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.errors,
      non2xx: result.non2xx,
      liveMessagesPerSec,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchApi(opts: { connections: number; durationSec: number; rate: number }): Promise<ApiBenchResult> {
  const uws = await runOne('uws', opts.connections, opts.durationSec, opts.rate);
  const node = await runOne('node', opts.connections, opts.durationSec, opts.rate);
  return { uws, node, ratio: uws.requestsPerSec / node.requestsPerSec, connections: opts.connections, durationSec: opts.durationSec };
}
