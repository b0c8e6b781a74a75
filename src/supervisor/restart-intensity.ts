import { backoffDelay } from '../domain/backoff.js';

export interface RestartIntensityOptions {
  /** OTP's MaxR: more restarts than this within `windowMs`… */
  maxRestarts: number;
  /** …OTP's MaxT: the sliding window. */
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
}

export type RestartDecision =
  | { action: 'restart'; delayMs: number; restartsInWindow: number }
  | { action: 'give-up'; restartsInWindow: number };

/**
 * OTP-style restart intensity for one actor: each crash is recorded; while at most `maxRestarts`
 * happened in the last `windowMs`, restart after an exponentially growing, jittered delay; past that,
 * give up so a crash loop ends in `failed` instead of burning CPU. Pure apart from the injected clock.
 */
export class RestartIntensity {
  private crashes: number[] = [];

  constructor(private readonly opts: RestartIntensityOptions) {}

  onCrash(now: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.opts.windowMs);
    this.crashes.push(now);
    const n = this.crashes.length;
    if (n > this.opts.maxRestarts) return { action: 'give-up', restartsInWindow: n };
    const delayMs = backoffDelay(n, {
      baseMs: this.opts.baseDelayMs,
      maxMs: this.opts.maxDelayMs,
      jitter: 'equal',
      random: this.opts.random,
    });
    return { action: 'restart', delayMs, restartsInWindow: n };
  }

  reset(): void {
    this.crashes = [];
  }
}
