import type { AccountPatch } from '../domain/records.js';

/**
 * Coalesces frequent account patches (realtime diagnostics change with every message) into at most
 * one write per interval: Firestore sustains about one write per second per document, and SQLite
 * gains nothing from rewriting the same row a thousand times a second. The last value of each field wins.
 */
export class ThrottledPatch {
  private pending: AccountPatch | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastWrite = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (patch: AccountPatch) => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  patch(p: AccountPatch): void {
    this.pending = { ...this.pending, ...p };
    if (this.timer) return;
    const wait = Math.max(0, this.lastWrite + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, wait);
    this.timer.unref?.();
  }

  /** Writes what is pending now (shutdown, tests). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.inFlight;
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    this.lastWrite = Date.now();
    this.inFlight = this.write(p).catch(this.onError);
    await this.inFlight;
  }
}
