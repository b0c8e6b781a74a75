import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino, type Logger } from 'pino';
import type { BackfillCommand } from '../../src/account-actor/protocol.js';
import type { AccountRecord, BackfillResult } from '../../src/domain/records.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import {
  BackfillScheduler,
  type AutoBackfillSettings,
  type BackfillSchedulerOptions,
  type RecentSyncSettings,
} from '../../src/supervisor/backfill-scheduler.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNTS = ['acc-a', 'acc-b', 'acc-c', 'acc-d'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type LogLine = { level: number; msg: string; component?: string; instanceId?: string; accountId?: string; trigger?: string } & Record<
  string,
  unknown
>;

/** A pino logger whose lines land in an array, parsed. */
function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

interface Call {
  instance: string;
  accountId: string;
  cmd: Required<BackfillCommand>;
  startedAt: number;
}

function resultFor(accountId: string, messages = 7): BackfillResult {
  return { threads: 1, messages, errors: 0, threadResults: [{ threadId: `${accountId}__x@s.whatsapp.net`, messages }] };
}

const AUTO: AutoBackfillSettings = {
  intervalMs: 3_600_000,
  cooldownSuccessMs: 6 * 3_600_000,
  attemptBackoffMs: 600_000,
  leaseMs: 60_000,
  maxAccountsPerTick: 10,
  maxConcurrency: 10,
  threads: 50,
  count: 100,
};
const RECENT: RecentSyncSettings = { intervalMs: 3_600_000, leaseMs: 60_000, maxThreads: 30, maxMessagesPerThread: 20 };

