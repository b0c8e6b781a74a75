import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './e2e.js';

/** The built entry point (`npm run build` runs before the tests). */
export const MAIN_JS = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

export interface SpawnedServer {
  url: string;
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** Sends the signal (null: none, it is on its way) and waits for the exit; rejects after `timeoutMs` (the process is then killed). */
  stop(signal?: NodeJS.Signals | null, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/**
 * The environment of one wasync instance of a fleet on Firestore (`firestoreHost`: the emulator, or a
 * proxy in front of it) with its accounts on the shared sim server, on a free port; the background jobs
 * and the read pool off. Each test adds its own settings after it.
 */
export function firestoreInstanceEnv(o: {
  firestoreHost: string;
  projectId: string;
  instanceId: string;
  dataDir: string;
  token: string;
  simUrl: string;
}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    STORE: 'firestore',
    FIRESTORE_EMULATOR_HOST: o.firestoreHost,
    GOOGLE_CLOUD_PROJECT: o.projectId,
    METADATA_SERVER_DETECTION: 'none',
    INSTANCE_ID: o.instanceId,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: o.dataDir,
    API_TOKEN: o.token,
    WA_CONNECTOR: 'sim',
    WA_SIM_SERVER: o.simUrl,
    AUTO_BACKFILL_ENABLED: 'false',
    RECENT_SYNC_ENABLED: 'false',
    READ_POOL_THREADS: '0',
  };
}

/**
 * Starts a wasync process the way an operator does (a separate process, its own env) and waits for
 * its "listening on" line. `command` defaults to `node dist/src/main.js`; pass another to start it
 * through a wrapper (a pseudo-terminal, a reproduced image's entry point).
 */
export async function spawnServer(opts: {
  env: Record<string, string | undefined>;
  command?: readonly string[];
  cwd?: string;
  /** Run as this user (and the group of the same id): the tests run as root, images do not. */
  uid?: number;
  startTimeoutMs?: number;
}): Promise<SpawnedServer> {
  const [cmd, ...args] = opts.command ?? [process.execPath, MAIN_JS];
  const child = spawn(cmd!, args, {
    cwd: opts.cwd,
    env: opts.env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.uid }),
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let dead = false;
  void exited.then(() => (dead = true));
  try {
    const listening = waitFor(
      'the server to listen',
      async () => /listening on (http:\/\/[^\s]+)/.exec(out)?.[1],
      opts.startTimeoutMs ?? 30_000,
    );
    listening.catch(() => undefined); // the race below reports whichever comes first
    const url = await Promise.race([
      listening,
      exited.then(({ code, signal }) => {
        throw new Error(`exited (${code ?? signal}) before listening:\n${out}`);
      }),
    ]);
    return {
      url,
      child,
      output: () => out,
      async stop(signal = 'SIGTERM', timeoutMs = 45_000) {
        const started = Date.now();
        if (!dead && signal) child.kill(signal);
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`no exit within ${timeoutMs} ms of ${signal ?? 'waiting'}:\n${out}`));
          }, timeoutMs);
        });
        try {
          const res = await Promise.race([exited, timeout]);
          return { ...res, ms: Date.now() - started };
        } finally {
          clearTimeout(timer);
        }
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
