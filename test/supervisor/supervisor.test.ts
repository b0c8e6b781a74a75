import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { shutdownWithin } from '../../src/app.js';
import { type Incarnation, Supervisor, forceReserveMs } from '../../src/supervisor/supervisor.js';

/** A child the test drives: `crash()` makes it exit on its own; `stop` answers after `stopMs` (never when null). */
class FakeChild implements Incarnation {
  readonly started: Promise<void>;
  readonly exited: Promise<string>;
  alive = true;
  terminated = false;
  stopBudgets: number[] = [];
  private exit!: (reason: string) => void;

  constructor(private readonly stopMs: number | null) {
    this.started = Promise.resolve();
    this.exited = new Promise((resolve) => {
      this.exit = resolve;
    });
  }

  crash(reason = 'boom'): void {
    this.alive = false;
    this.exit(reason);
  }

  stop(budgetMs: number): Promise<unknown> {
    this.stopBudgets.push(budgetMs);
    if (this.stopMs === null) return new Promise(() => undefined);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.alive = false;
        this.exit('stopped');
        resolve(undefined);
      }, this.stopMs!),
    );
  }

  async terminate(): Promise<void> {
    this.terminated = true;
    if (this.alive) {
      this.alive = false;
      this.exit('terminated');
    }
  }
}

function supervisorOf(make: () => FakeChild, intensity = { maxRestarts: 2, windowMs: 60_000, baseDelayMs: 10, maxDelayMs: 20 }) {
  const children: FakeChild[] = [];
  const events: string[] = [];
  const sup = new Supervisor<FakeChild>({
    start: () => {
      const c = make();
      children.push(c);
      return c;
    },
    intensity,
    hooks: {
      onExit: (id, _c, reason, deliberate) => events.push(`exit ${id} ${reason} ${deliberate ? 'deliberate' : 'crash'}`),
      onRestart: (id) => events.push(`restart ${id}`),
      onGiveUp: (id) => events.push(`give-up ${id}`),
    },
  });
  return { sup, children, events };
}

describe('Supervisor (generic, OTP-style)', () => {
  it('restarts a crashed child after a backoff, and gives up past the restart intensity', async () => {
    const { sup, children, events } = supervisorOf(() => new FakeChild(0));
    sup.spawn('a');
    await vi.waitFor(() => expect(sup.status('a')?.state).toBe('running'));
    for (let i = 1; i <= 3; i++) {
      children.at(-1)!.crash(`crash ${i}`);
      if (i < 3) await vi.waitFor(() => expect(children).toHaveLength(i + 1));
    }
    await vi.waitFor(() => expect(sup.status('a')?.state).toBe('failed'));
    expect(sup.status('a')).toMatchObject({ restarts: 3, reason: expect.stringMatching(/restart intensity exceeded: 3 crashes.*crash 3/) });
    expect(events.filter((e) => e.startsWith('restart'))).toHaveLength(2);
    expect(events.at(-1)).toBe('give-up a');
    expect(sup.live('a')).toBeNull();
  });

  it('a deliberate stop is not a crash: no restart', async () => {
    const { sup, children, events } = supervisorOf(() => new FakeChild(5));
    sup.spawn('a');
    await sup.stop('a', Date.now() + 1_000);
    expect(sup.status('a')?.state).toBe('stopped');
    await new Promise((r) => setTimeout(r, 50));
    expect(children).toHaveLength(1);
    expect(events).toEqual(['exit a stopped deliberate']);
  });

  it('shutdown keeps one budget: a child that never answers is terminated by the deadline', async () => {
    const { sup, children } = supervisorOf(() => new FakeChild(null));
    sup.spawn('hangs');
    sup.spawn('hangs-too');
    const started = Date.now();
    await sup.shutdown(600);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(600 - forceReserveMs(600) - 20);
    expect(took).toBeLessThan(600 + 100);
    expect(children.every((c) => c.terminated && !c.alive)).toBe(true);
    // The graceful part of the budget is what the children were offered.
    expect(children[0]!.stopBudgets[0]).toBeLessThanOrEqual(600 - forceReserveMs(600));
  });

  it('shutdown cancels a pending restart and refuses new children', async () => {
    const { sup, children } = supervisorOf(() => new FakeChild(0), { maxRestarts: 5, windowMs: 60_000, baseDelayMs: 200, maxDelayMs: 200 });
    sup.spawn('a');
    children[0]!.crash();
    await vi.waitFor(() => expect(sup.status('a')?.state).toBe('restarting'));
    await sup.shutdown(100);
    await new Promise((r) => setTimeout(r, 300));
    expect(children).toHaveLength(1);
    expect(sup.status('a')?.state).toBe('stopped');
    expect(sup.spawn('b')).toBeNull();
  });
});

describe('shutdownWithin (the process shutdown)', () => {
  const logger = pino({ level: 'silent' });

  it('gives the actors the budget less the reserve, then closes', async () => {
    const calls: string[] = [];
    await shutdownWithin(10_000, logger, {
      stopAccepting: () => calls.push('stop accepting'),
      stopActors: async (budget) => {
        calls.push(`actors ${budget}`);
      },
      close: async () => {
        calls.push('close');
      },
    });
    expect(calls).toEqual(['stop accepting', `actors ${10_000 - forceReserveMs(10_000)}`, 'close']);
  });

  it('resolves by the deadline even when a step hangs', async () => {
    const started = Date.now();
    await shutdownWithin(300, logger, {
      stopAccepting: () => undefined,
      stopActors: async () => undefined,
      close: () => new Promise(() => undefined),
    });
    expect(Date.now() - started).toBeLessThan(300 + 100);
  });

  it('a failing step still fails the shutdown (the process exits 1)', async () => {
    await expect(
      shutdownWithin(1_000, logger, {
        stopAccepting: () => undefined,
        stopActors: async () => undefined,
        close: async () => {
          throw new Error('store close failed');
        },
      }),
    ).rejects.toThrow('store close failed');
  });
});
