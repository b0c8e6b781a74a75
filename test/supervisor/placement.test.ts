import { describe, expect, it } from 'vitest';
import { planPlacement, type PlacementAccount, type PlacementInstance } from '../../src/supervisor/fleet/placement.js';

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
const active = (instanceId: string, maxAccounts = 0): PlacementInstance => ({ instanceId, mode: 'active', maxAccounts });
const passive = (instanceId: string, maxAccounts = 0): PlacementInstance => ({ instanceId, mode: 'passive', maxAccounts });

/**
 * A fleet stepped tick by tick the way instances run the planner: every instance plans from the same
 * snapshot, acquisitions are exclusive (the first acquirer wins, as the lease transaction decides),
 * moves release an account that the receiver claims at a later tick.
 */
class Fleet {
  readonly owner = new Map<string, string | null>();
  /** Free at the previous tick, and at the one before (what an instance passes as `freeBefore`). */
  private freeLast = new Set<string>();
  private freeBefore = new Set<string>();
  /** Claims that lost the acquisition to another instance's. */
  conflicts = 0;
  movesPerTick: number[] = [];
  constructor(
    public instances: PlacementInstance[],
    accounts: string[],
    private readonly maxMoves = 2,
    readonly parked = new Set<string>(),
  ) {
    for (const a of accounts) this.owner.set(a, null);
  }
  snapshot(): PlacementAccount[] {
    return [...this.owner].map(([id, holder]) => ({ id, holder, claimable: !this.parked.has(id) }));
  }
  tick(): { claims: Map<string, string[]>; moved: number } {
    const snapshot = this.snapshot();
    const claims = new Map<string, string[]>();
    let moved = 0;
    const plans = this.instances.map((i) => ({
      id: i.instanceId,
      plan: planPlacement({
        self: i.instanceId,
        instances: this.instances,
        accounts: snapshot,
        freeBefore: this.freeBefore,
        maxMovesPerTick: this.maxMoves,
      }),
    }));
    for (const { id, plan } of plans) {
      claims.set(id, plan.claim);
      for (const a of plan.claim) {
        if (this.owner.get(a) === null) this.owner.set(a, id);
        else this.conflicts++;
      }
      expect(plan.moves.length).toBeLessThanOrEqual(this.maxMoves);
      const mine = [...this.owner].filter(([, h]) => h === id).map(([a]) => a);
      for (const _ of plan.moves) {
        const victim = mine.pop();
        if (victim) {
          this.owner.set(victim, null);
          moved++;
        }
      }
    }
    const freeNow = new Set([...this.owner].filter(([, h]) => h === null).map(([a]) => a));
    this.freeBefore = new Set([...freeNow].filter((a) => this.freeLast.has(a)));
    this.freeLast = freeNow;
    this.movesPerTick.push(moved);
    return { claims, moved };
  }
  loads(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.instances.map((i) => [i.instanceId, 0]));
    for (const h of this.owner.values()) if (h !== null && h in out) out[h]! += 1;
    return out;
  }
  settle(maxTicks = 50): number {
    for (let t = 1; t <= maxTicks; t++) {
      const { claims, moved } = this.tick();
      if (moved === 0 && [...claims.values()].every((c) => c.length === 0)) {
        expect(this.conflicts, 'claims that collided').toBe(0);
        return t;
      }
    }
    throw new Error('the fleet never settled');
  }
}

