import { describe, expect, it } from 'vitest';
import { RestartIntensity } from '../../src/supervisor/restart-intensity.js';

describe('RestartIntensity (OTP-style MaxR within MaxT)', () => {
  const opts = { maxRestarts: 3, windowMs: 10_000, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('restarts with growing, capped, jittered delays until the intensity is exceeded', () => {
    for (const random of [() => 0, () => 0.999999]) {
      const p = new RestartIntensity({ ...opts, random });
      const decisions = [0, 1, 2, 3].map((i) => p.onCrash(1_000 + i));
      expect(decisions.map((d) => d.action)).toEqual(['restart', 'restart', 'restart', 'give-up']);
      const delays = decisions.flatMap((d) => (d.action === 'restart' ? [d.delayMs] : []));
      const steps = [100, 200, 400];
      delays.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(steps[i]! / 2);
        expect(d).toBeLessThanOrEqual(steps[i]!);
      });
    }
  });

  it('caps the delay', () => {
    const p = new RestartIntensity({ ...opts, maxRestarts: 20, random: () => 0.999999 });
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const d = p.onCrash(i);
      if (d.action === 'restart') last = d.delayMs;
    }
    expect(last).toBeLessThanOrEqual(1_000);
    expect(last).toBeGreaterThanOrEqual(500);
  });

  it('forgets crashes older than the window (a sliding window, not a lifetime count)', () => {
    const p = new RestartIntensity(opts);
    for (const t of [0, 1, 2]) expect(p.onCrash(t).action).toBe('restart');
    // 10 s later the three earlier crashes no longer count.
    expect(p.onCrash(10_002)).toMatchObject({ action: 'restart', restartsInWindow: 1 });
  });

  it('reset() gives a fresh budget (an operator restarting a failed account)', () => {
    const p = new RestartIntensity(opts);
    for (const t of [0, 1, 2, 3]) p.onCrash(t);
    p.reset();
    expect(p.onCrash(4).action).toBe('restart');
  });
});
