import type { DocumentData } from 'firebase-admin/firestore';
import { LEASE_FIELDS, type LeaseState } from '../lease-rules.js';
import type { LeaseName } from '../port.js';
import { millisOf, toTimestampOrNull } from './documents.js';

/**
 * Leases are fields on `accounts/{accountId}`, named as the auto-backfill summary names them
 * (`autoBackfillLeaseUntil`, `autoBackfillLeaseHolder`, `autoBackfillLeaseAcquiredAt`, plus
 * `autoBackfillLeaseEpoch`) and likewise for the other lease names. The rules are the port's, shared
 * with the SQLite backend (src/store/lease-rules.ts).
 */
export function readLease(doc: DocumentData, name: LeaseName): LeaseState {
  const f = LEASE_FIELDS[name];
  const holder = doc[f.holder];
  const epoch = doc[f.epoch];
  return {
    until: millisOf(doc[f.until]),
    holder: typeof holder === 'string' ? holder : null,
    acquiredAt: millisOf(doc[f.acquiredAt]),
    epoch: typeof epoch === 'number' ? epoch : 0,
  };
}

/** The lease as account document fields (instants as Timestamps, released = nulls, the epoch kept). */
export function leaseFields(name: LeaseName, state: LeaseState): DocumentData {
  const f = LEASE_FIELDS[name];
  return {
    [f.until]: toTimestampOrNull(state.until),
    [f.holder]: state.holder,
    [f.acquiredAt]: toTimestampOrNull(state.acquiredAt),
    [f.epoch]: state.epoch,
  };
}
