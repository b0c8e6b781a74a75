import { performance } from 'node:perf_hooks';
import { serializeError } from '../../domain/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { Lease, LeaseFence, Store } from '../../store/port.js';

/**
 * The owner leases this instance holds, kept alive: each is renewed every quarter of its duration
 * (in a transaction, holder and epoch checked), and an instance that cannot renew (store unreachable,
 * process stalled) stops the account's actor before the lease can expire, so the next owner's socket
 * never overlaps this one's.
 *
 * Deadlines are measured on this process's monotonic clock from the moment each acquisition or
 * renewal was *sent*: the store's `until` is when others may take over by their clocks, and the
 * request reached the store after it was sent, so `sent + ttl` is never later than what the store
 * granted. Other instances compare `until` with their own wall clock: clocks must agree to well
 * within the safety margin (NTP does).
 */
export interface OwnerLeasesOptions {
  store: Pick<Store, 'acquireLease' | 'renewLease' | 'releaseLease'>;
  holder: string;
  ttlMs: number;
  logger: Logger;
  /** Wall clock for the lease fields. */
  now?: () => number;
  /** Monotonic clock for this process's own deadlines. */
  monotonic?: () => number;
  /**
   * No renewal succeeded for two thirds of the lease: stop the account's actor within `budgetMs`, which
   * ends a safety margin before the lease can expire anywhere. The lease is dropped from the set.
   */
  onExpiring: (lease: Lease, budgetMs: number, why: string) => void;
  /** A renewal found the lease taken over (this process stalled past its expiry): stop at once. */
  onLost: (lease: Lease, why: string) => void;
}

interface Held {
  lease: Lease;
  /** Monotonic: when the lease may have expired at the store, at the earliest. */
  validUntil: number;
  /** Monotonic: when the last renewal (or the acquisition) was sent. */
  lastSent: number;
  renewing: boolean;
  failures: number;
}

export class OwnerLeases {
  private readonly o: OwnerLeasesOptions;
  private readonly now: () => number;
  private readonly mono: () => number;
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;
  /** Renew this long after the last renewal was sent. */
  readonly renewEveryMs: number;
  /** Stop the actor once the lease has at most this long to live without a successful renewal. */
  readonly stopLeadMs: number;
  /** The actor must be gone this long before the lease can expire. */
  readonly safetyMs: number;
  private readonly checkEveryMs: number;
  private lastCheck: number | null = null;

