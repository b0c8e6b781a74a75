import { describe, expect, it } from 'vitest';
import {
  checkStall,
  emptyHistorySync,
  historySyncOf,
  historySyncPatch,
  onChunk,
  onNewLogin,
  onPhaseStatus,
  stallDueAt,
  type HistoryChunkInfo,
  type HistoryPhaseStatus,
  type HistorySyncState,
} from '../../src/domain/history-sync.js';

const T = 1_700_000_000_000;
type Step = { chunk: HistoryChunkInfo } | { phase: HistoryPhaseStatus } | { newLogin: true };

function run(steps: Step[], start: HistorySyncState = emptyHistorySync('waiting', T)): HistorySyncState {
  let s = start;
  steps.forEach((step, i) => {
    const now = T + (i + 1) * 1000;
    if ('chunk' in step) s = onChunk(s, step.chunk, now);
    else if ('phase' in step) s = onPhaseStatus(s, step.phase, now);
    else s = onNewLogin(s, now);
  });
  return s;
}
const chunk = (syncType: string, progress: number | null = null, saved = 10): Step => ({ chunk: { syncType, progress, saved } });
const phase = (syncType: string, status: 'complete' | 'paused'): Step => ({ phase: { syncType, status } });

describe('history-sync state', () => {
  it.each<{ case: string; steps: Step[]; status: HistorySyncState['status']; progress: HistorySyncState['progress'] }>([
    { case: 'nothing yet', steps: [], status: 'waiting', progress: { RECENT: null, FULL: null } },
    { case: 'bootstrap only', steps: [chunk('INITIAL_BOOTSTRAP')], status: 'running', progress: { RECENT: null, FULL: null } },
    {
      case: 'bootstrap complete says nothing about the whole sync',
      steps: [chunk('INITIAL_BOOTSTRAP'), phase('INITIAL_BOOTSTRAP', 'complete')],
      status: 'running',
      progress: { RECENT: null, FULL: null },
    },
    { case: 'RECENT halfway', steps: [chunk('RECENT', 50)], status: 'running', progress: { RECENT: 50, FULL: null } },
    {
      case: 'RECENT at 100 %',
      steps: [chunk('RECENT', 50), chunk('RECENT', 100)],
      status: 'complete',
      progress: { RECENT: 100, FULL: null },
    },
    {
      case: "Baileys' RECENT complete before its last chunk is stored",
      steps: [chunk('RECENT', 50), phase('RECENT', 'complete')],
      status: 'complete',
      progress: { RECENT: 100, FULL: null },
    },
    {
      case: 'RECENT paused',
      steps: [chunk('RECENT', 30), phase('RECENT', 'paused')],
      status: 'paused',
      progress: { RECENT: 30, FULL: null },
    },
    {
      case: 'a chunk after the pause resumes it',
      steps: [chunk('RECENT', 30), phase('RECENT', 'paused'), chunk('RECENT', 60)],
      status: 'running',
      progress: { RECENT: 60, FULL: null },
    },
    {
      case: 'FULL after RECENT reopens until it reaches 100 %',
      steps: [chunk('RECENT', 100), chunk('FULL', 25)],
      status: 'running',
      progress: { RECENT: 100, FULL: 25 },
    },
    {
      case: 'FULL at 100 %',
      steps: [chunk('RECENT', 100), chunk('FULL', 25), chunk('FULL', 100)],
      status: 'complete',
      progress: { RECENT: 100, FULL: 100 },
    },
    {
      case: 'progress never goes back (a replayed chunk)',
      steps: [chunk('RECENT', 80), chunk('RECENT', 40)],
      status: 'running',
      progress: { RECENT: 80, FULL: null },
    },
    {
      case: 'a pause after completion changes nothing',
      steps: [chunk('RECENT', 100), phase('RECENT', 'paused')],
      status: 'complete',
      progress: { RECENT: 100, FULL: null },
    },
    {
      case: 'a new login starts over',
      steps: [chunk('RECENT', 100), { newLogin: true }],
      status: 'waiting',
      progress: { RECENT: null, FULL: null },
    },
  ])('$case → $status', ({ steps, status, progress }) => {
    const s = run(steps);
    expect(s.status).toBe(status);
    expect(s.progress).toEqual(progress);
  });

  it('counts chunks per sync type and the messages they newly stored; keeps the first start and the completion time', () => {
    const s = run([chunk('INITIAL_BOOTSTRAP', null, 5), chunk('PUSH_NAME', null, 0), chunk('RECENT', 50, 100), chunk('RECENT', 100, 7)]);
    expect(s.chunks).toEqual({ INITIAL_BOOTSTRAP: 1, PUSH_NAME: 1, RECENT: 2 });
    expect(s.messagesSaved).toBe(112);
    expect(s.startedAt).toBe(T + 1000);
    expect(s.lastChunkAt).toBe(T + 4000);
    expect(s.completedAt).toBe(T + 4000);
  });

  it('completedAt is when the last phase reached 100 %; a replayed chunk does not move it', () => {
    const once = run([chunk('RECENT', 100), chunk('FULL', 100)]);
    expect(once.completedAt).toBe(T + 2000);
    expect(onChunk(once, { syncType: 'RECENT', progress: 100, saved: 0 }, T + 9000).completedAt).toBe(T + 2000);
  });

  it('stalls only when connected, not complete, and quiet for the whole stall time; a chunk clears it', () => {
    const running = run([chunk('RECENT', 40)]); // last chunk at T + 1000
    const o = { stallMs: 60_000, connectedAt: T };
    expect(stallDueAt(running, o)).toBe(T + 61_000);
    expect(checkStall(running, { ...o, now: T + 60_999 })).toBe(running);
    const stalled = checkStall(running, { ...o, now: T + 61_000 });
    expect(stalled).toMatchObject({ stalled: true, stalledAt: T + 61_000, status: 'running' });
    expect(checkStall(stalled, { ...o, now: T + 999_999 })).toBe(stalled);
    expect(stallDueAt(stalled, o)).toBeNull();
    expect(checkStall(running, { ...o, connectedAt: null, now: T + 999_999 })).toBe(running);
    // A reconnect restarts the clock: the disconnected time is the connection's problem, not the sync's.
    expect(checkStall(running, { ...o, connectedAt: T + 500_000, now: T + 520_000 })).toBe(running);
    expect(onChunk(stalled, { syncType: 'RECENT', progress: 50, saved: 1 }, T + 70_000)).toMatchObject({ stalled: false, stalledAt: null });
    const complete = run([chunk('RECENT', 100)]);
    expect(checkStall(complete, { ...o, now: T + 10_000_000 })).toBe(complete);
  });

  it('round-trips through the account fields; an account from before them is complete if it ever synced', () => {
    const s = run([chunk('RECENT', 40)]);
    expect(historySyncOf({ id: 'a', ...historySyncPatch(s) })).toEqual(s);
    expect(historySyncOf({ id: 'a' })).toMatchObject({ status: 'waiting', completedAt: null });
    expect(historySyncOf({ id: 'a', lastHistorySyncAt: T })).toMatchObject({ status: 'complete', completedAt: T, stalled: false });
  });
});
