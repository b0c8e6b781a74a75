import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { HistorySyncTracker } from '../../src/account-actor/history-sync-tracker.js';
import type { HistorySyncState } from '../../src/domain/history-sync.js';
import type { AccountPatch, AccountRecord } from '../../src/domain/records.js';

const ACC = 'acc_tracker';
const STALL_MS = 60_000;

/** The two store methods the tracker uses, over one in-memory account, with every patch kept. */
function fakeStore(initial: AccountRecord) {
  let account = { ...initial };
  const patches: AccountPatch[] = [];
  return {
    patches,
    get account() {
      return account;
    },
    store: {
      async getAccount(id: string) {
        return id === account.id ? { ...account } : null;
      },
      async patchAccount(_id: string, patch: AccountPatch) {
        patches.push(patch);
        account = { ...account, ...patch };
      },
    },
  };
}

describe('HistorySyncTracker', () => {
  let logs: Array<{ level: number; msg: string }>;
  let changes: HistorySyncState[];
  let errors: unknown[];
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    logs = [];
    changes = [];
    errors = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = (s: ReturnType<typeof fakeStore>) =>
    new HistorySyncTracker({
      accountId: ACC,
      store: s.store,
      logger: pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) }),
      stallMs: STALL_MS,
      writeIntervalMs: 1_000,
      onChange: (state) => changes.push(state),
      onError: (err) => errors.push(err),
    });

  it('a new pairing is written at once; progress is written at most once a second; a status change at once', async () => {
    const s = fakeStore({ id: ACC });
    const t = make(s);
    await t.load();
    t.onNewLogin();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.account.historySyncStatus).toBe('waiting');
    const writes = s.patches.length;

    t.onChunk({ syncType: 'INITIAL_BOOTSTRAP', progress: null, saved: 10 });
    await vi.advanceTimersByTimeAsync(0);
    // waiting → running is a status change: written without waiting for the interval.
    expect(s.account).toMatchObject({ historySyncStatus: 'running', historySyncMessagesSaved: 10 });
    for (let p = 10; p <= 50; p += 10) t.onChunk({ syncType: 'RECENT', progress: p, saved: 1 });
    await vi.advanceTimersByTimeAsync(10);
    expect(s.account.historySyncProgress).toEqual({ RECENT: null, FULL: null });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.account.historySyncProgress).toEqual({ RECENT: 50, FULL: null });
    expect(s.patches.length - writes).toBe(2);

    t.onPhaseStatus({ syncType: 'RECENT', status: 'complete' });
    await vi.advanceTimersByTimeAsync(0);
    expect(s.account).toMatchObject({ historySyncStatus: 'complete', historySyncProgress: { RECENT: 100, FULL: null } });
    expect(changes.map((c) => c.status)).toEqual(['waiting', 'running', 'running', 'running', 'running', 'running', 'running', 'complete']);
    expect(logs.map((l) => l.msg)).toEqual([
      'history sync: waiting for the phone to send the history',
      'history sync started',
      'history sync complete',
    ]);
    await t.stop();
    expect(errors).toEqual([]);
  });

  it('flags a stall once while connected, never while disconnected, and the next chunk clears it', async () => {
    const s = fakeStore({ id: ACC });
    const t = make(s);
    await t.load();
    t.onNewLogin();
    t.onChunk({ syncType: 'RECENT', progress: 20, saved: 5 });
    // Disconnected: no stall, however long.
    await vi.advanceTimersByTimeAsync(5 * STALL_MS);
    expect(s.account.historySyncStalled).toBe(false);

    t.onConnected();
    await vi.advanceTimersByTimeAsync(STALL_MS - 1);
    expect(s.account.historySyncStalled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.account).toMatchObject({ historySyncStalled: true, historySyncStatus: 'running' });
    await vi.advanceTimersByTimeAsync(10 * STALL_MS);
    expect(logs.filter((l) => l.msg.startsWith('history sync stalled'))).toHaveLength(1);
    expect(logs.find((l) => l.msg.startsWith('history sync stalled'))?.level).toBe(40);

    t.onChunk({ syncType: 'RECENT', progress: 40, saved: 5 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.account).toMatchObject({ historySyncStalled: false, historySyncStalledAt: null });
    expect(logs.some((l) => l.msg === 'history sync resumed')).toBe(true);
    // And it can stall again later: the timer was set again by the chunk.
    await vi.advanceTimersByTimeAsync(STALL_MS);
    expect(s.account.historySyncStalled).toBe(true);
    expect(logs.filter((l) => l.msg.startsWith('history sync stalled'))).toHaveLength(2);
    await t.stop();
  });

  it('after a restart the stored sync goes on: the stall clock runs from the later of the last chunk and the connection', async () => {
    const lastChunk = Date.now() - 50_000;
    const s = fakeStore({
      id: ACC,
      historySyncStatus: 'running',
      historySyncProgress: { RECENT: 60, FULL: null },
      historySyncChunks: { RECENT: 3 },
      historySyncMessagesSaved: 300,
      historySyncStartedAt: lastChunk - 60_000,
      historySyncUpdatedAt: lastChunk,
      historySyncLastChunkAt: lastChunk,
      historySyncCompletedAt: null,
      historySyncStalled: false,
      historySyncStalledAt: null,
    });
    const t = make(s);
    await t.load();
    t.onConnected();
    await vi.advanceTimersByTimeAsync(STALL_MS - 1);
    expect(s.account.historySyncStalled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.account.historySyncStalled).toBe(true);
    t.onChunk({ syncType: 'RECENT', progress: 100, saved: 7 });
    await vi.advanceTimersByTimeAsync(0);
    expect(s.account).toMatchObject({
      historySyncStatus: 'complete',
      historySyncChunks: { RECENT: 4 },
      historySyncMessagesSaved: 307,
      historySyncStalled: false,
    });
    await t.stop();
  });

  it('an account synced before these fields existed is complete and never stalls', async () => {
    const s = fakeStore({ id: ACC, lastHistorySyncAt: Date.now() - 86_400_000, historySyncCount: 5000 });
    const t = make(s);
    await t.load();
    t.onConnected();
    await vi.advanceTimersByTimeAsync(10 * STALL_MS);
    expect(t.snapshot()).toMatchObject({ status: 'complete', stalled: false });
    expect(s.patches).toEqual([]);
    await t.stop();
  });
});
