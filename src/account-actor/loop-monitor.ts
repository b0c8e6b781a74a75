import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay over one reporting window, in milliseconds. */
export interface LoopDelaySample {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * The actor's own event-loop delay (Node's `monitorEventLoopDelay`): how late its timers fire, i.e.
 * how long something kept the loop busy. The actor owns a live socket whose keep-alives must go out on
 * time, so this is the figure that says whether a slow store (or anything else) stalls it. Each sample
 * covers the window since the previous one.
 */
export class LoopMonitor {
  private readonly histogram: IntervalHistogram;

  /** `resolutionMs`: the sampling timer's period (Node's default is 10 ms). */
  constructor(resolutionMs = 10) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
  }

  sample(): LoopDelaySample {
    const h = this.histogram;
    // Nanoseconds; an empty window (no tick yet) reads as NaN or 0.
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0);
    const out = { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
    h.reset();
    return out;
  }

  stop(): void {
    this.histogram.disable();
  }
}
