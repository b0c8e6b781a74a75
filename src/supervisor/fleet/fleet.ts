import { NotFoundError, OwnedElsewhereError, serializeError } from '../../domain/errors.js';
import type { AccountRecord, ConnectionStatus } from '../../domain/records.js';
import type { Logger } from '../../logging/logger.js';
import type { InstanceMode, InstanceRecord } from '../../store/instances.js';
import type { Lease, LeaseFence, Store } from '../../store/port.js';
import { OwnerLeases, withTimeout } from './owner-leases.js';
import { planPlacement, type PlacementAccount, type PlacementInstance } from './placement.js';
import { FORGET_AFTER_MS, isAlive, ownerView, validOwner, type OwnerView } from './registry.js';

/**
 * One instance's part in a fleet sharing a store (README, Running several instances): it registers
 * itself with a heartbeat, holds the owner leases of the accounts it runs (`OwnerLeases`), and at
 * every tick claims the free accounts the placement assigns to it and hands over the ones it should
 * shed, a few at a time. The accounts layer (`FleetHost`) runs and stops the actors; this decides
 * which ones, and answers where a command for an account must go.
 */

/** Sessions that need a new pairing: running them would only churn QR codes until a person acts. */
export const PARKED: ReadonlySet<ConnectionStatus | undefined> = new Set(['logged_out', 'forbidden']);

export interface FleetHost {
  /** Run the account's actor: the fleet now holds its owner lease. */
  adopt(accountId: string): void;
  /**
   * Stop the account's actor within `budgetMs`. `handover`: it moves on (a rebalance), flush and leave
   * the status to the next owner; `lost`: the lease is gone or about to expire, write nothing more.
   */
  stopActor(accountId: string, budgetMs: number, mode: 'handover' | 'lost'): Promise<void>;
  /** Of `held`, the accounts it is cheapest to move, best first (settled connections, not mid-pairing). */
  movable(held: readonly string[]): string[];
}

export type FleetEventKind = 'acquired' | 'released' | 'moved' | 'lost' | 'expiring';

export interface FleetOptions {
  store: Store;
  logger: Logger;
  instanceId: string;
  mode: InstanceMode;
  /** The URL other instances forward commands to (known once the HTTP server listens). */
  url: () => string | null;
  maxAccounts: number;
  leaseMs: number;
  tickMs: number;
  maxMovesPerTick: number;
  /**
   * The store is this process's alone (SQLite behind its data-directory lock): any other holder of a
   * lease is a dead predecessor, so leases are taken over at once instead of waiting for expiry.
   */
  exclusive: boolean;
  host: FleetHost;
  onEvent?: (kind: FleetEventKind, accountId: string) => void;
  now?: () => number;
}

/** An instance as the API shows it (`GET /api/whatsapp/instances`). */
export interface InstanceView {
  instanceId: string;
  url: string | null;
  mode: InstanceMode;
  state: InstanceRecord['state'];
  /** Heartbeat fresh (within three ticks) and not draining. */
  alive: boolean;
  self: boolean;
  startedAt: number;
  heartbeatAt: number;
  heartbeatAgeMs: number;
  maxAccounts: number;
  /** The accounts whose valid owner lease it holds, from the leases themselves. */
  accounts: Array<{ accountId: string } & Omit<OwnerView, 'instanceId' | 'url' | 'self' | 'valid'>>;
}

export interface FleetView {
  self: string;
  mode: 'active' | 'passive';
  leaseMs: number;
  tickMs: number;
  instances: InstanceView[];
  /** Claimable accounts nobody holds a valid owner lease of (between owners, or waiting for room). */
  unowned: string[];
  /** Accounts waiting for a person (logged out, forbidden): nobody runs them. */
  parked: string[];
}

export class Fleet {
  private readonly o: FleetOptions;
  private readonly now: () => number;
  readonly leases: OwnerLeases;
  private readonly log: Logger;
  private readonly startedAt: number;
  private instances: InstanceRecord[] = [];
  private freeLast = new Set<string>();
  private freeBefore = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private draining = false;

  constructor(opts: FleetOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.log = opts.logger.child({ component: 'fleet', instanceId: opts.instanceId });
    this.leases = new OwnerLeases({
      store: opts.store,
      holder: opts.instanceId,
      ttlMs: opts.leaseMs,
      logger: this.log,
      now: this.now,
      onExpiring: (lease, budgetMs) => this.stopLost(lease.accountId, budgetMs, 'expiring', lease),
      onLost: (lease) => this.stopLost(lease.accountId, 0, 'lost'),
    });
  }

