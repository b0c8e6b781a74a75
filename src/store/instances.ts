import { BadRequestError } from '../domain/errors.js';

/**
 * The instance registry: every wasync process of a fleet writes its own record on each heartbeat
 * (`FLEET_TICK_MS`), so every instance and the API see the fleet (README, Running several instances).
 * Liveness is judged by the reader from `heartbeatAt` (a killed instance leaves a record that simply
 * stops moving); records of instances gone for long are deleted by the others.
 */

export type InstanceMode = 'active' | 'passive';

export interface InstanceRecord {
  /** `INSTANCE_ID`: the owner-lease holder name. */
  instanceId: string;
  /** The URL other instances forward commands to (`INSTANCE_URL`), null when it has none. */
  url: string | null;
  /** `active` instances own accounts; `passive` ones stand by (`INSTANCE_MODE`). */
  mode: InstanceMode;
  /** `draining` once it is shutting down: it takes nothing new and is handing its accounts back. */
  state: 'running' | 'draining';
  startedAt: number;
  heartbeatAt: number;
  /** Accounts whose owner lease it held at the heartbeat (it runs their actors). */
  accounts: string[];
  /** `MAX_ACCOUNTS_PER_INSTANCE` (0: no cap). */
  maxAccounts: number;
}

export interface InstanceRegistryStore {
  /** Creates or replaces the instance's record (last writer wins: only the instance writes its own). */
  putInstance(record: InstanceRecord): Promise<void>;
  /** Every record, live or not, by `instanceId`. */
  listInstances(): Promise<InstanceRecord[]>;
  /** Idempotent. */
  deleteInstance(instanceId: string): Promise<void>;
}

const ID_FORM = /^[A-Za-z0-9._-]{1,100}$/;

/** The shape every backend stores; refuses what would not round-trip (the id is also a document id). */
export function assertInstanceRecord(r: InstanceRecord): InstanceRecord {
  assertInstanceId(r.instanceId);
  if (r.url !== null && typeof r.url !== 'string') throw new BadRequestError('instance url must be a string or null');
  if (r.mode !== 'active' && r.mode !== 'passive')
    throw new BadRequestError(`instance mode must be active or passive, got ${String(r.mode)}`);
  if (r.state !== 'running' && r.state !== 'draining') throw new BadRequestError(`instance state must be running or draining`);
  for (const [name, v] of [
    ['startedAt', r.startedAt],
    ['heartbeatAt', r.heartbeatAt],
    ['maxAccounts', r.maxAccounts],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new BadRequestError(`instance ${name} must be an integer ≥ 0`);
  }
  if (!Array.isArray(r.accounts) || !r.accounts.every((a) => typeof a === 'string')) {
    throw new BadRequestError('instance accounts must be a list of account ids');
  }
  return r;
}

export function assertInstanceId(instanceId: string): string {
  if (typeof instanceId !== 'string' || !ID_FORM.test(instanceId)) {
    throw new BadRequestError(
      `instance id must be 1-100 letters, digits, '.', '_' or '-' (got ${JSON.stringify(String(instanceId).slice(0, 80))})`,
    );
  }
  return instanceId;
}

/** A record as read back: one field order, lists copied, so both backends answer alike. */
export function normalizeInstanceRecord(r: InstanceRecord): InstanceRecord {
  return {
    instanceId: r.instanceId,
    url: r.url ?? null,
    mode: r.mode === 'passive' ? 'passive' : 'active',
    state: r.state === 'draining' ? 'draining' : 'running',
    startedAt: r.startedAt,
    heartbeatAt: r.heartbeatAt,
    accounts: [...(r.accounts ?? [])],
    maxAccounts: r.maxAccounts ?? 0,
  };
}
