import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';

/** What the API and feed benchmarks vary when they start `bench/api-server.ts` with the simulated phone. */
export interface BenchServerOptions {
  /** The compiled server entry (this build's, or another checkout's for a before/after run). */
  entry: string;
  engine: 'uws' | 'node';
  dataDir: string;
  token: string;
  /** Live messages per second from the simulated phone. */
  rate: number;
  messagesPerChat: number;
  readPoolThreads: number;
}

/** Starts the bench server and resolves with its URL once it prints `READY <url>`. */
export async function startBenchServer(o: BenchServerOptions): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [o.entry, o.engine], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: o.dataDir,
      API_TOKEN: o.token,
      WA_CONNECTOR: 'sim',
      WA_DEMO: 'true',
      WA_SIM_CHATS: '50',
      WA_SIM_MESSAGES_PER_CHAT: String(o.messagesPerChat),
      WA_SIM_RATE: String(o.rate),
      READ_POOL_THREADS: String(o.readPoolThreads),
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

/** Messages stored so far, read from the server's SQLite file beside it (read-only). */
export function countStoredMessages(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'wasync.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
