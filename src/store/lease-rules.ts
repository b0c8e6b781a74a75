import type { AccountRecord } from '../domain/records.js';
import type { Lease, LeaseFence, LeaseName } from './port.js';

/**
 * The lease rules both backends apply inside their transactions (SQLite: `BEGIN IMMEDIATE`; Firestore:
 * a transaction on the account document), so they cannot drift apart. Leases live on the account,
 * named as the auto-backfill summary names them: `{name}LeaseUntil`, `{name}LeaseHolder`,
 * `{name}LeaseAcquiredAt`, plus the fencing epoch `{name}LeaseEpoch`.
 */
export const LEASE_FIELDS = {
  autoBackfill: {
    until: 'autoBackfillLeaseUntil',
    holder: 'autoBackfillLeaseHolder',
    acquiredAt: 'autoBackfillLeaseAcquiredAt',
    epoch: 'autoBackfillLeaseEpoch',
  },
  recentSync: {
    until: 'recentSyncLeaseUntil',
    holder: 'recentSyncLeaseHolder',
    acquiredAt: 'recentSyncLeaseAcquiredAt',
    epoch: 'recentSyncLeaseEpoch',
  },
  owner: {
    until: 'ownerLeaseUntil',
    holder: 'ownerLeaseHolder',
    acquiredAt: 'ownerLeaseAcquiredAt',
    epoch: 'ownerLeaseEpoch',
  },
} as const satisfies Record<
  LeaseName,
  { until: keyof AccountRecord; holder: keyof AccountRecord; acquiredAt: keyof AccountRecord; epoch: keyof AccountRecord }
>;

/** A lease as stored: all null when free; `epoch` survives releases (0 before the first acquisition). */
export interface LeaseState {
  until: number | null;
  holder: string | null;
  acquiredAt: number | null;
  epoch: number;
}

/** Free, expired (`until <= now`), or already ours; `steal` takes it whatever its state. */
export function canAcquire(current: LeaseState, holder: string, now: number, steal = false): boolean {
  return steal || current.holder === null || current.until === null || current.until <= now || current.holder === holder;
}

/**
 * The lease an acquisition writes. The epoch moves on every acquisition, also when the same holder
 * takes its own lease again (a restarted process with the same INSTANCE_ID): whatever was started
 * under the previous epoch is fenced off from then on.
 */
export function acquiredLease(accountId: string, name: LeaseName, holder: string, ttlMs: number, now: number, current: LeaseState): Lease {
  return { accountId, name, holder, acquiredAt: now, until: now + ttlMs, epoch: current.epoch + 1 };
}

/**
 * Renewal only needs the lease to still be this acquisition (same holder, same epoch): a lease that
 * expired without anyone taking it was never lost, so extending it is safe. Once another holder took
 * it, it was released, or the holder acquired it again (a newer epoch), it is gone.
 */
export function canRenew(current: LeaseState, lease: Lease): boolean {
  return current.holder === lease.holder && current.epoch === lease.epoch;
}

/** Release is compare-and-delete on (holder, epoch): a late release never drops a newer acquisition. */
export function canRelease(current: LeaseState, lease: Lease): boolean {
  return canRenew(current, lease);
}

/** The released state: free, with the epoch kept so the next acquisition moves past it. */
export function releasedState(current: LeaseState): LeaseState {
  return { until: null, holder: null, acquiredAt: null, epoch: current.epoch };
}

/**
 * Whether a fenced write may go ahead: refused only when a newer epoch holds (or held) the owner
 * lease. A write under the current epoch passes even once that lease expired or was released: nobody
 * newer writes the account then, and whoever acquires next moves the epoch and fences it off.
 * `null` when it passes, else why not.
 */
export function fenceRefusal(accountId: string, current: LeaseState | null, fence: LeaseFence): string | null {
  if (current === null) return `account ${accountId} no longer exists`;
  if (current.epoch > fence.epoch) {
    return (
      `account ${accountId}: owner lease epoch ${current.epoch} (holder ${current.holder ?? 'none'}) ` +
      `is newer than the writer's ${fence.epoch} (${fence.holder})`
    );
  }
  return null;
}
