import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountRecord } from '../../src/domain/records.js';
import { deadLocalProcess, recoverInterruptedRuns } from '../../src/supervisor/lease-recovery.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { startTestApp, waitFor } from '../support/e2e.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const NOW = Date.UTC(2026, 5, 1);
const ME = 'wa-1';
const log = pino({ level: 'silent' });

/** A process id that ran a moment ago and does not any more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const running = (holder: string | null, until: number | null): Partial<AccountRecord> => ({
  lastAutoBackfillStatus: 'running',
  lastAutoBackfillAttemptAt: NOW - 60_000,
  autoBackfillLeaseHolder: holder,
  autoBackfillLeaseUntil: until,
  autoBackfillLeaseAcquiredAt: holder === null ? null : NOW - 60_000,
});

describe('recoverInterruptedRuns (start-up)', () => {
  let temp: TempStore;
  beforeEach(async () => {
    temp = await openTempStore('lease-recovery');
  });
  afterEach(() => temp.cleanup());

  const cases: Array<{ name: string; fields: Partial<AccountRecord>; interrupted: boolean; released: boolean }> = [
    { name: 'own id, lease still valid', fields: running(ME, NOW + 600_000), interrupted: true, released: true },
    { name: 'own id, lease expired', fields: running(ME, NOW - 1), interrupted: true, released: true },
    {
      name: 'a dead local process (default hostname-pid id)',
      fields: running(`${os.hostname()}-${deadPid()}`, NOW + 600_000),
      interrupted: true,
      released: true,
    },
    { name: 'running without a lease', fields: running(null, null), interrupted: true, released: false },
    { name: 'another live instance, lease valid', fields: running('wa-2', NOW + 600_000), interrupted: false, released: false },
    { name: 'another instance, lease expired', fields: running('wa-2', NOW - 1), interrupted: true, released: false },
    {
      name: 'own recent-sync lease only',
      fields: { recentSyncLeaseHolder: ME, recentSyncLeaseUntil: NOW + 1, recentSyncLeaseAcquiredAt: NOW },
      interrupted: false,
      released: true,
    },
    { name: 'finished run, no lease', fields: { lastAutoBackfillStatus: 'ok' }, interrupted: false, released: false },
  ];

  it.each(cases)('$name', async ({ fields, interrupted, released }) => {
    await temp.store.createAccount({ id: 'a1', ...fields });
    const result = await recoverInterruptedRuns({ store: temp.store, instanceId: ME, log, now: () => NOW });
    const after = (await temp.store.getAccount('a1'))!;
    expect(result.interrupted).toEqual(interrupted ? ['a1'] : []);
    expect(result.released.length > 0).toBe(released);
    if (interrupted) {
      expect(after.lastAutoBackfillStatus).toBe('error');
      expect(after.lastAutoBackfillResult?.error).toBe('interrupted');
      // The attempt keeps its time: the scheduler's attempt backoff counts from it.
      expect(after.lastAutoBackfillAttemptAt).toBe(NOW - 60_000);
    } else {
      expect(after.lastAutoBackfillStatus).toBe(fields.lastAutoBackfillStatus ?? undefined);
    }
    if (released) {
      expect(after.autoBackfillLeaseHolder ?? null).toBeNull();
      expect(after.recentSyncLeaseHolder ?? null).toBeNull();
    }
  });

  it('the instance registry plugs in: a holder it reports gone is reclaimed like our own', async () => {
    await temp.store.createAccount({ id: 'a1', ...running('wa-9', NOW + 600_000) });
    const result = await recoverInterruptedRuns({
      store: temp.store,
      instanceId: ME,
      log,
      now: () => NOW,
      holderIsGone: (h) => h === 'wa-9',
    });
    expect(result).toEqual({ released: ['a1:autoBackfill'], interrupted: ['a1'] });
  });

  it('deadLocalProcess: only this host, only a pid that is gone', () => {
    expect(deadLocalProcess(`${os.hostname()}-${deadPid()}`)).toBe(true);
    expect(deadLocalProcess(`${os.hostname()}-${process.ppid}`)).toBe(false);
    expect(deadLocalProcess(`another-host-${deadPid()}`)).toBe(false);
    expect(deadLocalProcess('wa-1')).toBe(false);
  });
});

describe('after a kill -9 in the middle of an auto backfill', () => {
  it('the restarted instance releases the lease, says error: interrupted, and the scheduler retries after the backoff', async () => {
    const dataDir = (await openTempStore('lease-crash')).dir;
    const seeded = openSqliteStore({ file: path.join(dataDir, 'wasync.db') });
    await seeded.init();
    const attemptAt = Date.now() - 1_000;
    // What the killed process left: its default id (hostname-pid), a 15-minute lease, `running`.
    await seeded.createAccount({
      id: 'crashed',
      status: 'open',
      lastAutoBackfillStatus: 'running',
      lastAutoBackfillAt: attemptAt,
      lastAutoBackfillAttemptAt: attemptAt,
      autoBackfillLeaseHolder: `${os.hostname()}-${deadPid()}`,
      autoBackfillLeaseUntil: attemptAt + 900_000,
      autoBackfillLeaseAcquiredAt: attemptAt,
    });
    await seeded.close();
    const BACKOFF = 4_000;
    const t = await startTestApp({
      DATA_DIR: dataDir,
      AUTO_BACKFILL_ENABLED: 'true',
      AUTO_BACKFILL_INTERVAL_MS: '300',
      AUTO_BACKFILL_ATTEMPT_BACKOFF_MS: String(BACKOFF),
      WA_SIM_CHATS: '2',
      WA_SIM_MESSAGES_PER_CHAT: '3',
    });
    try {
      const first = (await t.app.store.getAccount('crashed'))!;
      expect(first.lastAutoBackfillStatus === 'error' || first.lastAutoBackfillAttemptAt !== attemptAt).toBe(true);
      if (first.lastAutoBackfillAttemptAt === attemptAt) {
        expect(first.lastAutoBackfillResult?.error).toBe('interrupted');
        expect(first.autoBackfillLeaseHolder ?? null).toBeNull();
      }
      const retried = await waitFor(
        'the retry',
        async () => {
          const a = (await t.app.store.getAccount('crashed'))!;
          return a.lastAutoBackfillStatus === 'ok' ? a : undefined;
        },
        30_000,
        100,
      );
      expect(retried.lastAutoBackfillAttemptAt!).toBeGreaterThanOrEqual(attemptAt + BACKOFF);
      expect(retried.autoBackfillLeaseHolder ?? null).toBeNull();
    } finally {
      await t.close();
      (await import('node:fs')).rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