describe('BackfillScheduler: two instances, one SQLite store, leases per account', () => {
  let temp: TempStore;
  /** A second connection to the same file: the other instance. */
  let other: SqliteStore;
  let calls: Call[];
  const schedulers: BackfillScheduler[] = [];

  beforeEach(async () => {
    temp = await openTempStore('auto-backfill');
    other = openSqliteStore({ file: temp.file });
    await other.init();
    for (const id of ACCOUNTS) await temp.store.createAccount({ id });
    calls = [];
  });
  afterEach(async () => {
    for (const s of schedulers.splice(0)) {
      s.stop();
      await s.settled(5_000);
    }
    await other.close();
    await temp.cleanup();
  });

  function instance(
    instanceId: string,
    store: SqliteStore,
    o: {
      run?: (accountId: string, cmd: Required<BackfillCommand>) => Promise<BackfillResult>;
      runMs?: number;
      auto?: Partial<AutoBackfillSettings> | null;
      recent?: Partial<RecentSyncSettings> | null;
      connected?: () => readonly string[];
      mode?: () => 'active' | 'passive';
      now?: () => number;
      extra?: Partial<BackfillSchedulerOptions>;
      ready?: boolean;
    } = {},
  ): { scheduler: BackfillScheduler; lines: LogLine[] } {
    const { logger, lines } = captureLogger();
    const scheduler = new BackfillScheduler({
      store,
      logger,
      instanceId,
      autoBackfill: o.auto === null ? null : { ...AUTO, ...o.auto },
      recentSync: o.recent === null ? null : { ...RECENT, ...o.recent },
      connectedAccounts: o.connected ?? (() => ACCOUNTS),
      mode: o.mode ?? (() => 'active'),
      now: o.now,
      // Ticks are what most tests drive; the on-connect test turns its run back on.
      connectDelayMs: 0,
      runOnConnect: false,
      run:
        o.run ??
        (async (accountId, cmd) => {
          calls.push({ instance: instanceId, accountId, cmd, startedAt: Date.now() });
          await sleep(o.runMs ?? 150);
          return resultFor(accountId);
        }),
      ...o.extra,
    });
    schedulers.push(scheduler);
    // Connected and caught up, as the actors' events would say (settled at once: connectDelayMs 0).
    if (o.ready !== false) for (const id of ACCOUNTS) scheduler.onCaughtUp(id);
    return { scheduler, lines };
  }

  const account = async (id: string): Promise<AccountRecord> => {
    const a = await temp.store.getAccount(id);
    if (!a) throw new Error(`no account ${id}`);
    return a;
  };
  const skippedForLease = (lines: LogLine[]) =>
    lines.filter((l) => l.msg === 'auto backfill skipped: another instance holds the lease').map((l) => l.accountId as string);

  it('runs each account exactly once across both instances; the other instance logs the skip; running → ok; leases cleared', async () => {
    const a = instance('wa-1', temp.store);
    const b = instance('wa-2', other);
    const [planA, planB] = await Promise.all([a.scheduler.tickAutoBackfill(), b.scheduler.tickAutoBackfill()]);
    // Both instances planned every account: the lease, not the plan, keeps them apart.
    expect(planA?.start.sort()).toEqual(ACCOUNTS);
    expect(planB?.start.sort()).toEqual(ACCOUNTS);

    // While the runs go on, each account shows the running status and the lease of the instance that runs it.
    await vi.waitFor(() => expect(calls).toHaveLength(ACCOUNTS.length), { timeout: 5_000, interval: 5 });
    for (const call of calls) {
      const acc = await account(call.accountId);
      expect(acc.lastAutoBackfillStatus).toBe('running');
      expect(acc.autoBackfillLeaseHolder).toBe(call.instance);
      expect(acc.autoBackfillLeaseUntil).toBeGreaterThan(Date.now());
      expect(acc.autoBackfillLeaseAcquiredAt).toBeLessThanOrEqual(Date.now());
      expect(acc.lastAutoBackfillAttemptAt).toBe(acc.lastAutoBackfillAt);
    }

    await Promise.all([a.scheduler.settled(5_000), b.scheduler.settled(5_000)]);
    expect(calls.map((c) => c.accountId).sort()).toEqual(ACCOUNTS);
    for (const call of calls) {
      expect(call.cmd).toEqual({ threads: 50, count: 100, reason: 'auto', anchor: 'oldest', record: 'backfill' });
    }
    // Whichever instance did not run an account said so.
    const ranBy = new Map(calls.map((c) => [c.accountId, c.instance]));
    const skipsA = skippedForLease(a.lines);
    const skipsB = skippedForLease(b.lines);
    expect([...skipsA, ...skipsB].sort()).toEqual(ACCOUNTS);
    for (const id of skipsA) expect(ranBy.get(id)).toBe('wa-2');
    for (const id of skipsB) expect(ranBy.get(id)).toBe('wa-1');

    for (const id of ACCOUNTS) {
      const acc = await account(id);
      expect(acc.lastAutoBackfillStatus).toBe('ok');
      expect(acc.lastAutoBackfillSuccessAt).toBeGreaterThanOrEqual(acc.lastAutoBackfillAttemptAt ?? Infinity);
      expect(acc.lastAutoBackfillResult).toMatchObject({ threads: 1, messages: 7, errors: 0, threadResults: [{ messages: 7 }] });
      expect(acc.lastAutoBackfillResult?.durationMs).toBeGreaterThanOrEqual(100);
      expect(acc.lastAutoBackfillResult?.error).toBeUndefined();
      expect(acc).toMatchObject({ autoBackfillLeaseHolder: null, autoBackfillLeaseUntil: null, autoBackfillLeaseAcquiredAt: null });
    }

    // Start and end lines per account, with the component the operator greps for.
    const all = [...a.lines, ...b.lines];
    const started = all.filter((l) => l.msg === 'auto backfill started');
    const finished = all.filter((l) => l.msg === 'auto backfill finished');
    expect(started.map((l) => l.accountId).sort()).toEqual(ACCOUNTS);
    expect(finished.map((l) => l.accountId).sort()).toEqual(ACCOUNTS);
    for (const l of [...started, ...finished]) expect(l.component).toBe('wa-auto-backfill');
    const summary = a.lines.find((l) => l.msg.startsWith('auto backfill tick'));
    expect(summary).toMatchObject({ component: 'wa-auto-backfill', instanceId: 'wa-1', trigger: 'tick', accounts: 4 });

    // The next tick, on either instance, respects the success cooldown.
    const again = await Promise.all([a.scheduler.tickAutoBackfill(), b.scheduler.tickAutoBackfill()]);
    for (const plan of again) {
      expect(plan?.start).toEqual([]);
      expect(plan?.skipped.map((s) => s.reason)).toEqual(['cooldown', 'cooldown', 'cooldown', 'cooldown']);
    }
    await Promise.all([a.scheduler.settled(5_000), b.scheduler.settled(5_000)]);
    expect(calls).toHaveLength(ACCOUNTS.length);
  });

  it('a failing run records error with the reason, releases the lease, and is retried only after the attempt backoff', async () => {
    let clock = Date.now();
    let failing = true;
    const a = instance('wa-1', temp.store, {
      now: () => clock,
      auto: { maxConcurrency: 1, maxAccountsPerTick: 1 },
      connected: () => ['acc-a'],
      run: async (accountId, cmd) => {
        calls.push({ instance: 'wa-1', accountId, cmd, startedAt: clock });
        await sleep(100);
        if (failing) throw Object.assign(new Error('the phone is offline'), { code: 'NOT_CONNECTED' });
        return resultFor(accountId, 3);
      },
    });
    await a.scheduler.tickAutoBackfill();
    await vi.waitFor(async () => expect((await account('acc-a')).lastAutoBackfillStatus).toBe('running'), { timeout: 2_000, interval: 2 });
    await a.scheduler.settled(5_000);
    const failed = await account('acc-a');
    expect(failed.lastAutoBackfillStatus).toBe('error');
    expect(failed.lastAutoBackfillResult?.error).toMatch(/the phone is offline/);
    expect(failed.lastAutoBackfillSuccessAt ?? null).toBeNull();
    expect(failed.autoBackfillLeaseHolder).toBeNull();
    expect(a.lines.some((l) => l.msg === 'auto backfill failed' && l.component === 'wa-auto-backfill')).toBe(true);

    // Within the backoff: skipped, no second call.
    clock += 9 * 60_000;
    const held = await a.scheduler.tickAutoBackfill();
    expect(held?.start).toEqual([]);
    expect(held?.skipped).toContainEqual({
      accountId: 'acc-a',
      reason: 'attempt_backoff',
      until: (failed.lastAutoBackfillAttemptAt ?? 0) + 600_000,
    });
    expect(calls).toHaveLength(1);

    // After it: retried, and this time it succeeds.
    clock += 2 * 60_000;
    failing = false;
    expect((await a.scheduler.tickAutoBackfill())?.start).toEqual(['acc-a']);
    await a.scheduler.settled(5_000);
    expect(calls).toHaveLength(2);
    const ok = await account('acc-a');
    expect(ok.lastAutoBackfillStatus).toBe('ok');
    expect(ok.lastAutoBackfillResult).toMatchObject({ messages: 3 });
    expect(ok.lastAutoBackfillResult?.error).toBeUndefined();
  });

  it('renews the lease while a run outlasts it, so the other instance keeps skipping', async () => {
    const a = instance('wa-1', temp.store, { auto: { leaseMs: 90 }, runMs: 500, connected: () => ['acc-a'] });
    const b = instance('wa-2', other, { auto: { leaseMs: 90 }, connected: () => ['acc-a'] });
    await a.scheduler.tickAutoBackfill();
    await vi.waitFor(() => expect(calls).toHaveLength(1), { timeout: 2_000, interval: 2 });
    const acquiredAt = (await account('acc-a')).autoBackfillLeaseAcquiredAt ?? 0;
    // Well past the 90 ms the lease was first taken for.
    await sleep(250);
    const mid = await account('acc-a');
    expect(mid.autoBackfillLeaseHolder).toBe('wa-1');
    expect(mid.autoBackfillLeaseUntil).toBeGreaterThan(acquiredAt + 90);
    await b.scheduler.tickAutoBackfill();
    await b.scheduler.settled(2_000);
    expect(skippedForLease(b.lines)).toEqual(['acc-a']);
    await a.scheduler.settled(5_000);
    expect(calls.map((c) => c.instance)).toEqual(['wa-1']);
    expect(await account('acc-a')).toMatchObject({ lastAutoBackfillStatus: 'ok', autoBackfillLeaseHolder: null });
  });

  it('a lease lost mid-run is logged, the run still completes, and the new holder keeps its lease', async () => {
    const a = instance('wa-1', temp.store, { auto: { leaseMs: 60 }, runMs: 300, connected: () => ['acc-a'] });
    await a.scheduler.tickAutoBackfill();
    await vi.waitFor(() => expect(calls).toHaveLength(1), { timeout: 2_000, interval: 2 });
    // Another instance took over (as after a long pause of this one).
    const until = Date.now() + 60_000;
    await other.patchAccount('acc-a', {
      autoBackfillLeaseHolder: 'wa-2',
      autoBackfillLeaseUntil: until,
      autoBackfillLeaseAcquiredAt: Date.now(),
    });
    await a.scheduler.settled(5_000);
    expect(a.lines.some((l) => l.msg.startsWith('auto backfill lease lost'))).toBe(true);
    expect(await account('acc-a')).toMatchObject({
      lastAutoBackfillStatus: 'ok',
      autoBackfillLeaseHolder: 'wa-2',
      autoBackfillLeaseUntil: until,
    });
  });

  it('starts nothing while passive (draining) or after stop, and only connected, caught-up accounts', async () => {
    let mode: 'active' | 'passive' = 'passive';
    const a = instance('wa-1', temp.store, { mode: () => mode, connected: () => ['acc-a', 'acc-b'] });
    expect(await a.scheduler.tickAutoBackfill()).toBeNull();
    expect(await a.scheduler.tickRecentSync()).toBeNull();
    expect(a.lines.some((l) => l.msg === 'auto backfill tick skipped: passive mode')).toBe(true);
    expect(a.lines.some((l) => l.msg === 'recent sync tick skipped: passive mode' && l.component === 'recent-sync')).toBe(true);

    mode = 'active';
    // acc-b's connection dropped: it is no longer caught up.
    a.scheduler.onConnection('acc-b', 'reconnecting');
    const plan = await a.scheduler.tickAutoBackfill();
    expect(plan?.start).toEqual(['acc-a']);
    expect(plan?.skipped).toEqual(
      expect.arrayContaining([
        { accountId: 'acc-b', reason: 'not_connected' },
        { accountId: 'acc-c', reason: 'not_connected' },
        { accountId: 'acc-d', reason: 'not_connected' },
      ]),
    );
    a.scheduler.stop();
    expect(await a.scheduler.tickAutoBackfill()).toBeNull();
    expect(await a.scheduler.settled(5_000)).toBe(true);
    expect(calls.map((c) => c.accountId)).toEqual(['acc-a']);
  });

  it('on connect: runs once caught up (or after the caught-up timeout), one at a time, the next when a slot frees', async () => {
    const a = instance('wa-1', temp.store, {
      ready: false,
      runMs: 100,
      auto: { maxConcurrency: 1 },
      connected: () => ['acc-a', 'acc-b', 'acc-c'],
      extra: { connectDelayMs: 20, caughtUpTimeoutMs: 150, runOnConnect: true },
    });
    a.scheduler.onConnection('acc-a', 'open');
    a.scheduler.onConnection('acc-b', 'open');
    a.scheduler.onConnection('acc-c', 'open');
    a.scheduler.onCaughtUp('acc-a');
    a.scheduler.onCaughtUp('acc-b');
    // acc-c never reports caught up: the timeout stands in for it.
    await vi.waitFor(() => expect(calls.map((c) => c.accountId)).toEqual(['acc-a', 'acc-b', 'acc-c']), { timeout: 5_000, interval: 5 });
    // Never two at once.
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.startedAt).toBeGreaterThanOrEqual(calls[i - 1]!.startedAt + 90);
    await a.scheduler.settled(5_000);
    const triggers = a.lines.filter((l) => l.msg === 'auto backfill started').map((l) => [l.accountId, l.trigger]);
    expect(triggers).toEqual([
      ['acc-a', 'connect'],
      ['acc-b', 'slot'],
      ['acc-c', expect.stringMatching(/^(connect|slot)$/)],
    ]);
    // A reconnect within the cooldown does not run again.
    a.scheduler.onConnection('acc-a', 'open');
    a.scheduler.onCaughtUp('acc-a');
    await sleep(80);
    await a.scheduler.settled(5_000);
    expect(calls).toHaveLength(3);
  });

  it('on connect: waits for a history sync under way to end (the delay a floor), or for its cap when it never ends', async () => {
    const a = instance('wa-1', temp.store, {
      ready: false,
      runMs: 10,
      auto: { maxConcurrency: 2 },
      connected: () => ['acc-a', 'acc-b', 'acc-c'],
      extra: { connectDelayMs: 20, caughtUpTimeoutMs: 10_000, historySyncWaitMs: 400, runOnConnect: true },
    });
    // acc-a was just paired: its sync is waiting, then running; acc-b's sync runs and never ends; acc-c has none.
    a.scheduler.onHistorySync('acc-a', 'waiting');
    a.scheduler.onHistorySync('acc-b', 'running');
    a.scheduler.onHistorySync('acc-c', 'complete');
    const connectedAt = Date.now();
    for (const id of ['acc-a', 'acc-b', 'acc-c']) {
      a.scheduler.onConnection(id, 'open');
      a.scheduler.onCaughtUp(id);
    }
    a.scheduler.onHistorySync('acc-a', 'running');
    await vi.waitFor(() => expect(calls.map((c) => c.accountId)).toEqual(['acc-c']), { timeout: 5_000, interval: 5 });
    await sleep(60);
    expect(calls.map((c) => c.accountId)).toEqual(['acc-c']);
    // acc-a's sync completes: it runs now; acc-b only once the cap ran out.
    a.scheduler.onHistorySync('acc-a', 'complete');
    await vi.waitFor(() => expect(calls.map((c) => c.accountId)).toEqual(['acc-c', 'acc-a']), { timeout: 5_000, interval: 5 });
    await vi.waitFor(() => expect(calls.map((c) => c.accountId)).toEqual(['acc-c', 'acc-a', 'acc-b']), { timeout: 5_000, interval: 5 });
    expect(calls[2]!.startedAt - connectedAt).toBeGreaterThanOrEqual(400);
    await a.scheduler.settled(5_000);
  });

  it('recent sync: each connected account once across both instances, anchored at the newest message, under its own lease', async () => {
    const a = instance('wa-1', temp.store, { auto: null });
    const b = instance('wa-2', other, { auto: null });
    const [startedA, startedB] = await Promise.all([a.scheduler.tickRecentSync(), b.scheduler.tickRecentSync()]);
    expect(startedA?.sort()).toEqual(ACCOUNTS);
    expect(startedB?.sort()).toEqual(ACCOUNTS);
    await vi.waitFor(() => expect(calls).toHaveLength(ACCOUNTS.length), { timeout: 5_000, interval: 5 });
    for (const call of calls) expect((await account(call.accountId)).recentSyncLeaseHolder).toBe(call.instance);
    await Promise.all([a.scheduler.settled(5_000), b.scheduler.settled(5_000)]);
    expect(calls.map((c) => c.accountId).sort()).toEqual(ACCOUNTS);
    for (const call of calls) {
      expect(call.cmd).toEqual({ threads: 30, count: 20, reason: 'recent', anchor: 'newest', record: 'recentSync' });
    }
    for (const id of ACCOUNTS) {
      const acc = await account(id);
      expect(acc).toMatchObject({ recentSyncLeaseHolder: null, recentSyncLeaseUntil: null });
      // Neither the auto-backfill status nor its lease is touched by the gap filler.
      expect(acc.lastAutoBackfillStatus ?? null).toBeNull();
      expect(acc.autoBackfillLeaseHolder ?? null).toBeNull();
    }
    const tick = a.lines.find((l) => l.msg.startsWith('recent sync tick'));
    expect(tick).toMatchObject({ component: 'recent-sync', instanceId: 'wa-1', connected: 4, started: 4 });
  });

  it('the periodic timers tick on their own and stop with stop()', async () => {
    const a = instance('wa-1', temp.store, {
      runMs: 5,
      auto: { intervalMs: 30, cooldownSuccessMs: 0 },
      recent: { intervalMs: 30 },
      connected: () => ['acc-a'],
    });
    a.scheduler.start();
    await vi.waitFor(
      () => {
        expect(calls.filter((c) => c.cmd.reason === 'auto').length).toBeGreaterThanOrEqual(2);
        expect(calls.filter((c) => c.cmd.reason === 'recent').length).toBeGreaterThanOrEqual(2);
      },
      { timeout: 5_000, interval: 10 },
    );
    a.scheduler.stop();
    await a.scheduler.settled(5_000);
    const n = calls.length;
    await sleep(120);
    expect(calls).toHaveLength(n);
  });
});