  /** Registers, runs the first tick (claiming what is free), then ticks every `tickMs`. */
  async start(): Promise<void> {
    this.leases.start();
    if (this.o.exclusive) await this.forgetPredecessors();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.tickMs);
    this.timer.unref();
  }

  /**
   * Whether the registry reports `holder` dead: its record says stopped, or its heartbeat is older
   * than the liveness bound. An instance the registry does not know is not declared dead (its leases
   * simply expire). Lease recovery at start-up asks this (src/supervisor/lease-recovery.ts).
   */
  async holderIsGone(holder: string): Promise<boolean> {
    if (holder === this.o.instanceId) return true;
    const record = (await this.o.store.listInstances()).find((r) => r.instanceId === holder);
    return record !== undefined && !isAlive(record, this.now(), this.o.tickMs);
  }

  /** `passive` while it runs no account (a standby, or draining): what `/ready` reports. */
  get mode(): 'active' | 'passive' {
    if (this.draining) return 'passive';
    return this.o.mode === 'passive' && this.leases.size === 0 ? 'passive' : 'active';
  }

  get instanceId(): string {
    return this.o.instanceId;
  }

  owns(accountId: string): boolean {
    return this.leases.has(accountId);
  }

  fence(accountId: string): LeaseFence | null {
    return this.leases.fence(accountId);
  }

  /** One placement round; ticks never overlap. Public so tests and `create` can run one now. */
  tick(): Promise<void> {
    if (this.draining) return Promise.resolve();
    this.ticking ??= this.runTick().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  /**
   * Where a command for the account runs: 'local' when this instance holds its owner lease; 'none'
   * when nobody holds a valid one; `OwnedElsewhereError` (with the owner's URL) when another does.
   */
  async locate(accountId: string): Promise<'local' | 'none'> {
    if (this.leases.has(accountId)) return 'local';
    const account = await this.requireAccount(accountId);
    const holder = this.liveOwner(account, this.now());
    if (holder === null || holder === this.o.instanceId) return 'none';
    throw new OwnedElsewhereError(accountId, { instanceId: holder, url: await this.urlOf(holder) });
  }

  /**
   * For commands that need the account's actor (a new QR, a pairing code): the owner runs them; an
   * account nobody owns is taken here when this instance may own it, else by the instance the
   * placement would give it to (`OwnedElsewhereError` names it, and the request is forwarded there).
   */
  async claimForCommand(accountId: string): Promise<void> {
    if ((await this.locate(accountId)) === 'local') return;
    const target = this.mayOwnMore() ? this.o.instanceId : this.placementTarget(accountId);
    if (target !== null && target !== this.o.instanceId) {
      throw new OwnedElsewhereError(accountId, { instanceId: target, url: await this.urlOf(target) });
    }
    if (!(await this.claim(accountId))) await this.locate(accountId); // lost a race: name the winner
  }

  /** A new account: taken here at once if the placement gives it to this instance, else by its target's next tick. */
  async placeNew(accountId: string): Promise<void> {
    const target = this.placementTarget(accountId);
    if ((target === null || target === this.o.instanceId) && this.mayOwnMore()) await this.claim(accountId);
  }

  /** The actor stepped aside (a newer owner): forget the lease and stop what is left of it. */
  lost(accountId: string): void {
    if (!this.leases.has(accountId)) return;
    this.leases.forget(accountId);
    this.stopLost(accountId, 1_000, 'lost');
  }

  /** After the account's actor stopped for good (account removed): release its lease. */
  async release(accountId: string): Promise<void> {
    if (!this.leases.has(accountId)) return;
    await this.leases.release(accountId);
    this.o.onEvent?.('released', accountId);
  }

  /** Shutdown, first step: take nothing more, tell the others (registry `draining`). Leases are still renewed. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => undefined);
    await this.heartbeat().catch(() => undefined);
  }

  /** Shutdown, last step (the actors have flushed and stopped): release every lease, leave the registry. */
  async finish(): Promise<void> {
    const held = this.leases.accounts();
    await this.leases.releaseAll();
    for (const id of held) this.o.onEvent?.('released', id);
    this.leases.stop();
    await this.o.store.deleteInstance(this.o.instanceId).catch((err: unknown) => {
      this.log.warn({ err: serializeError(err) }, 'could not remove this instance from the registry');
    });
    if (held.length > 0)
      this.log.info({ released: held.length }, 'owner leases released: the other instances take over at their next tick');
  }

  async view(): Promise<FleetView> {
    const [instances, accounts] = await Promise.all([this.o.store.listInstances(), this.o.store.listAccounts()]);
    const now = this.now();
    const self = this.o.instanceId;
    const owned = new Map<string, InstanceView['accounts']>();
    const unowned: string[] = [];
    const parked: string[] = [];
    for (const a of accounts) {
      const owner = ownerView(a, instances, self, now);
      if (!owner?.valid) (PARKED.has(a.status) ? parked : unowned).push(a.id);
      if (!owner?.valid) continue;
      const { instanceId, url: _url, self: _self, valid: _valid, ...lease } = owner;
      const list = owned.get(instanceId) ?? [];
      list.push({ accountId: a.id, ...lease });
      owned.set(instanceId, list);
    }
    const views: InstanceView[] = instances.map((r) => ({
      instanceId: r.instanceId,
      url: r.url,
      mode: r.mode,
      state: r.state,
      alive: isAlive(r, now, this.o.tickMs),
      self: r.instanceId === self,
      startedAt: r.startedAt,
      heartbeatAt: r.heartbeatAt,
      heartbeatAgeMs: now - r.heartbeatAt,
      maxAccounts: r.maxAccounts,
      accounts: owned.get(r.instanceId) ?? [],
    }));
    return { self, mode: this.mode, leaseMs: this.o.leaseMs, tickMs: this.o.tickMs, instances: views, unowned, parked };
  }

  /** The owner of an account as the API shows it, from the last registry snapshot. */
  ownerOf(account: AccountRecord): OwnerView | null {
    return ownerView(account, this.instances, this.o.instanceId, this.now());
  }

  // ---- internals ---------------------------------------------------------------------------------

  /**
   * Every store call of a tick is bounded (a partition makes calls hang, not fail): a tick that
   * cannot read the fleet skips, and the next one tries again.
   */
  private async runTick(): Promise<void> {
    const bound = Math.max(1_000, this.o.tickMs * 2);
    try {
      await withTimeout(this.heartbeat(), bound, 'heartbeat');
    } catch (err) {
      this.log.warn({ err: serializeError(err) }, 'heartbeat failed');
    }
    let accounts: AccountRecord[];
    try {
      [this.instances, accounts] = await withTimeout(
        Promise.all([this.o.store.listInstances(), this.o.store.listAccounts()]),
        bound,
        'fleet read',
      );
    } catch (err) {
      this.log.warn({ err: serializeError(err) }, 'fleet tick skipped: the store could not be read');
      return;
    }
    if (this.draining) return;
    const now = this.now();
    const snapshot: PlacementAccount[] = accounts.map((a) => ({
      id: a.id,
      // What this instance holds is its own, whatever an unlucky read says.
      holder: this.leases.has(a.id) ? this.o.instanceId : this.liveOwner(a, now),
      claimable: !PARKED.has(a.status),
    }));
    const plan = planPlacement({
      self: this.o.instanceId,
      instances: this.live(now),
      accounts: snapshot,
      freeBefore: this.freeBefore,
      maxMovesPerTick: this.o.maxMovesPerTick,
    });
    const freeNow = new Set(snapshot.filter((a) => a.claimable && a.holder === null).map((a) => a.id));
    this.freeBefore = new Set([...freeNow].filter((id) => this.freeLast.has(id)));
    this.freeLast = freeNow;

    for (let i = 0; i < plan.claim.length; i += CLAIM_CONCURRENCY) {
      await Promise.all(plan.claim.slice(i, i + CLAIM_CONCURRENCY).map((id) => this.claim(id)));
      if (this.draining) return;
    }
    if (plan.moves.length > 0) await this.move(plan.moves.map((m) => m.to));
    await withTimeout(this.forgetSilent(now), bound, 'registry clean-up').catch(() => undefined);
  }

  /**
   * The holder of a valid owner lease, as far as placement and routing are concerned: with an
   * exclusive store every other holder is a dead predecessor, so its leases count as free.
   */
  private liveOwner(account: AccountRecord, now: number): string | null {
    const holder = validOwner(account, now);
    return this.o.exclusive && holder !== this.o.instanceId ? null : holder;
  }

  /** Hands accounts over: each actor flushes and stops before its lease is released (no overlap). */
  private async move(targets: readonly string[]): Promise<void> {
    const victims = this.o.host.movable(this.leases.accounts()).slice(0, targets.length);
    for (const [i, accountId] of victims.entries()) {
      this.log.info({ accountId, to: targets[i] }, 'handing the account over to a less loaded instance');
      await this.o.host.stopActor(accountId, Math.max(1_000, this.o.leaseMs / 3), 'handover');
      await this.leases.release(accountId);
      this.o.onEvent?.('moved', accountId);
    }
  }

  private async claim(accountId: string): Promise<boolean> {
    try {
      const lease = await this.leases.acquire(accountId, { steal: this.o.exclusive, timeoutMs: Math.max(1_000, this.o.tickMs * 2) });
      if (!lease) return false;
      if (this.draining) {
        await this.leases.release(accountId);
        return false;
      }
      this.log.info({ accountId, epoch: lease.epoch }, 'owner lease acquired: starting the account here');
      this.o.onEvent?.('acquired', accountId);
      this.o.host.adopt(accountId);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false; // deleted meanwhile
      this.log.warn({ accountId, err: serializeError(err) }, 'could not acquire the owner lease');
      return false;
    }
  }

  private stopLost(accountId: string, budgetMs: number, kind: 'lost' | 'expiring', lease?: Lease): void {
    this.o.onEvent?.(kind, accountId);
    this.o.host
      .stopActor(accountId, budgetMs, 'lost')
      // Once the actor is gone, and if the store answers again, free the lease now rather than at its
      // expiry (compare-and-release on the epoch: a newer owner's lease is never touched).
      .then(() => (lease ? this.o.store.releaseLease(lease).catch(() => undefined) : undefined))
      .catch((err: unknown) => this.log.error({ accountId, err: serializeError(err) }, 'could not stop the actor of a lost lease'));
  }

  private async heartbeat(): Promise<void> {
    const now = this.now();
    await this.o.store.putInstance({
      instanceId: this.o.instanceId,
      url: this.o.url(),
      mode: this.o.mode,
      state: this.draining ? 'draining' : 'running',
      startedAt: this.startedAt,
      heartbeatAt: now,
      accounts: this.leases.accounts().sort(),
      maxAccounts: this.o.maxAccounts,
    });
  }

  /** The instances that may own accounts now, this one included unless it drains. */
  private live(now: number): PlacementInstance[] {
    const self = this.o.instanceId;
    const others = this.o.exclusive
      ? []
      : this.instances.filter((r) => r.instanceId !== self && isAlive(r, now, this.o.tickMs)).map(toPlacement);
    if (this.draining) return others;
    return [...others, { instanceId: self, mode: this.o.mode, maxAccounts: this.o.maxAccounts }];
  }

  /** Whether this instance should take one more account now (not draining, a receiver, under its cap). */
  private mayOwnMore(): boolean {
    if (this.draining) return false;
    const cap = this.o.maxAccounts;
    if (cap > 0 && this.leases.size >= cap) return false;
    if (this.o.mode === 'active') return true;
    const now = this.now();
    return !this.instances.some((r) => r.instanceId !== this.o.instanceId && r.mode === 'active' && isAlive(r, now, this.o.tickMs));
  }

  /** The least loaded live receiver for a new or free account, by the last snapshot (null: none known). */
  private placementTarget(accountId: string): string | null {
    const now = this.now();
    const plan = planPlacement({
      self: this.o.instanceId,
      instances: this.live(now),
      accounts: [
        ...this.instances.flatMap((r) =>
          r.instanceId === this.o.instanceId
            ? this.leases.accounts().map((id) => ({ id, holder: r.instanceId, claimable: true }))
            : r.accounts.map((id) => ({ id, holder: r.instanceId, claimable: true })),
        ),
        { id: accountId, holder: null, claimable: true },
      ],
      freeBefore: new Set(),
      maxMovesPerTick: 0,
    });
    return plan.assigned.get(accountId) ?? null;
  }

  private async urlOf(instanceId: string): Promise<string | null> {
    let record = this.instances.find((r) => r.instanceId === instanceId);
    if (!record) {
      this.instances = await this.o.store.listInstances();
      record = this.instances.find((r) => r.instanceId === instanceId);
    }
    return record?.url ?? null;
  }

  private async requireAccount(accountId: string): Promise<AccountRecord> {
    const account = await this.o.store.getAccount(accountId);
    if (!account) throw new NotFoundError(`account ${accountId} not found`);
    return account;
  }

  /** SQLite: records of earlier processes on this data directory are of dead instances. */
  private async forgetPredecessors(): Promise<void> {
    for (const r of await this.o.store.listInstances()) {
      if (r.instanceId !== this.o.instanceId) await this.o.store.deleteInstance(r.instanceId);
    }
  }

  private async forgetSilent(now: number): Promise<void> {
    for (const r of this.instances) {
      if (r.instanceId === this.o.instanceId || now - r.heartbeatAt < FORGET_AFTER_MS) continue;
      await this.o.store.deleteInstance(r.instanceId).catch(() => undefined);
    }
  }
}

const CLAIM_CONCURRENCY = 8;

function toPlacement(r: InstanceRecord): PlacementInstance {
  return { instanceId: r.instanceId, mode: r.mode, maxAccounts: r.maxAccounts };
}
