import { serializeError } from '../domain/errors.js';
import type { Logger } from '../logging/logger.js';
import type { Lease, LeaseName, Store } from '../store/port.js';

export interface LeasedRunOptions {
  store: Pick<Store, 'acquireLease' | 'renewLease' | 'releaseLease'>;
  accountId: string;
  name: LeaseName;
  holder: string;
  ttlMs: number;
  now: () => number;
  /** A renewal found the lease taken by another holder (it expired under us). Called once. */
  onLost?: () => void;
  /** A renewal or the release failed (store unreachable): the lease then simply runs out. */
  onError?: (err: unknown, context: 'renew' | 'release') => void;
}

export type LeasedRunOutcome<T> = { acquired: false } | { acquired: true; value: T; lost: boolean };

/**
 * Runs `work` while holding the account's lease, renewed every third of its duration so a run longer
 * than the lease keeps it; always released afterwards, also when `work` throws (which it rethrows).
 * Not acquiring is an answer, not an error: another instance is on it.
 *
 * A lost lease does not stop the work: it is a backfill, idempotent, and stopping it half-way would
 * help nobody; the holder that took over simply repeats some of it.
 */
export async function withLease<T>(o: LeasedRunOptions, work: (lease: Lease) => Promise<T>): Promise<LeasedRunOutcome<T>> {
  let lease = await o.store.acquireLease(o.accountId, o.name, o.holder, o.ttlMs, o.now());
  if (!lease) return { acquired: false };
  let lost = false;
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      renewing = renewing.then(async () => {
        if (lost || !lease) return;
        try {
          const renewed = await o.store.renewLease(lease, o.ttlMs, o.now());
          if (renewed) {
            lease = renewed;
          } else {
            lost = true;
            clearInterval(timer);
            o.onLost?.();
          }
        } catch (err) {
          o.onError?.(err, 'renew');
        }
      });
    },
    Math.max(1, Math.floor(o.ttlMs / 3)),
  );
  // The HTTP server keeps the process alive; a renewal timer must not keep a stopping one alive.
  timer.unref();
  let value: T;
  try {
    value = await work(lease);
  } finally {
    clearInterval(timer);
    // A renewal landing after the release would hand the lease back to us for a whole period.
    await renewing;
    await o.store.releaseLease(lease).catch((err: unknown) => o.onError?.(err, 'release'));
  }
  return { acquired: true, value, lost };
}

export interface LeasedJobRunOptions extends Omit<LeasedRunOptions, 'onLost' | 'onError'> {
  log: Logger;
  /** What runs under the lease, as the log lines name it (`auto backfill`, `recent sync`). */
  job: string;
}

/**
 * `withLease` as the periodic jobs use it: a lost lease and a failed lease write are logged the same
 * way for every job, and neither stops the run.
 */
export function withJobLease<T>(o: LeasedJobRunOptions, work: (lease: Lease) => Promise<T>): Promise<LeasedRunOutcome<T>> {
  const { log, job, ...lease } = o;
  return withLease(
    {
      ...lease,
      onLost: () => log.warn({ accountId: o.accountId }, `${job} lease lost to another instance; finishing the run anyway`),
      onError: (err, context) => log.warn({ accountId: o.accountId, context, err: serializeError(err) }, `${job} lease write failed`),
    },
    work,
  );
}
