/** Gives back one permit; calling it again does nothing. */
export type Release = () => void;

/**
 * A counting semaphore shared by the archive runners of one process (`MEDIA_ARCHIVE_CONCURRENCY` is
 * per instance, not per account). Waiters are served first come, first served, and a permit given back
 * goes straight to the longest waiter, so a busy account cannot keep the others waiting.
 */
export class ConcurrencyLimit {
  private free: number;
  private readonly waiters: Array<(release: Release) => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('a concurrency limit must be an integer ≥ 1');
    this.free = size;
  }

  /** Permits taken now. */
  get inUse(): number {
    return this.size - this.free;
  }

  /** A permit if one is free and nobody is waiting for one, else null (never waits). */
  tryAcquire(): Release | null {
    if (this.free === 0 || this.waiters.length > 0) return null;
    this.free -= 1;
    return this.permit();
  }

  /** Waits for a permit; null when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<Release | null> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = (release: Release): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(release);
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(null);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private permit(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next(this.permit());
      else this.free += 1;
    };
  }
}
