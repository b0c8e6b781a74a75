import type { AccountRecord } from '../../domain/records.js';
import type { InstanceRecord } from '../../store/instances.js';

/**
 * How the registry and the owner leases read: which instances are alive and who owns what. The
 * readers' clocks decide; both are plain functions of a snapshot so the API and the placement agree.
 */

/** An instance is alive while its heartbeat is this many ticks old at most. */
export const LIVENESS_TICKS = 3;
/** Records of instances silent this long are deleted by whoever ticks (they stay visible until then). */
export const FORGET_AFTER_MS = 60 * 60 * 1000;

export function isAlive(record: InstanceRecord, now: number, tickMs: number): boolean {
  return record.state === 'running' && now - record.heartbeatAt <= LIVENESS_TICKS * tickMs;
}

/** The holder of the account's owner lease while it is valid; null when free or expired. */
export function validOwner(account: AccountRecord, now: number): string | null {
  const holder = account.ownerLeaseHolder ?? null;
  const until = account.ownerLeaseUntil ?? null;
  return holder !== null && until !== null && until > now ? holder : null;
}

/** The owner as the API shows it: who, where, since when, until when, under which epoch. */
export interface OwnerView {
  instanceId: string;
  url: string | null;
  epoch: number;
  acquiredAt: number | null;
  until: number | null;
  /** Milliseconds since the lease was acquired (this holder's tenure), null when unknown. */
  leaseAgeMs: number | null;
  /** Milliseconds until it expires unless renewed (negative: expired). */
  expiresInMs: number | null;
  /** The lease is unexpired. */
  valid: boolean;
  /** This instance is the owner. */
  self: boolean;
}

export function ownerView(account: AccountRecord, instances: readonly InstanceRecord[], self: string, now: number): OwnerView | null {
  const holder = account.ownerLeaseHolder ?? null;
  if (holder === null) return null;
  const acquiredAt = account.ownerLeaseAcquiredAt ?? null;
  const until = account.ownerLeaseUntil ?? null;
  return {
    instanceId: holder,
    url: instances.find((i) => i.instanceId === holder)?.url ?? null,
    epoch: account.ownerLeaseEpoch ?? 0,
    acquiredAt,
    until,
    leaseAgeMs: acquiredAt === null ? null : now - acquiredAt,
    expiresInMs: until === null ? null : until - now,
    valid: validOwner(account, now) !== null,
    self: holder === self,
  };
}
