import type { AccountPatch, AccountRecord } from '../../domain/records.js';
import { LEASE_FIELDS, type LeaseState } from '../lease-rules.js';
import type { LeaseName } from '../port.js';

/** A lease as the account's JSON document holds it (the rules are src/store/lease-rules.ts). */
export function readLease(account: AccountRecord, name: LeaseName): LeaseState {
  const f = LEASE_FIELDS[name];
  const epoch = account[f.epoch];
  return {
    until: account[f.until] ?? null,
    holder: account[f.holder] ?? null,
    acquiredAt: account[f.acquiredAt] ?? null,
    epoch: typeof epoch === 'number' ? epoch : 0,
  };
}

export function leasePatch(name: LeaseName, state: LeaseState): AccountPatch {
  const f = LEASE_FIELDS[name];
  return { [f.until]: state.until, [f.holder]: state.holder, [f.acquiredAt]: state.acquiredAt, [f.epoch]: state.epoch };
}