describe('planPlacement', () => {
  it('30 new accounts on 3 instances: one tick, 10 each, no account claimed twice', () => {
    const fleet = new Fleet([active('a'), active('b'), active('c')], ids('acc', 30));
    const { claims } = fleet.tick();
    expect([...claims.values()].flat().sort()).toEqual(ids('acc', 30));
    expect(fleet.loads()).toEqual({ a: 10, b: 10, c: 10 });
  });

  it('a dead instance: its accounts split evenly between the survivors in one tick', () => {
    const fleet = new Fleet([active('a'), active('b'), active('c')], ids('acc', 30));
    fleet.settle();
    for (const [a, h] of fleet.owner) if (h === 'c') fleet.owner.set(a, null);
    fleet.instances = [active('a'), active('b')];
    const { claims, moved } = fleet.tick();
    expect(moved).toBe(0);
    expect(claims.get('a')!.length + claims.get('b')!.length).toBe(10);
    expect(fleet.loads()).toEqual({ a: 15, b: 15 });
  });

  it('a fourth instance: accounts move to it gradually, at most the move budget per instance and tick, ending even', () => {
    const fleet = new Fleet([active('a'), active('b'), active('c')], ids('acc', 30), 1);
    fleet.settle();
    fleet.instances = [...fleet.instances, active('d')];
    const ticks = fleet.settle();
    const loads = Object.values(fleet.loads());
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
    expect(loads.reduce((x, y) => x + y)).toBe(30);
    // Gradual: never more than one move per instance per tick, spread over several ticks.
    expect(Math.max(...fleet.movesPerTick)).toBeLessThanOrEqual(3);
    expect(ticks).toBeGreaterThan(2);
    // Exactly the moves needed: 10/10/10 → 8/8/7/7 (or a permutation) is 7 moves, never one more.
    expect(fleet.movesPerTick.reduce((x, y) => x + y)).toBe(7);
  });

  it('MAX_ACCOUNTS_PER_INSTANCE: nobody takes more than its cap; what does not fit stays free', () => {
    const fleet = new Fleet([active('a', 4), active('b', 4)], ids('acc', 10));
    fleet.settle();
    expect(fleet.loads()).toEqual({ a: 4, b: 4 });
    expect([...fleet.owner.values()].filter((h) => h === null)).toHaveLength(2);
  });

  it('a lowered cap makes the instance hand its excess to others', () => {
    const fleet = new Fleet([active('a'), active('b')], ids('acc', 10));
    fleet.settle();
    fleet.instances = [active('a', 2), active('b')];
    fleet.settle();
    expect(fleet.loads()).toEqual({ a: 2, b: 8 });
  });

  it('a passive standby takes accounts only when no active instance can, and hands them back when one returns', () => {
    const fleet = new Fleet([active('a'), passive('s')], ids('acc', 6));
    fleet.settle();
    expect(fleet.loads()).toEqual({ a: 6, s: 0 });
    // a dies: its accounts go free, and the standby is needed.
    for (const a of fleet.owner.keys()) fleet.owner.set(a, null);
    fleet.instances = [passive('s')];
    fleet.tick();
    expect(fleet.loads()).toEqual({ s: 6 });
    // a (or a new active instance) is back: the standby empties itself, gradually.
    fleet.instances = [active('a'), passive('s')];
    const { moved } = fleet.tick();
    expect(moved).toBe(2);
    fleet.settle();
    expect(fleet.loads()).toEqual({ a: 6, s: 0 });
  });

  it('a standby also covers what full active instances cannot take', () => {
    const fleet = new Fleet([active('a', 3), passive('s')], ids('acc', 5));
    fleet.settle();
    expect(fleet.loads()).toEqual({ a: 3, s: 2 });
  });

  it('parked accounts (logged out, forbidden) are never claimed', () => {
    const fleet = new Fleet([active('a')], ids('acc', 3), 2, new Set(['acc001']));
    fleet.settle();
    expect(fleet.owner.get('acc001')).toBeNull();
    expect(fleet.loads()).toEqual({ a: 2 });
  });

  it('an account its assigned instance did not take is claimed at the next tick by whoever has room', () => {
    const instances = [active('a'), active('b')];
    const accounts: PlacementAccount[] = ids('acc', 4).map((id) => ({ id, holder: null, claimable: true }));
    const plan = (self: string, freeBefore: Set<string>) =>
      planPlacement({ self, instances, accounts, freeBefore, maxMovesPerTick: 2 }).claim;
    const forB = plan('b', new Set());
    expect(forB.length).toBe(2);
    // b never acts (alive in the registry, stuck); a saw those accounts free last tick: it takes them.
    expect(plan('a', new Set(forB))).toEqual(expect.arrayContaining(forB));
  });

  it('no moves while accounts are free (a failover is under way)', () => {
    const accounts: PlacementAccount[] = [
      ...ids('x', 6).map((id) => ({ id, holder: 'a', claimable: true })),
      { id: 'free', holder: null, claimable: true },
    ];
    const plan = planPlacement({ self: 'a', instances: [active('a'), active('b')], accounts, freeBefore: new Set(), maxMovesPerTick: 2 });
    expect(plan.moves).toEqual([]);
  });

  it('a draining instance (absent from the live list) claims nothing', () => {
    const accounts: PlacementAccount[] = ids('acc', 3).map((id) => ({ id, holder: null, claimable: true }));
    const plan = planPlacement({ self: 'a', instances: [active('b')], accounts, freeBefore: new Set(ids('acc', 3)), maxMovesPerTick: 2 });
    expect(plan).toMatchObject({ claim: [], moves: [] });
  });
});
