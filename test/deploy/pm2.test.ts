import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { waitFor } from '../support/e2e.js';
import { openFirestoreEmulator, type EmulatorClient } from '../support/firestore-emulator.js';
import { testProjectId } from '../support/firestore-emulator-client.js';
import { REPO } from './dockerfile-model.js';

const ECOSYSTEM = path.join(REPO, 'deploy', 'ecosystem.config.cjs');
const PM2 = path.join(REPO, 'node_modules', '.bin', 'pm2');
const run = promisify(execFile);

interface App {
  name: string;
  script: string;
  cwd: string;
  exec_mode: string;
  kill_timeout: number;
  env: Record<string, string>;
}

/** The ecosystem file as pm2 loads it: `require` in a fresh process with the given environment. */
function loadEcosystem(env: Record<string, string>): { apps?: App[]; error?: string } {
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(ECOSYSTEM)})))`], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) return { error: r.stderr };
  return JSON.parse(r.stdout) as { apps: App[] };
}

describe('deploy/ecosystem.config.cjs', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-pm2-conf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const envFile = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('one process named wasync by default, from the env file, killed only after the flush', () => {
    const { apps } = loadEcosystem({ WASYNC_ENV_FILE: envFile('one.env', 'WA_SIM_RATE=2\n# a comment\n') });
    expect(apps).toHaveLength(1);
    const [app] = apps!;
    expect(app).toMatchObject({ name: 'wasync', script: 'dist/src/main.js', cwd: REPO.replace(/\/$/, ''), exec_mode: 'fork' });
    expect(existsSync(path.join(app!.cwd, app!.script))).toBe(true);
    // MALLOC_ARENA_MAX=2 by default (RSS per account, README Footprint); the env file may change it.
    expect(app!.env).toEqual({ WA_SIM_RATE: '2', INSTANCE_ID: 'wa-1', PORT: '8080', MALLOC_ARENA_MAX: '2' });
    expect(app!.kill_timeout).toBeGreaterThan(loadConfig({}).SHUTDOWN_TIMEOUT_MS);
    const [own] = loadEcosystem({ WASYNC_ENV_FILE: envFile('arenas.env', 'MALLOC_ARENA_MAX=4\n') }).apps!;
    expect(own!.env.MALLOC_ARENA_MAX).toBe('4');
  });

  it('several instances on Firestore: distinct INSTANCE_ID and PORT each; kill_timeout follows SHUTDOWN_TIMEOUT_MS', () => {
    const { apps } = loadEcosystem({
      WASYNC_ENV_FILE: envFile('fleet.env', 'STORE=firestore\nPORT=9000\nSHUTDOWN_TIMEOUT_MS=60000\n'),
      WASYNC_INSTANCES: 'wa-a, wa-b,wa-c',
    });
    expect(apps!.map((a) => [a.name, a.env.INSTANCE_ID, a.env.PORT, a.env.INSTANCE_URL])).toEqual([
      ['wasync-wa-a', 'wa-a', '9000', 'http://127.0.0.1:9000'],
      ['wasync-wa-b', 'wa-b', '9001', 'http://127.0.0.1:9001'],
      ['wasync-wa-c', 'wa-c', '9002', 'http://127.0.0.1:9002'],
    ]);
    for (const app of apps!) {
      expect(app.kill_timeout).toBeGreaterThan(60_000);
      expect(() => loadConfig(app.env)).not.toThrow();
    }
  });

  it.each([
    ['two instances on SQLite', 'STORE=sqlite\n', 'wa-1,wa-2', /2 instances need STORE=firestore/],
    ['a duplicate instance id', 'STORE=firestore\n', 'wa-1,wa-1', /duplicate id/],
  ])('refuses %s', (_what, text, instances, message) => {
    const { error } = loadEcosystem({ WASYNC_ENV_FILE: envFile('bad.env', text), WASYNC_INSTANCES: instances });
    expect(error).toMatch(message);
  });

  it('refuses a missing env file, naming it', () => {
    const { error } = loadEcosystem({ WASYNC_ENV_FILE: path.join(dir, 'nope.env') });
    expect(error).toMatch(/nope\.env not found: copy deploy\/env\.example/);
  });
});

/** Two loopback ports in a row (the ecosystem file gives instance i the port PORT + i). */
async function twoFreePorts(): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<net.Server | null>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(null));
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await tryListen(0);
    const port = (first!.address() as net.AddressInfo).port;
    const second = await tryListen(port + 1);
    await new Promise((r) => first!.close(r));
    if (second) {
      await new Promise((r) => second.close(r));
      return port;
    }
  }
  throw new Error('no two consecutive free ports');
}

/**
 * The real pm2 (devDependency) with its own PM2_HOME: `pm2 start deploy/ecosystem.config.cjs` with two
 * instances on Firestore (the emulator), both answering /ready with their own INSTANCE_ID; `pm2 stop`
 * (SIGINT) lets each flush and exit on its own.
 */
describe('pm2 runs the ecosystem file: two instances on Firestore', () => {
  let emulator: EmulatorClient;
  let home: string;
  let basePort: number;
  let pm2Env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // The run's emulator (vitest globalSetup); both instances share one project of their own.
    emulator = openFirestoreEmulator();
    home = mkdtempSync(path.join(os.tmpdir(), 'wasync-pm2-home-'));
    basePort = await twoFreePorts();
    const envFile = path.join(home, 'wasync.env');
    writeFileSync(
      envFile,
      [
        'STORE=firestore',
        `FIRESTORE_EMULATOR_HOST=${emulator.host}`,
        `GOOGLE_CLOUD_PROJECT=${testProjectId('wasync-pm2')}`,
        'METADATA_SERVER_DETECTION=none',
        'API_TOKEN=pm2-test-token-0123456789abcdef',
        'WA_CONNECTOR=sim',
        'HOST=127.0.0.1',
        `PORT=${basePort}`,
        `DATA_DIR=${path.join(home, 'data')}`,
        'LOG_FORMAT=json',
        'AUTO_BACKFILL_ENABLED=false',
        'RECENT_SYNC_ENABLED=false',
        'READ_POOL_THREADS=0',
      ].join('\n'),
    );
    pm2Env = { ...process.env, PM2_HOME: home, WASYNC_ENV_FILE: envFile, WASYNC_INSTANCES: 'wa-1,wa-2' };
    await run(PM2, ['start', ECOSYSTEM], { env: pm2Env, cwd: REPO });
  }, 120_000);

  afterAll(async () => {
    if (home) {
      await run(PM2, ['kill'], { env: pm2Env }).catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    }
    await emulator?.close();
  });

  it('starts both, each answering /ready as itself', async () => {
    for (const [i, id] of ['wa-1', 'wa-2'].entries()) {
      const ready = await waitFor(`${id} /ready`, async () => {
        const res = await fetch(`http://127.0.0.1:${basePort + i}/ready`);
        return res.ok ? ((await res.json()) as { instanceId: string; mode: string }) : undefined;
      });
      expect(ready).toEqual({ ready: true, mode: 'active', instanceId: id });
    }
    const { stdout } = await run(PM2, ['jlist'], { env: pm2Env });
    const list = JSON.parse(stdout) as Array<{ name: string; pm2_env: { status: string; restart_time: number; kill_timeout: number } }>;
    expect(list.map((p) => [p.name, p.pm2_env.status, p.pm2_env.restart_time])).toEqual([
      ['wasync-wa-1', 'online', 0],
      ['wasync-wa-2', 'online', 0],
    ]);
  });

  it('pm2 stop: both flush and exit on their own before kill_timeout', async () => {
    const started = Date.now();
    await run(PM2, ['stop', 'all'], { env: pm2Env });
    expect(Date.now() - started).toBeLessThan(30_000);
    for (const name of ['wasync-wa-1', 'wasync-wa-2']) {
      const logs = readdirSync(path.join(home, 'logs'));
      const file = logs.find((f) => f.startsWith(`${name}-out`));
      expect(file, logs.join(', ')).toBeDefined();
      const read = () =>
        readFileSync(path.join(home, 'logs', file!), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg: string; signal?: string; instanceId?: string });
      // pm2's daemon appends a process's output to its log file on its own schedule: `pm2 stop` can
      // return before the last lines are in the file, so wait for them rather than read once.
      const lines = await waitFor(
        `${name}'s last log line`,
        async () => {
          const all = read();
          return all.some((l) => l.msg === 'shutdown complete') ? all : undefined;
        },
        10_000,
      );
      expect(lines.find((l) => l.msg === 'shutting down: flushing pending writes')?.signal).toBe('SIGINT');
      // The last two lines, in either order: with no account to flush both are logged in the same
      // millisecond, and pm2 does not always keep their order.
      expect(
        lines
          .slice(-2)
          .map((l) => l.msg)
          .sort(),
      ).toEqual(['shutdown complete', 'shutting down: flushing pending writes']);
      expect(lines.find((l) => l.msg === 'shutdown complete')?.instanceId).toBe(name.replace('wasync-', ''));
    }
  });
});
