import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { REPO } from './dockerfile-model.js';

const UNIT = path.join(REPO, 'deploy', 'wasync.service');
const text = readFileSync(UNIT, 'utf8');

/** `[Section] Key=value` lines (comments and blank lines dropped); a key may repeat. */
function parseUnit(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    const key = `${section}.${line.slice(0, eq)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

const unit = parseUnit(text);
const one = (key: string): string | undefined => unit.get(key)?.at(-1);

function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const analyze = which('systemd-analyze');
if (!analyze)
  console.warn(
    'test/deploy/systemd.test.ts: systemd-analyze is not installed here: `systemd-analyze verify` is skipped ' +
      '(install the systemd package to run it)',
  );

describe('deploy/wasync.service', () => {
  it('runs the service as the runbook describes: WorkingDirectory, EnvironmentFile=.env, User=deploy, ExecStart=node …', () => {
    const workdir = one('Service.WorkingDirectory')!;
    expect(path.isAbsolute(workdir)).toBe(true);
    expect(one('Service.EnvironmentFile')).toBe(path.posix.join(workdir, '.env'));
    expect(one('Service.User')).toBe('deploy');
    expect(one('Service.ExecStart')).toBe('node dist/src/main.js');
  });

  it('restarts on failure, and waits longer than the flush before SIGKILL', () => {
    expect(one('Service.Restart')).toBe('on-failure');
    expect(one('Service.KillSignal')).toBe('SIGTERM');
    const stopSec = Number(one('Service.TimeoutStopSec'));
    expect(stopSec * 1000).toBeGreaterThan(loadConfig({}).SHUTDOWN_TIMEOUT_MS);
  });

  it('is hardened: no new privileges, a read-only system but the data directory, a private umask', () => {
    expect(one('Service.NoNewPrivileges')).toBe('true');
    expect(one('Service.ProtectSystem')).toBe('strict');
    // DATA_DIR's default (./data) resolved against the WorkingDirectory.
    const dataDir = path.posix.resolve(one('Service.WorkingDirectory')!, loadConfig({}).DATA_DIR);
    expect(unit.get('Service.ReadWritePaths')).toEqual([dataDir]);
    expect(one('Service.ProtectHome')).toBe('true');
    expect(one('Service.UMask')).toBe('0077');
    expect(one('Install.WantedBy')).toBe('multi-user.target');
    expect(one('Install.Alias')).toBe('whatsapp-backend.service');
  });

  it.skipIf(!analyze)('passes `systemd-analyze verify` without a warning, and a broken copy does not', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-unit-'));
    try {
      const verify = (file: string) => spawnSync(analyze!, ['verify', file], { encoding: 'utf8' });
      const good = path.join(dir, 'wasync.service');
      copyFileSync(UNIT, good);
      const r = verify(good);
      expect(r.status, r.stderr).toBe(0);
      // verify exits 0 on unknown keys and bad values, and only warns: any line about this unit fails.
      expect(r.stderr.split('\n').filter((l) => l.includes('wasync'))).toEqual([]);

      const typo = path.join(dir, 'typo.service');
      writeFileSync(typo, text.replace('ProtectSystem=strict', 'ProtectSystm=strict'));
      expect(verify(typo).stderr).toMatch(/Unknown key 'ProtectSystm'/);
      const badTime = path.join(dir, 'badtime.service');
      writeFileSync(badTime, text.replace('TimeoutStopSec=45', 'TimeoutStopSec=forty-five'));
      expect(verify(badTime).stderr).toMatch(/Failed to parse/);
      const noBinary = path.join(dir, 'nobinary.service');
      writeFileSync(noBinary, text.replace('ExecStart=node ', 'ExecStart=nodejs-missing '));
      expect(verify(noBinary).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!analyze)('`node` resolves to a Node the service can run', () => {
    // systemd looks an unqualified ExecStart up in its fixed search path (/usr/local/bin, /usr/bin…).
    const node = ['/usr/local/bin/node', '/usr/bin/node'].find((p) => spawnSync(p, ['--version']).status === 0);
    expect(node).toBeDefined();
    const version = execFileSync(node!, ['--version'], { encoding: 'utf8' }).trim();
    expect(Number(/^v(\d+)/.exec(version)![1])).toBeGreaterThanOrEqual(20);
  });
});
