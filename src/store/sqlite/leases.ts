import type { AccountPatch, AccountRecord } from '../../domain/records.js';
import type { Lease, LeaseName } from '../port.js';

/** The three account fields a lease lives in, named as the auto-backfill summary names them. */
const LEASE_FIELDS = {
  autoBackfill: {
    until: 'autoBackfillLeaseUntil',
    holder: 'autoBackfillLeaseHolder',
    acquiredAt: 'autoBackfillLeaseAcquiredAt',
  },
  recentSync: {
    until: 'recentSyncLeaseUntil',
    holder: 'recentSyncLeaseHolder',
    acquiredAt: 'recentSyncLeaseAcquiredAt',
  },
  owner: {
    until: 'ownerLeaseUntil',
    holder: 'ownerLeaseHolder',
    acquiredAt: 'ownerLeaseAcquiredAt',
  },
} as const satisfies Record<LeaseName, { until: keyof AccountRecord; holder: keyof AccountRecord; acquiredAt: keyof AccountRecord }>;

interface LeaseState {
  until: number | null;
  holder: string | null;
  acquiredAt: number | null;
}

export function readLease(account: AccountRecord, name: LeaseName): LeaseState {
  const f = LEASE_FIELDS[name];
  return { until: account[f.until] ?? null, holder: account[f.holder] ?? null, acquiredAt: account[f.acquiredAt] ?? null };
}

export function leasePatch(name: LeaseName, state: LeaseState): AccountPatch {
  const f = LEASE_FIELDS[name];
  return { [f.until]: state.until, [f.holder]: state.holder, [f.acquiredAt]: state.acquiredAt };
}

/** Free, expired (`until <= now`), or already ours: the three cases in which acquire succeeds. */
export function canAcquire(current: LeaseState, holder: string, now: number): boolean {
  return current.holder === null || current.until === null || current.until <= now || current.holder === holder;
}

/**
 * Renewal only needs the holder to still be us: a lease that expired without anyone taking it was
 * never lost, so extending it is safe. Once another holder took it (or it was released) it is gone.
 */
export function canRenew(current: LeaseState, lease: Lease): boolean {
  return current.holder === lease.holder;
}
