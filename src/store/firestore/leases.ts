import type { DocumentData } from 'firebase-admin/firestore';
import type { AccountRecord } from '../../domain/records.js';
import type { Lease, LeaseName } from '../port.js';
import { millisOf, toTimestampOrNull } from './documents.js';

/**
 * Leases are fields on `accounts/{accountId}`, named as the auto-backfill summary names them
 * (`autoBackfillLeaseUntil`, `autoBackfillLeaseHolder`, `autoBackfillLeaseAcquiredAt`) and likewise
 * for the other lease names. The rules are the port's and the same as the SQLite backend's.
 */
export const LEASE_FIELDS = {
  autoBackfill: { until: 'autoBackfillLeaseUntil', holder: 'autoBackfillLeaseHolder', acquiredAt: 'autoBackfillLeaseAcquiredAt' },
  recentSync: { until: 'recentSyncLeaseUntil', holder: 'recentSyncLeaseHolder', acquiredAt: 'recentSyncLeaseAcquiredAt' },
  owner: { until: 'ownerLeaseUntil', holder: 'ownerLeaseHolder', acquiredAt: 'ownerLeaseAcquiredAt' },
} as const satisfies Record<LeaseName, { until: keyof AccountRecord; holder: keyof AccountRecord; acquiredAt: keyof AccountRecord }>;

export interface LeaseState {
  until: number | null;
  holder: string | null;
  acquiredAt: number | null;
}

export function readLease(doc: DocumentData, name: LeaseName): LeaseState {
  const f = LEASE_FIELDS[name];
  const holder = doc[f.holder];
  return { until: millisOf(doc[f.until]), holder: typeof holder === 'string' ? holder : null, acquiredAt: millisOf(doc[f.acquiredAt]) };
}

/** The lease as account document fields (instants as Timestamps, released = nulls). */
export function leaseFields(name: LeaseName, state: LeaseState): DocumentData {
  const f = LEASE_FIELDS[name];
  return { [f.until]: toTimestampOrNull(state.until), [f.holder]: state.holder, [f.acquiredAt]: toTimestampOrNull(state.acquiredAt) };
}

/** Free, expired (`until <= now`), or already ours. */
export function canAcquire(current: LeaseState, holder: string, now: number): boolean {
  return current.holder === null || current.until === null || current.until <= now || current.holder === holder;
}

/** A lease that expired but was not taken was never lost: only the holder matters. */
export function canRenew(current: LeaseState, lease: Lease): boolean {
  return current.holder === lease.holder;
}
