import type { AccountRecord } from '../domain/records.js';

/**
 * Which accounts an auto-backfill tick starts, and why the others wait (README, Automatic backfill and recent sync: connected accounts
 * by `lastAutoBackfillAt` ascending, success cooldown, attempt backoff after a failure, per-tick and
 * per-instance limits). Pure: the clock is an argument, so every rule is table-tested.
 */

export interface AutoBackfillPolicy {
  /** Skip an account whose last success is younger than this. */
  cooldownSuccessMs: number;
  /** After a failed attempt, wait this long before the next one. */
  attemptBackoffMs: number;
  maxAccountsPerTick: number;
  /** Runs at once on this instance, counting those already running. */
  maxConcurrency: number;
}

export type AutoBackfillFields = Pick<
  AccountRecord,
  'id' | 'lastAutoBackfillStatus' | 'lastAutoBackfillAt' | 'lastAutoBackfillAttemptAt' | 'lastAutoBackfillSuccessAt'
>;

export type SkipReason =
  /** Not connected, or connected but WhatsApp has not delivered the offline backlog yet. */
  'not_connected' | 'running_here' | 'cooldown' | 'attempt_backoff' | 'tick_limit' | 'concurrency_limit';

export interface Skip {
  accountId: string;
  reason: SkipReason;
  /** When the cooldown or backoff ends (epoch ms). */
  until?: number;
}

export interface AutoBackfillPlanInput {
  accounts: readonly AutoBackfillFields[];
  /** Connected and caught up: the only accounts a backfill can reach. */
  isReady: (accountId: string) => boolean;
  /** Accounts with an auto backfill in flight on this instance. */
  runningHere: ReadonlySet<string>;
  now: number;
}

export interface AutoBackfillPlan {
  /** Accounts to start now, in order. */
  start: string[];
  skipped: Skip[];
}

export function planAutoBackfill(input: AutoBackfillPlanInput, policy: AutoBackfillPolicy): AutoBackfillPlan {
  const { now } = input;
  const skipped: Skip[] = [];
  const eligible: AutoBackfillFields[] = [];
  for (const account of input.accounts) {
    if (input.runningHere.has(account.id)) {
      skipped.push({ accountId: account.id, reason: 'running_here' });
      continue;
    }
    if (!input.isReady(account.id)) {
      skipped.push({ accountId: account.id, reason: 'not_connected' });
      continue;
    }
    const success = account.lastAutoBackfillSuccessAt ?? null;
    // A success stamped in the future (another instance's clock ahead of ours) counts as recent.
    if (success !== null && now - success < policy.cooldownSuccessMs) {
      skipped.push({ accountId: account.id, reason: 'cooldown', until: success + policy.cooldownSuccessMs });
      continue;
    }
    const attempt = account.lastAutoBackfillAttemptAt ?? null;
    // Only a failure holds retries back; a `running` left by an instance that died is the lease's business.
    if (account.lastAutoBackfillStatus === 'error' && attempt !== null && now - attempt < policy.attemptBackoffMs) {
      skipped.push({ accountId: account.id, reason: 'attempt_backoff', until: attempt + policy.attemptBackoffMs });
      continue;
    }
    eligible.push(account);
  }

  // Never-run first, then the longest-waiting; the id makes equal times deterministic.
  eligible.sort((a, b) => {
    const ta = a.lastAutoBackfillAt ?? null;
    const tb = b.lastAutoBackfillAt ?? null;
    if (ta !== tb) {
      if (ta === null) return -1;
      if (tb === null) return 1;
      return ta - tb;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });

  const freeSlots = Math.max(0, policy.maxConcurrency - input.runningHere.size);
  const take = Math.min(policy.maxAccountsPerTick, freeSlots);
  const limitedBy: SkipReason = freeSlots < policy.maxAccountsPerTick ? 'concurrency_limit' : 'tick_limit';
  const start = eligible.slice(0, take).map((a) => a.id);
  for (const account of eligible.slice(take)) skipped.push({ accountId: account.id, reason: limitedBy });
  return { start, skipped };
}

/** Skip reasons counted by reason, for the tick summary line. */
export function countSkips(skipped: readonly Skip[]): Partial<Record<SkipReason, number>> {
  const counts: Partial<Record<SkipReason, number>> = {};
  for (const s of skipped) counts[s.reason] = (counts[s.reason] ?? 0) + 1;
  return counts;
}