  constructor(opts: OwnerLeasesOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.mono = opts.monotonic ?? (() => performance.now());
    // Renewals start early and may take long (a busy store): from the first renewal to the stop point
    // lies 5/12 of the lease, for the renewal and its retries.
    this.renewEveryMs = Math.floor(opts.ttlMs / 4);
    this.stopLeadMs = Math.floor(opts.ttlMs / 3);
    this.safetyMs = Math.min(2_000, Math.floor(opts.ttlMs / 10));
    this.checkEveryMs = Math.max(50, Math.min(1_000, Math.floor(this.renewEveryMs / 4)));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.checkEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  has(accountId: string): boolean {
    return this.held.has(accountId);
  }

  get(accountId: string): Lease | undefined {
    return this.held.get(accountId)?.lease;
  }

  fence(accountId: string): LeaseFence | null {
    const lease = this.held.get(accountId)?.lease;
    return lease ? { holder: lease.holder, epoch: lease.epoch } : null;
  }

  accounts(): string[] {
    return [...this.held.keys()];
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * Acquires and keeps the account's owner lease; null when another holder has it. An acquisition
   * that does not answer within `timeoutMs` counts as failed; should it land later after all, the
   * lease is released at once (nobody runs the account on it).
   */
  async acquire(accountId: string, opts: { steal?: boolean; timeoutMs?: number } = {}): Promise<Lease | null> {
    const existing = this.held.get(accountId);
    if (existing) return existing.lease;
    const sent = this.mono();
    const pending = this.o.store.acquireLease(accountId, 'owner', this.o.holder, this.o.ttlMs, this.now(), { steal: opts.steal });
    let lease: Lease | null;
    try {
      lease = await withTimeout(pending, opts.timeoutMs ?? this.renewEveryMs, 'acquisition');
    } catch (err) {
      pending.then((late) => (late ? this.o.store.releaseLease(late) : undefined)).catch(() => undefined);
      throw err;
    }
    if (!lease) return null;
    this.held.set(accountId, { lease, validUntil: sent + this.o.ttlMs, lastSent: sent, renewing: false, failures: 0 });
    return lease;
  }

  /** Releases the lease (compare-and-release on holder and epoch); call once the actor has stopped. */
  async release(accountId: string): Promise<void> {
    const held = this.held.get(accountId);
    if (!held) return;
    this.held.delete(accountId);
    await withTimeout(this.o.store.releaseLease(held.lease), this.renewEveryMs, 'release').catch((err: unknown) =>
      this.o.logger.warn({ accountId, err: serializeError(err) }, 'owner lease release failed; it will expire'),
    );
  }

  /** Stops tracking without releasing (the lease is lost, or will be left to expire). */
  forget(accountId: string): void {
    this.held.delete(accountId);
  }

  /** Releases every lease still held, in parallel (shutdown, after the actors stopped). */
  async releaseAll(): Promise<void> {
    await Promise.all(this.accounts().map((id) => this.release(id)));
  }

  /** One pass: renew what is due, stop what can no longer be kept. Runs on the timer; public for tests. */
  check(): void {
    const now = this.mono();
    // A pass long overdue means this process was stalled (starved of CPU, paused): say so, it explains stops.
    if (this.lastCheck !== null && now - this.lastCheck > 4 * this.checkEveryMs && this.held.size > 0) {
      this.o.logger.warn({ stalledMs: Math.round(now - this.lastCheck) }, 'owner lease keeper ran late: this process was stalled');
    }
    this.lastCheck = now;
    for (const [accountId, h] of this.held) {
      if (now >= h.validUntil - this.stopLeadMs) {
        this.held.delete(accountId);
        const budget = Math.max(0, h.validUntil - this.safetyMs - now);
        const why = `owner lease not renewed for ${Math.round(now - h.lastSent)} ms (${h.failures} failed attempts)`;
        this.o.logger.error(
          { accountId, budgetMs: Math.round(budget), failures: h.failures },
          `${why}: stopping the actor before it expires`,
        );
        this.o.onExpiring(h.lease, budget, why);
        continue;
      }
      // Due, or retrying a failure at every pass until the deadline.
      if (!h.renewing && (now - h.lastSent >= this.renewEveryMs || h.failures > 0)) void this.renew(accountId, h);
    }
  }

  private async renew(accountId: string, h: Held): Promise<void> {
    h.renewing = true;
    const sent = this.mono();
    try {
      // A slow store (a busy Firestore, contention on the account document) gets all the time there
      // is until the actor would have to stop anyway; a failing one is retried at every pass till then.
      const renewed = await withTimeout(
        this.o.store.renewLease(h.lease, this.o.ttlMs, this.now()),
        Math.max(100, h.validUntil - this.stopLeadMs - sent),
        'renewal',
      );
      if (this.held.get(accountId) !== h) return; // released, lost or expired meanwhile
      if (!renewed) {
        this.held.delete(accountId);
        const why = 'owner lease taken over by another instance';
        this.o.logger.error({ accountId, epoch: h.lease.epoch }, `${why}: stopping the actor`);
        this.o.onLost(h.lease, why);
        return;
      }
      const took = this.mono() - sent;
      if (took > this.renewEveryMs / 2) this.o.logger.warn({ accountId, tookMs: Math.round(took) }, 'owner lease renewal was slow');
      h.lease = renewed;
      h.validUntil = sent + this.o.ttlMs;
      h.lastSent = sent;
      h.failures = 0;
    } catch (err) {
      h.failures += 1;
      if (h.failures === 1 || h.failures % 10 === 0) {
        this.o.logger.warn({ accountId, failures: h.failures, err: serializeError(err) }, 'owner lease renewal failed; retrying');
      }
    } finally {
      h.renewing = false;
    }
  }
}

/** A store call that may hang (a partition): past `ms` it counts as failed; its late outcome is ignored. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`store ${what} did not answer within ${Math.round(ms)} ms`)), ms);
    timer.unref();
  });
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
