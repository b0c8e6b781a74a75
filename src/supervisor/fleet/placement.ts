import { createHash } from 'node:crypto';
import type { InstanceMode } from '../../store/instances.js';

/**
 * Where accounts should run, decided from one snapshot of the registry and the owner leases. Pure:
 * every instance computes the same plan from the same snapshot, and each carries out only its own
 * part of it (the claims assigned to it, the moves it is the source of). The leases' transactions
 * keep two instances from ever owning one account even when their snapshots differ; this keeps
 * them from wasting acquisitions and reconnects on it.
 */

export interface PlacementInstance {
  instanceId: string;
  mode: InstanceMode;
  /** 0: no cap. */
  maxAccounts: number;
}

export interface PlacementAccount {
  id: string;
  /** Holder of a valid (unexpired) owner lease, or null when the account is free to take. */
  holder: string | null;
  /** False for accounts nobody should run until a person acts (logged out, forbidden). */
  claimable: boolean;
}

export interface PlacementInput {
  /** The instance computing the plan. */
  self: string;
  /** Instances that may own accounts now: fresh heartbeat, not draining (`self` among them unless it drains). */
  instances: readonly PlacementInstance[];
  accounts: readonly PlacementAccount[];
  /**
   * Accounts `self` found free at each of its last two ticks: whichever instance they were assigned to
   * has had a whole tick to take them and did not (alive in the registry, but not claiming), so
   * whoever has room may. One tick would not do: ticks are not in step, and an account handed over a
   * moment ago would be snatched before its receiver's tick came.
   */
  freeBefore: ReadonlySet<string>;
  /** Moves one instance may start per tick (REBALANCE_MAX_MOVES_PER_TICK). */
  maxMovesPerTick: number;
}

export interface PlacementPlan {
  /** Free accounts `self` should acquire now. */
  claim: string[];
  /** Every free claimable account with the instance the plan gives it to. */
  assigned: Map<string, string>;
  /** How many of its accounts `self` should hand over now, and to whom (the receiver claims them next tick). */
  moves: Array<{ to: string }>;
  /** Accounts per instance once the plan's claims are made (what the planner balanced). */
  loads: Map<string, number>;
}

export function planPlacement(input: PlacementInput): PlacementPlan {
  const { self, instances } = input;
  const loads = new Map<string, number>(instances.map((i) => [i.instanceId, 0]));
  for (const a of input.accounts) if (a.holder !== null && loads.has(a.holder)) loads.set(a.holder, loads.get(a.holder)! + 1);
  const byId = new Map(instances.map((i) => [i.instanceId, i]));
  const hasRoom = (id: string): boolean => {
    const cap = byId.get(id)?.maxAccounts ?? 0;
    return cap === 0 || loads.get(id)! < cap;
  };
  // Standbys take accounts only when no active instance has room for them.
  const receivers = (): PlacementInstance[] => {
    const active = instances.filter((i) => i.mode === 'active' && hasRoom(i.instanceId));
    return active.length > 0 ? active : instances.filter((i) => i.mode === 'passive' && hasRoom(i.instanceId));
  };

  const claim: string[] = [];
  const assigned = new Map<string, string>();
  const free = input.accounts.filter((a) => a.claimable && a.holder === null).sort((a, b) => compare(a.id, b.id));
  for (const account of free) {
    const candidates = receivers();
    if (candidates.length === 0) break;
    const target = leastLoaded(candidates, loads, account.id);
    const selfMay = candidates.some((c) => c.instanceId === self);
    const mine = target === self || (selfMay && input.freeBefore.has(account.id));
    const taker = mine ? self : target;
    loads.set(taker, loads.get(taker)! + 1);
    assigned.set(account.id, taker);
    if (mine) claim.push(account.id);
  }

  // Moves wait for a calm fleet: nothing free (no failover under way) and a move budget.
  const moves: Array<{ to: string }> = [];
  if (free.length > 0 || input.maxMovesPerTick <= 0 || !byId.has(self)) return { claim, assigned, moves, loads };
  const budget = new Map(instances.map((i) => [i.instanceId, input.maxMovesPerTick]));
  const move = (from: string, to: string): void => {
    loads.set(from, loads.get(from)! - 1);
    loads.set(to, loads.get(to)! + 1);
    budget.set(from, budget.get(from)! - 1);
    if (from === self) moves.push({ to });
  };
  const overCap = (id: string): boolean => {
    const cap = byId.get(id)!.maxAccounts;
    return cap > 0 && loads.get(id)! > cap;
  };
  const active = instances.filter((i) => i.mode === 'active');
  const sources = instances.map((i) => i.instanceId).sort(compare);
  for (let guard = 0; guard < input.maxMovesPerTick * instances.length; guard++) {
    // Over its cap, or a standby while an active instance has room: hand accounts on.
    const forced = sources.find(
      (id) =>
        budget.get(id)! > 0 && loads.get(id)! > 0 && (overCap(id) || (byId.get(id)!.mode === 'passive' && activeWithRoom().length > 0)),
    );
    if (forced) {
      const to = leastLoaded(
        byId.get(forced)!.mode === 'passive' ? activeWithRoom() : receivers().filter((r) => r.instanceId !== forced),
        loads,
      );
      if (!to) break;
      move(forced, to);
      continue;
    }
    // Balance among the active instances: the most loaded gives one to the least loaded while that
    // narrows the gap (a difference of 1 is as even as it gets).
    const withBudget = active.filter((i) => budget.get(i.instanceId)! > 0);
    if (withBudget.length === 0) break;
    const from = mostLoaded(withBudget, loads);
    const to = leastLoaded(
      active.filter((i) => i.instanceId !== from && hasRoom(i.instanceId)),
      loads,
    );
    if (!to || loads.get(from)! - loads.get(to)! < 2) break;
    move(from, to);
  }
  return { claim, assigned, moves, loads };

  function activeWithRoom(): PlacementInstance[] {
    return instances.filter((i) => i.mode === 'active' && hasRoom(i.instanceId));
  }
}

/** Fewest accounts; ties broken per account by a hash, so equal instances share a burst of free accounts evenly. */
function leastLoaded(candidates: readonly PlacementInstance[], loads: ReadonlyMap<string, number>, accountId = ''): string {
  let best: PlacementInstance | undefined;
  for (const c of candidates) {
    if (!best) {
      best = c;
      continue;
    }
    const dl = loads.get(c.instanceId)! - loads.get(best.instanceId)!;
    if (dl < 0 || (dl === 0 && compare(tieKey(accountId, c.instanceId), tieKey(accountId, best.instanceId)) < 0)) best = c;
  }
  return best?.instanceId ?? '';
}

function mostLoaded(candidates: readonly PlacementInstance[], loads: ReadonlyMap<string, number>): string {
  let best = candidates[0]!;
  for (const c of candidates) {
    const dl = loads.get(c.instanceId)! - loads.get(best.instanceId)!;
    if (dl > 0 || (dl === 0 && compare(c.instanceId, best.instanceId) < 0)) best = c;
  }
  return best.instanceId;
}

function tieKey(accountId: string, instanceId: string): string {
  return createHash('sha1').update(`${accountId}\u0000${instanceId}`).digest('hex');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
