import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';
import { REPO, readDockerfile } from './dockerfile-model.js';
import { IMAGE_USERS, inStage, replayDockerfile, type ReplayedStage } from './docker-replay.js';

const TINI = '/usr/bin/tini';
if (!existsSync(TINI))
  console.warn(`test/deploy/docker-build.test.ts: ${TINI} is missing, the image replay is skipped (apt-get install tini; .ci/run does)`);

/**
 * No Docker engine runs here, so the image is replayed (test/deploy/docker-replay.ts): both install
 * stages for real (`npm ci --omit=dev` with every install script, better-sqlite3's binary taken from the
 * project's own build as a real build takes a prebuilt one, see hostPrebuild; the build stage runs
 * `npm run build` from a fresh `npm ci`), the runtime stage assembled from their outputs, then
 * started as the image starts: ENTRYPOINT + CMD (tini, then node), as the image's non-root user,
 * with the image's ENV (DATA_DIR=/data inside the stage), and probed with the HEALTHCHECK command.
 * A broken step (a missing file in COPY, a failing npm step, a dev dependency needed at run time, a
 * healthcheck that does not answer) fails here. Node is the host's (20), the image's is 22: both are
 * in package.json's engines.
 */
describe.skipIf(!existsSync(TINI))('deploy/Dockerfile, replayed without Docker', () => {
  let buildRoot: string;
  let stages: Map<string, ReplayedStage>;
  let runtime: ReplayedStage;
  let server: SpawnedServer;
  let containerEnv: Record<string, string>;
  let replayMs = 0;

  beforeAll(async () => {
    buildRoot = mkdtempSync(path.join(os.tmpdir(), 'wasync-image-'));
    // The image's user must reach its files through the temp dir, as it would in the image's /.
    chmodSync(buildRoot, 0o755);
    const started = Date.now();
    stages = await replayDockerfile(readDockerfile().stages, buildRoot, { npmEnv: hostPrebuild(path.join(buildRoot, 'prebuilds')) });
    replayMs = Date.now() - started;
    runtime = stages.get('runtime')!;

    // `docker run -p PORT:8080 -e WA_CONNECTOR=sim -e WA_DEMO=true`: the image's ENV plus the run's -e.
    const port = await freePort();
    const mapped = Object.fromEntries(Object.entries(runtime.env).map(([k, v]) => [k, v.startsWith('/') ? inStage(runtime.root, v) : v]));
    containerEnv = {
      PATH: `${inStage(runtime.root, '/usr/local/bin')}:${process.env.PATH}`,
      ...mapped,
      PORT: String(port),
      HOST: '127.0.0.1',
      WA_CONNECTOR: 'sim',
      WA_DEMO: 'true',
      WA_SIM_CHATS: '3',
      WA_SIM_MESSAGES_PER_CHAT: '5',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    };
    const uid = IMAGE_USERS[runtime.user ?? ''];
    expect(uid, `USER ${runtime.user}`).toBeDefined();
    server = await spawnServer({
      command: [...runtime.entrypoint, ...runtime.cmd].map((w) => (w === 'node' ? process.execPath : w)),
      cwd: inStage(runtime.root, runtime.workdir),
      env: containerEnv,
      uid,
    });
  }, 600_000);

  // Removing three stages' node_modules takes a while on a loaded machine: more than the default hook timeout.
  afterAll(async () => {
    if (server && server.child.exitCode === null) await server.stop('SIGKILL').catch(() => undefined);
    if (buildRoot) rmSync(buildRoot, { recursive: true, force: true });
  }, 300_000);

  it('replays every step of every stage in reasonable time', () => {
    const ran = [...stages.values()].flatMap((s) => s.ran.map((r) => `${s.name}: ${r.command} (${(r.ms / 1000).toFixed(1)} s)`));
    console.log(`image replayed in ${(replayMs / 1000).toFixed(1)} s:\n  ${ran.join('\n  ')}`);
    expect(ran.map((r) => r.replace(/ \(.*$/, ''))).toEqual([
      'deps: npm ci --omit=dev --no-audit --no-fund',
      'build: npm ci --ignore-scripts --no-audit --no-fund',
      'build: npm run build',
    ]);
    expect(runtime.skipped.some((s) => /install .*tini/.test(s))).toBe(true);
  });

  it('ships production dependencies, the built server and the console only', () => {
    const app = inStage(runtime.root, '/app');
    expect(readdirSync(app).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    expect(readdirSync(path.join(app, 'dist')).sort()).toEqual(['src', 'web']);
    expect(existsSync(path.join(app, 'dist/web/index.html'))).toBe(true);
    for (const dev of ['vite', 'preact', 'playwright-core']) expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    for (const dev of ['typescript', 'vitest', 'pm2', 'dockerfile-utils'])
      expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    for (const dep of ['better-sqlite3', 'pino-pretty', 'qrcode', '@whiskeysockets/baileys'])
      expect(existsSync(path.join(app, 'node_modules', dep)), dep).toBe(true);
    expect(existsSync(path.join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
  });

  it('starts as the image does (tini → node, non-root) and answers /ready and the console at /', async () => {
    const res = await fetch(`${server.url}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ready: true, mode: 'active' });
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>wasync console</title>');
    // The token the server generated lives in the volume, readable by the image's user only.
    const tokenFile = inStage(runtime.root, '/data/api-token');
    expect(existsSync(tokenFile)).toBe(true);
    expect(statSync(tokenFile).uid).toBe(IMAGE_USERS[runtime.user!]);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });

  it("passes its own HEALTHCHECK command, and the CLI on PATH reads the volume's token", async () => {
    const uid = IMAGE_USERS[runtime.user!]!;
    const health = await run(runtime.healthcheck!, containerEnv, uid);
    expect(health.code, health.out).toBe(0);
    expect(health.out).toMatch(/^ready: active/);
    const accounts = await run(['wasync', 'accounts', '--json'], containerEnv, uid);
    expect(accounts.code, accounts.out).toBe(0);
    expect((JSON.parse(accounts.out) as { accounts: Array<{ id: string }> }).accounts.map((a) => a.id)).toContain('demo');
  });

  it('stops cleanly on STOPSIGNAL (SIGTERM to tini) well within the stop timeout', async () => {
    const { code, ms } = await server.stop('SIGTERM', 45_000);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(30_000);
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.at(-1)?.msg).toBe('shutdown complete');
    expect(readFileSync(inStage(runtime.root, '/data/api-token'), 'utf8').trim().length).toBeGreaterThanOrEqual(32);
  });
});

/**
 * The deps stage's `npm ci --omit=dev` runs better-sqlite3's install script, `prebuild-install ||
 * node-gyp rebuild`. A real build downloads the prebuilt binary from GitHub; here GitHub is out of
 * reach, so it would compile from source (about 70 of the replay's 100 s on 2 cores). The project's
 * own install already built that same version for this Node (and so proved that it compiles), so that
 * binary is handed to prebuild-install as a local prebuild (its `npm_config_<package>_local_prebuilds`
 * setting): the install script still runs, and prebuild-install loads the binary before accepting it;
 * the tests below load it again in the started server. A different version or Node ABI finds no file
 * and compiles, as before; so does WASYNC_TEST_IMAGE_FROM_SOURCE=1.
 */
function hostPrebuild(dir: string): Record<string, string> {
  const pkgDir = path.join(REPO, 'node_modules', 'better-sqlite3');
  const addon = path.join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  if (process.env.WASYNC_TEST_IMAGE_FROM_SOURCE === '1' || !existsSync(addon)) return {};
  const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  // prebuild-install's name for it: {name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz (glibc: no libc part).
  const tarball = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const staging = path.join(dir, 'staging');
  mkdirSync(path.join(staging, 'build', 'Release'), { recursive: true });
  copyFileSync(addon, path.join(staging, 'build', 'Release', 'better_sqlite3.node'));
  execFileSync('tar', ['-czf', path.join(dir, tarball), '-C', staging, 'build']);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

/** `docker exec` as the image's user. */
function run(command: readonly string[], env: Record<string, string>, uid: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { env, uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}
