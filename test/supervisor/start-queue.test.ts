import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StartQueue, startStaggered } from '../../src/supervisor/start-queue.js';

/** Children whose start settles when the test says so; records what ran when. */
function children() {
  const running = new Set<string>();
  const settle = new Map<string, () => void>();
  const log: Array<{ id: string; at: number; inFlight: number }> = [];
  let maxInFlight = 0;
  const start = (id: string): Promise<void> => {
    running.add(id);
    maxInFlight = Math.max(maxInFlight, running.size);
    log.push({ id, at: Date.now(), inFlight: running.size });
    return new Promise<void>((resolve) => {
      settle.set(id, () => {
        running.delete(id);
        resolve();
      });
    });
  };
  return { start, running, settle, log, maxInFlight: () => maxInFlight };
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `a${i}`);

describe('staggered start', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts at most `concurrency` at a time, the next as soon as one settles, until all have started', async () => {
    const c = children();
    const done = startStaggered(ids(10), { concurrency: 3, jitterMs: 0, timeoutMs: 0, start: c.start });
    await vi.advanceTimersByTimeAsync(0);
    expect([...c.running]).toEqual(['a0', 'a1', 'a2']);
    c.settle.get('a1')!();
    await vi.advanceTimersByTimeAsync(0);
    expect([...c.running].sort()).toEqual(['a0', 'a2', 'a3']);
    // Settle whatever runs, until the queue is empty.
    for (let round = 0; round < 20 && c.running.size > 0; round++) {
      for (const id of [...c.running]) c.settle.get(id)!();
      await vi.advanceTimersByTimeAsync(0);
    }
    await expect(done).resolves.toEqual({ started: 10, timedOut: 0 });
    expect(c.log.map((e) => e.id).sort()).toEqual(ids(10).sort());
    expect(c.maxInFlight()).toBe(3);
  });

  it('waits a random delay below jitterMs before each start', async () => {
    const c = children();
    const delays = [0.5, 0.1, 0.9, 0.3];
    let i = 0;
    const done = startStaggered(ids(4), {
      concurrency: 1,
      jitterMs: 1_000,
      timeoutMs: 0,
      random: () => delays[i++]!,
      start: (id) => {
        const p = c.start(id);
        c.settle.get(id)!();
        return p;
      },
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(c.log).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.log.map((e) => e.id)).toEqual(['a0']);
    await vi.advanceTimersByTimeAsync(100 + 900 + 300);
    await done;
    const at = c.log.map((e) => e.at - c.log[0]!.at);
    expect(at).toEqual([0, 100, 1_000, 1_300]);
  });

  it('a start that does not settle frees its slot after timeoutMs', async () => {
    const c = children();
    const done = startStaggered(ids(3), { concurrency: 1, jitterMs: 0, timeoutMs: 5_000, start: c.start });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(c.log.map((e) => e.id)).toEqual(['a0']);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.log.map((e) => e.id)).toEqual(['a0', 'a1']);
    c.settle.get('a1')!();
    await vi.advanceTimersByTimeAsync(0);
    c.settle.get('a2')!();
    await expect(done).resolves.toEqual({ started: 3, timedOut: 1 });
  });

  it('a failed start counts as settled; a child that needs no start is skipped without using a slot', async () => {
    const started: string[] = [];
    const done = startStaggered(ids(4), {
      concurrency: 1,
      jitterMs: 0,
      timeoutMs: 0,
      start: (id) => {
        if (id === 'a1') return null;
        started.push(id);
        return id === 'a2' ? Promise.reject(new Error('boom')) : Promise.resolve();
      },
    });
    await expect(done).resolves.toEqual({ started: 3, timedOut: 0 });
    expect(started).toEqual(['a0', 'a2', 'a3']);
  });

  it('stops starting once cancelled', async () => {
    const c = children();
    let cancelled = false;
    const done = startStaggered(ids(5), { concurrency: 2, jitterMs: 0, timeoutMs: 0, start: c.start, cancelled: () => cancelled });
    await vi.advanceTimersByTimeAsync(0);
    cancelled = true;
    for (const id of [...c.running]) c.settle.get(id)!();
    await expect(done).resolves.toEqual({ started: 2, timedOut: 0 });
    expect(c.log.map((e) => e.id)).toEqual(['a0', 'a1']);
  });
});

describe('start queue fed over time (takeovers, new accounts)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('children added while others start share the same limit; one added twice while waiting starts once', async () => {
    const c = children();
    const q = new StartQueue({ concurrency: 2, jitterMs: 0, timeoutMs: 0, start: c.start });
    q.add('a0');
    q.add('a1');
    q.add('a2');
    // Waiting already: keeps its place. (One already starting may be queued again; `start` then
    // answers null when it runs already, see Accounts.)
    q.add('a2');
    await vi.advanceTimersByTimeAsync(0);
    expect([...c.running]).toEqual(['a0', 'a1']);
    expect(q.has('a2')).toBe(true);
    q.add('a3');
    c.settle.get('a0')!();
    await vi.advanceTimersByTimeAsync(0);
    expect([...c.running].sort()).toEqual(['a1', 'a2']);
    for (let round = 0; round < 10 && c.running.size > 0; round++) {
      for (const id of [...c.running]) c.settle.get(id)!();
      await vi.advanceTimersByTimeAsync(0);
    }
    await expect(q.idle()).resolves.toEqual({ started: 4, timedOut: 0 });
    expect(c.log.map((e) => e.id)).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(c.maxInFlight()).toBe(2);
    // Idle, then more work: the queue starts again.
    q.add('a4');
    await vi.advanceTimersByTimeAsync(0);
    expect([...c.running]).toEqual(['a4']);
  });

  it('a child deleted before its turn (or during its jitter) is never started', async () => {
    const c = children();
    const q = new StartQueue({ concurrency: 1, jitterMs: 1_000, timeoutMs: 0, random: () => 0.5, start: c.start });
    q.add('a0');
    q.add('a1');
    q.add('a2');
    expect(q.delete('a1')).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    // a0 is in its jitter delay: it still reads as waiting, and can leave.
    expect(q.has('a0')).toBe(true);
    expect(q.delete('a0')).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(c.log.map((e) => e.id)).toEqual(['a2']);
    expect(q.has('a2')).toBe(false);
    expect(q.delete('a2')).toBe(false);
    c.settle.get('a2')!();
    await expect(q.idle()).resolves.toEqual({ started: 1, timedOut: 0 });
  });
});
