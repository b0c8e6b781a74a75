import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';

const mode = (p: string): string => `0${(statSync(p).mode & 0o777).toString(8)}`;

async function start(dataDir: string): Promise<{ lines: Array<Record<string, unknown>>; stop: () => Promise<void> }> {
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    WA_CONNECTOR: 'sim',
    WA_DEMO: 'true',
    AUTO_BACKFILL_ENABLED: 'false',
    RECENT_SYNC_ENABLED: 'false',
    PATH: process.env.PATH ?? '',
  };
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const app = await startApp(loadConfig(env), { env, logger: pino({ level: 'warn' }, sink) });
  // Let the demo account's actor write, so the -wal and -shm files exist.
  const deadline = Date.now() + 20_000;
  while ((await app.store.countMessages('demo')) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return { lines, stop: () => app.shutdown() };
}

describe('files at rest', () => {
  let root: string;
  const umask = process.umask();
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'wasync-modes-'));
    process.umask(0o022); // the usual default, under which files come out world-readable unless created otherwise
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(root, { recursive: true, force: true });
  });

  it('a new DATA_DIR is 0700, the database with its -wal and -shm and the api-token are 0600, and nothing is warned about', async () => {
    const dataDir = path.join(root, 'data');
    const s = await start(dataDir);
    try {
      expect(mode(dataDir)).toBe('0700');
      for (const f of ['wasync.db', 'wasync.db-wal', 'wasync.db-shm', 'api-token']) expect(mode(path.join(dataDir, f)), f).toBe('0600');
      expect(s.lines.filter((l) => String(l.msg).includes('readable by other users'))).toEqual([]);
    } finally {
      await s.stop();
    }
  }, 60_000);

  it('an existing directory or file that others can read is warned about at start-up, path and mode named', async () => {
    const dataDir = path.join(root, 'old');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(path.join(dataDir, 'api-token'), `${'t'.repeat(40)}\n`, { mode: 0o644 });
    chmodSync(path.join(dataDir, 'api-token'), 0o644);
    const s = await start(dataDir);
    try {
      const warned = s.lines.filter((l) => String(l.msg).includes('readable by other users'));
      expect(warned.map((l) => [path.basename(String(l.path)), l.mode]).sort()).toEqual([
        ['api-token', '0644'],
        ['old', '0755'],
      ]);
      expect(warned.every((l) => l.level === 40)).toBe(true);
    } finally {
      await s.stop();
    }
  }, 60_000);
});
