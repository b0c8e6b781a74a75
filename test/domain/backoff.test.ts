import { describe, expect, it } from 'vitest';
import { backoffDelay, backoffStep } from '../../src/domain/backoff.js';

describe('backoffDelay (equal jitter: reconnects, actor restarts)', () => {
  it('never exceeds the cap, at any attempt and any random draw', () => {
    const opts = { baseMs: 1_000, maxMs: 60_000 };
    for (let attempt = 1; attempt <= 200; attempt++) {
      for (const r of [0, 0.25, 0.5, 0.999999]) {
        const d = backoffDelay(attempt, { ...opts, random: () => r });
        expect(d).toBeLessThanOrEqual(opts.maxMs);
        expect(Number.isFinite(d)).toBe(true);
      }
    }
  });

  it('jitters within [step/2, step] where step = min(cap, base·2^(attempt-1))', () => {
    const opts = { baseMs: 500, maxMs: 30_000 };
    for (let attempt = 1; attempt <= 12; attempt++) {
      const step = Math.min(opts.maxMs, opts.baseMs * 2 ** (attempt - 1));
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(attempt, opts);
        expect(d).toBeGreaterThanOrEqual(Math.floor(step / 2));
        expect(d).toBeLessThanOrEqual(step);
      }
      expect(backoffDelay(attempt, { ...opts, random: () => 0 })).toBe(Math.round(step / 2));
      expect(backoffDelay(attempt, { ...opts, random: () => 0.999999 })).toBeLessThanOrEqual(step);
    }
  });

  it('grows exponentially until the cap, then stays there', () => {
    const opts = { baseMs: 1_000, maxMs: 60_000, random: () => 0.999999 };
    const steps = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, opts));
    expect(steps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  });

  it('treats attempt 0 and negative attempts as the first', () => {
    const opts = { baseMs: 1_000, maxMs: 60_000, random: () => 0 };
    expect(backoffDelay(0, opts)).toBe(500);
    expect(backoffDelay(-3, opts)).toBe(500);
  });
});

describe('backoffDelay (full jitter: store write retries)', () => {
  it('draws from [0, step) where step = min(cap, base·2^(attempt-1)), whole milliseconds', () => {
    const opts = { baseMs: 100, maxMs: 5_000, jitter: 'full' as const };
    for (let attempt = 1; attempt <= 12; attempt++) {
      const step = backoffStep(attempt, opts);
      expect(step).toBe(Math.min(opts.maxMs, opts.baseMs * 2 ** (attempt - 1)));
      for (const r of [0, 0.1, 0.5, 0.999999]) {
        const d = backoffDelay(attempt, { ...opts, random: () => r });
        expect(d).toBe(Math.floor(r * step));
        expect(d).toBeLessThan(step);
      }
    }
  });

  it('can wait nothing at all, unlike equal jitter', () => {
    expect(backoffDelay(3, { baseMs: 100, maxMs: 5_000, jitter: 'full', random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 5_000, jitter: 'equal', random: () => 0 })).toBe(200);
  });
});
