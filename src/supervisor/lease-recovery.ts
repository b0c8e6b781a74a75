import os from 'node:os';
import { serializeError } from '../domain/errors.js';
import type { AccountRecord } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { LeaseName, Store } from '../store/port.js';

/**
 * Whether the instance named `holder` is gone for good, so its leases can be taken back now instead of
 * waiting for them to expire. The default knows one case for sure: this instance's own id, at start-up,
 * is a previous run of this process (one `INSTANCE_ID` per process; README, Deploy). The fleet's instance
 * registry (issue 10) plugs in here with "no heartbeat from that instance for N seconds".
 */
export type HolderIsGone = (holder: string) => boolean | Promise<boolean>;

/**
 * The default `INSTANCE_ID` is `hostname-pid`, so after a restart the previous process's leases carry
 * another id. A holder of that form naming this host and a process id that no longer runs here is a
 * dead previous process (`kill(pid, 0)` answers ESRCH). Ids set by the operator never match this
 * unless they follow the same form on purpose.
 */
export function deadLocalProcess(holder: string, host = os.hostname()): boolean {
  if (!holder.startsWith(`${host}-`)) return false;
  const pid = holder.slice(host.length + 1);
  if (!/^\d{1,10}$/.test(pid)) return false;
  if (Number(pid) === process.pid) return true; // this process: at start-up nothing of ours runs yet
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface LeaseRecoveryOptions {
  store: Pick<Store, 'listAccounts' | 'patchAccount' | 'releaseLease'>;
  instanceId: string;
  log: Logger;
  now?: () => number;
  /** Extra knowledge about other holders (the instance registry); our own id always counts as gone. */
  holderIsGone?: HolderIsGone;
}

export interface LeaseRecoveryResult {
  /** Leases released, as `accountId:leaseName`. */
  released: string[];
  /** Accounts whose auto backfill was left `running` and is now `error: interrupted`. */
  interrupted: string[];
}

/** The leases a run can leave behind; `owner` (the account itself) is the fleet's business. */
const RUN_LEASES: ReadonlyArray<{
  name: LeaseName;
  holder: keyof AccountRecord;
  until: keyof AccountRecord;
  acquiredAt: keyof AccountRecord;
  epoch: keyof AccountRecord;
}> = [
  {
    name: 'autoBackfill',
    holder: 'autoBackfillLeaseHolder',
    until: 'autoBackfillLeaseUntil',
    acquiredAt: 'autoBackfillLeaseAcquiredAt',
    epoch: 'autoBackfillLeaseEpoch',
  },
  {
    name: 'recentSync',
    holder: 'recentSyncLeaseHolder',
    until: 'recentSyncLeaseUntil',
    acquiredAt: 'recentSyncLeaseAcquiredAt',
    epoch: 'recentSyncLeaseEpoch',
  },
];

/** What `lastAutoBackfillResult.error` says about a run that no longer exists. */
export const INTERRUPTED = 'interrupted';

/**
 * Start-up, before the scheduler runs: runs that died with a previous process (kill -9, a crash, a
 * power cut) must neither hold their leases for the rest of the lease time nor leave the account saying
 * `running`. For each account, a run lease held by a gone holder is released, and an auto backfill
 * still marked `running` whose lease is gone, expired or held by a gone holder becomes
 * `error: interrupted` — the scheduler then retries it after `AUTO_BACKFILL_ATTEMPT_BACKOFF_MS`, as after
 * any failed attempt (the attempt time stays that of the interrupted run).
 *
 * The status is written before the lease is released, so another instance cannot start a run in
 * between and have its `running` overwritten. Releasing checks the holder in the store, so a lease
 * another instance took meanwhile is left alone.
 */
export async function recoverInterruptedRuns(o: LeaseRecoveryOptions): Promise<LeaseRecoveryResult> {
  const now = (o.now ?? Date.now)();
  const gone = async (holder: string | null): Promise<boolean> => {
    if (holder === null) return false;
    if (holder === o.instanceId || deadLocalProcess(holder)) return true;
    return (await o.holderIsGone?.(holder)) ?? false;
  };
  const result: LeaseRecoveryResult = { released: [], interrupted: [] };
  for (const account of await o.store.listAccounts()) {
    try {
      const autoHolder = (account.autoBackfillLeaseHolder as string | null | undefined) ?? null;
      const autoUntil = (account.autoBackfillLeaseUntil as number | null | undefined) ?? null;
      if (account.lastAutoBackfillStatus === 'running') {
        const orphaned = autoHolder === null || autoUntil === null || autoUntil <= now || (await gone(autoHolder));
        if (orphaned) {
          const attemptAt = account.lastAutoBackfillAttemptAt ?? now;
          await o.store.patchAccount(account.id, {
            lastAutoBackfillStatus: 'error',
            lastAutoBackfillResult: {
              threads: 0,
              messages: 0,
              errors: 1,
              threadResults: [],
              durationMs: Math.max(0, now - attemptAt),
              error: INTERRUPTED,
            },
          });
          result.interrupted.push(account.id);
        }
      }
      for (const lease of RUN_LEASES) {
        const holder = (account[lease.holder] as string | null | undefined) ?? null;
        if (!(await gone(holder))) continue;
        await o.store.releaseLease({
          accountId: account.id,
          name: lease.name,
          holder: holder!,
          acquiredAt: (account[lease.acquiredAt] as number | null | undefined) ?? 0,
          until: (account[lease.until] as number | null | undefined) ?? 0,
          epoch: (account[lease.epoch] as number | null | undefined) ?? 0,
        });
        result.released.push(`${account.id}:${lease.name}`);
      }
    } catch (err) {
      o.log.warn({ accountId: account.id, err: serializeError(err) }, 'could not recover the leases of an interrupted run');
    }
  }
  if (result.released.length > 0 || result.interrupted.length > 0) {
    o.log.warn(
      { released: result.released.length, interrupted: result.interrupted.length },
      'recovered runs interrupted by the end of a previous process: leases released, auto backfills marked error: interrupted',
    );
  }
  return result;
}
