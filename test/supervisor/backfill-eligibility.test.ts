import { describe, expect, it } from 'vitest';
import {
  countSkips,
  planAutoBackfill,
  type AutoBackfillFields,
  type AutoBackfillPolicy,
  type Skip,
} from '../../src/supervisor/backfill-eligibility.js';

const NOW = Date.UTC(2026, 0, 17, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const policy: AutoBackfillPolicy = {
  cooldownSuccessMs: 6 * HOUR,
  attemptBackoffMs: 10 * MIN,
  maxAccountsPerTick: 3,
  maxConcurrency: 1,
};

function acc(id: string, f: Omit<Partial<AutoBackfillFields>, 'id'> = {}): AutoBackfillFields {
  return { id, ...f };
}

interface Row {
  name: string;
  accounts: AutoBackfillFields[];
  ready?: string[];
  running?: string[];
  policy?: Partial<AutoBackfillPolicy>;
  start: string[];
  skipped?: Skip[];
}

const rows: Row[] = [
  {
    name: 'a never-run connected account starts',
    accounts: [acc('a')],
    start: ['a'],
    skipped: [],
  },
  {
    name: 'only connected (and caught-up) accounts are eligible',
    accounts: [acc('a'), acc('b'), acc('c')],
    ready: ['b'],
    start: ['b'],
    skipped: [
      { accountId: 'a', reason: 'not_connected' },
      { accountId: 'c', reason: 'not_connected' },
    ],
  },
  {
    name: 'a success within the cooldown is skipped until the cooldown ends',
    accounts: [acc('a', { lastAutoBackfillStatus: 'ok', lastAutoBackfillAt: NOW - HOUR, lastAutoBackfillSuccessAt: NOW - HOUR })],
    start: [],
    skipped: [{ accountId: 'a', reason: 'cooldown', until: NOW + 5 * HOUR }],
  },
  {
    name: 'a success older than the cooldown is eligible again',
    accounts: [acc('a', { lastAutoBackfillStatus: 'ok', lastAutoBackfillAt: NOW - 7 * HOUR, lastAutoBackfillSuccessAt: NOW - 7 * HOUR })],
    start: ['a'],
  },
  {
    name: 'the cooldown boundary: exactly cooldown ago is eligible',
    accounts: [acc('a', { lastAutoBackfillStatus: 'ok', lastAutoBackfillSuccessAt: NOW - 6 * HOUR })],
    start: ['a'],
  },
  {
    name: 'a success stamped in the future (clock skew between instances) counts as recent',
    accounts: [acc('a', { lastAutoBackfillStatus: 'ok', lastAutoBackfillSuccessAt: NOW + MIN })],
    start: [],
    skipped: [{ accountId: 'a', reason: 'cooldown', until: NOW + MIN + 6 * HOUR }],
  },
  {
    name: 'a failed attempt within the backoff is skipped',
    accounts: [acc('a', { lastAutoBackfillStatus: 'error', lastAutoBackfillAt: NOW - 5 * MIN, lastAutoBackfillAttemptAt: NOW - 5 * MIN })],
    start: [],
    skipped: [{ accountId: 'a', reason: 'attempt_backoff', until: NOW + 5 * MIN }],
  },
  {
    name: 'a failed attempt older than the backoff is retried',
    accounts: [acc('a', { lastAutoBackfillStatus: 'error', lastAutoBackfillAttemptAt: NOW - 11 * MIN })],
    start: ['a'],
  },
  {
    name: 'the attempt backoff applies only after an error: a recent attempt still marked running (dead instance) is eligible',
    accounts: [acc('a', { lastAutoBackfillStatus: 'running', lastAutoBackfillAt: NOW - MIN, lastAutoBackfillAttemptAt: NOW - MIN })],
    start: ['a'],
  },
  {
    name: 'an earlier success does not lift the backoff after a later failure… but its own cooldown still counts',
    accounts: [
      acc('old-ok-new-error', {
        lastAutoBackfillStatus: 'error',
        lastAutoBackfillSuccessAt: NOW - 8 * HOUR,
        lastAutoBackfillAttemptAt: NOW - 2 * MIN,
      }),
    ],
    start: [],
    skipped: [{ accountId: 'old-ok-new-error', reason: 'attempt_backoff', until: NOW + 8 * MIN }],
  },
  {
    name: 'ordered by lastAutoBackfillAt ascending, never-run first, ties by id',
    accounts: [
      acc('recent', { lastAutoBackfillStatus: 'ok', lastAutoBackfillAt: NOW - 7 * HOUR, lastAutoBackfillSuccessAt: NOW - 7 * HOUR }),
      acc('never-b'),
      acc('oldest', { lastAutoBackfillStatus: 'ok', lastAutoBackfillAt: NOW - 30 * HOUR, lastAutoBackfillSuccessAt: NOW - 30 * HOUR }),
      acc('never-a', { lastAutoBackfillAt: null }),
      acc('middle', { lastAutoBackfillStatus: 'error', lastAutoBackfillAt: NOW - 9 * HOUR, lastAutoBackfillAttemptAt: NOW - 9 * HOUR }),
    ],
    policy: { maxAccountsPerTick: 10, maxConcurrency: 10 },
    start: ['never-a', 'never-b', 'oldest', 'middle', 'recent'],
    skipped: [],
  },
  {
    name: 'at most maxAccountsPerTick per tick; the rest wait for the next tick',
    accounts: [
      acc('a', { lastAutoBackfillAt: NOW - 4 * HOUR }),
      acc('b'),
      acc('c'),
      acc('d'),
      acc('e', { lastAutoBackfillAt: NOW - 8 * HOUR }),
    ],
    policy: { maxAccountsPerTick: 3, maxConcurrency: 10 },
    start: ['b', 'c', 'd'],
    skipped: [
      { accountId: 'e', reason: 'tick_limit' },
      { accountId: 'a', reason: 'tick_limit' },
    ],
  },
  {
    name: 'at most maxConcurrency at once, counting the runs already going here',
    accounts: [acc('a'), acc('b'), acc('c'), acc('busy')],
    running: ['busy'],
    policy: { maxAccountsPerTick: 3, maxConcurrency: 2 },
    start: ['a'],
    skipped: [
      { accountId: 'busy', reason: 'running_here' },
      { accountId: 'b', reason: 'concurrency_limit' },
      { accountId: 'c', reason: 'concurrency_limit' },
    ],
  },
  {
    name: 'every slot taken: nothing starts',
    accounts: [acc('a'), acc('busy')],
    running: ['busy'],
    start: [],
    skipped: [
      { accountId: 'busy', reason: 'running_here' },
      { accountId: 'a', reason: 'concurrency_limit' },
    ],
  },
  {
    name: 'the default limits (3 per tick, 1 at once) start one account',
    accounts: [acc('a'), acc('b')],
    start: ['a'],
    skipped: [{ accountId: 'b', reason: 'concurrency_limit' }],
  },
  {
    name: 'a zero cooldown and backoff never hold anything back',
    accounts: [
      acc('a', { lastAutoBackfillStatus: 'ok', lastAutoBackfillSuccessAt: NOW }),
      acc('b', { lastAutoBackfillStatus: 'error', lastAutoBackfillAttemptAt: NOW }),
    ],
    policy: { cooldownSuccessMs: 0, attemptBackoffMs: 0, maxConcurrency: 5 },
    start: ['a', 'b'],
  },
];

describe('planAutoBackfill (eligibility, ordering and limits)', () => {
  it.each(rows)('$name', (row) => {
    const ready = new Set(row.ready ?? row.accounts.map((a) => a.id));
    const plan = planAutoBackfill(
      { accounts: row.accounts, isReady: (id) => ready.has(id), runningHere: new Set(row.running ?? []), now: NOW },
      { ...policy, ...row.policy },
    );
    expect(plan.start).toEqual(row.start);
    if (row.skipped) expect(plan.skipped).toEqual(row.skipped);
    // Every account is accounted for exactly once.
    expect([...plan.start, ...plan.skipped.map((s) => s.accountId)].sort()).toEqual(row.accounts.map((a) => a.id).sort());
  });

  it('is a function of its inputs: the injected clock moves an account out of its cooldown', () => {
    const accounts = [acc('a', { lastAutoBackfillStatus: 'ok', lastAutoBackfillSuccessAt: NOW })];
    const at = (now: number) => planAutoBackfill({ accounts, isReady: () => true, runningHere: new Set(), now }, policy).start;
    expect(at(NOW + 6 * HOUR - 1)).toEqual([]);
    expect(at(NOW + 6 * HOUR)).toEqual(['a']);
  });

  it('counts skips by reason for the tick summary', () => {
    expect(
      countSkips([
        { accountId: 'a', reason: 'cooldown' },
        { accountId: 'b', reason: 'cooldown' },
        { accountId: 'c', reason: 'not_connected' },
      ]),
    ).toEqual({ cooldown: 2, not_connected: 1 });
  });
});
