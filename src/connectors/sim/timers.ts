/**
 * Every timer a phone starts, so that `end()` can stop them all at once: a closed socket must not
 * emit anything afterwards.
 */
export class TimerBag {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  /** Runs `fn` once after `ms`; the handle cancels it (a timer restarted on every event). */
  after(ms: number, fn: () => void): { cancel(): void } {
    if (this.stopped) return { cancel: () => undefined };
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        if (!this.stopped) fn();
      },
      Math.max(0, ms),
    );
    this.timers.add(t);
    return {
      cancel: () => {
        clearTimeout(t);
        this.timers.delete(t);
      },
    };
  }

  every(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setInterval(
      () => {
        if (!this.stopped) fn();
      },
      Math.max(1, ms),
    );
    this.timers.add(t);
  }

  get size(): number {
    return this.timers.size;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
