import { RestartIntensity, type RestartIntensityOptions } from './restart-intensity.js';

/**
 * Generic supervision, OTP-style, kept apart from what is supervised (accounts.ts supervises account
 * actors with it): children by id, each restarted after a crash with backoff while its restart
 * intensity allows (`ACTOR_MAX_RESTARTS` within `ACTOR_RESTART_WINDOW_MS`), parked as `failed` past
 * it; stopped gracefully, then by force, within a deadline.
 */

/** One incarnation of a child: what the supervisor needs to run, watch and stop it. */
export interface Incarnation {
  /** Resolves once the child's start-up is done; a rejection leaves it `starting` (its exit tells the rest). */
  readonly started: Promise<void>;
  /** Resolves, with a reason, when the child exits for any cause. */
  readonly exited: Promise<string>;
  readonly alive: boolean;
  /** Asks the child to finish its work and stop, within `budgetMs`. */
  stop(budgetMs: number): Promise<unknown>;
  /** Ends it at once (after a graceful stop ran out of time). */
  terminate(): Promise<void>;
}

export type ChildState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface SupervisorHooks<C> {
  /** The incarnation exited, for whatever reason (also a deliberate stop); it is no longer `live`. */
  onExit?(id: string, child: C, reason: string, deliberate: boolean): void;
  /** A crash that will be restarted after `delayMs`. */
  onRestart?(id: string, reason: string, delayMs: number, restartsInWindow: number): void;
  /** A crash past the restart intensity: the child stays `failed` until `resetIntensity` and `spawn`. */
  onGiveUp?(id: string, why: string): void;
}

export interface SupervisorOptions<C extends Incarnation> {
  /** Starts one incarnation of child `id`. */
  start: (id: string) => C;
  intensity: Omit<RestartIntensityOptions, 'random'>;
  hooks?: SupervisorHooks<C>;
  now?: () => number;
}

interface Slot<C> {
  id: string;
  child: C | null;
  state: ChildState;
  /** Crash restarts since the slot was created. */
  restarts: number;
  /** Why the child last stopped on its own (crash reason, or why it was given up on). */
  reason: string | null;
  intensity: RestartIntensity;
  restartTimer: NodeJS.Timeout | null;
  /** Set while we stop it on purpose: its exit is not a crash. */
  stopping: boolean;
}

export interface ChildStatus {
  state: ChildState;
  restarts: number;
  reason: string | null;
}

/**
 * A stop runs in two phases within one deadline: the child gets the time up to `deadline - reserve` to
 * stop gracefully, then whatever did not stop is terminated. The reserve is what termination itself
 * may take: a tenth of the budget, at most a second.
 */
export function forceReserveMs(budgetMs: number): number {
  return Math.min(1_000, Math.floor(Math.max(0, budgetMs) / 10));
}

export class Supervisor<C extends Incarnation> {
  private readonly o: SupervisorOptions<C>;
  private readonly now: () => number;
  private readonly slots = new Map<string, Slot<C>>();
  private shuttingDown = false;

  constructor(opts: SupervisorOptions<C>) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
  }

  get draining(): boolean {
    return this.shuttingDown;
  }

  /** Starts an incarnation of `id` unless one is alive or the supervisor is shutting down. */
  spawn(id: string): C | null {
    const slot = this.slotFor(id);
    if (this.shuttingDown) return null;
    if (slot.child?.alive) return slot.child;
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
    slot.stopping = false;
    slot.state = 'starting';
    const child = this.o.start(id);
    slot.child = child;
    void child.exited.then((reason) => this.onExit(slot, child, reason));
    child.started.then(
      () => {
        if (slot.child === child && child.alive) slot.state = 'running';
      },
      () => undefined,
    );
    return child;
  }

  /** The live incarnation of `id`, if any. */
  live(id: string): C | null {
    const child = this.slots.get(id)?.child ?? null;
    return child?.alive ? child : null;
  }

  status(id: string): ChildStatus | undefined {
    const slot = this.slots.get(id);
    return slot ? { state: slot.state, restarts: slot.restarts, reason: slot.reason } : undefined;
  }

  /** A fresh restart budget (a child that proved healthy, or an operator's new start). */
  resetIntensity(id: string): void {
    this.slots.get(id)?.intensity.reset();
  }

  /** Stops `id` within `deadline` (graceful, then forced) and forgets it. */
  async remove(id: string, deadline: number): Promise<void> {
    const slot = this.slots.get(id);
    if (!slot) return;
    await this.stopSlot(slot, deadline);
    this.slots.delete(id);
  }

  /** Stops `id` within `deadline` and keeps it as `stopped`. */
  async stop(id: string, deadline: number): Promise<void> {
    const slot = this.slots.get(id);
    if (slot) await this.stopSlot(slot, deadline);
  }

  /**
   * Stops every child within `budgetMs` in all: restarts are cancelled, every child is asked to stop
   * gracefully until `budget - forceReserveMs(budget)`, and what is still running then is terminated.
   * Resolves by the deadline (plus what termination takes).
   */
  async shutdown(budgetMs: number): Promise<void> {
    this.shuttingDown = true;
    const deadline = this.now() + Math.max(0, budgetMs);
    await Promise.all([...this.slots.values()].map((slot) => this.stopSlot(slot, deadline)));
  }

  private slotFor(id: string): Slot<C> {
    let slot = this.slots.get(id);
    if (!slot) {
      slot = {
        id,
        child: null,
        state: 'stopped',
        restarts: 0,
        reason: null,
        intensity: new RestartIntensity(this.o.intensity),
        restartTimer: null,
        stopping: false,
      };
      this.slots.set(id, slot);
    }
    return slot;
  }

  private async stopSlot(slot: Slot<C>, deadline: number): Promise<void> {
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
    const child = slot.child;
    if (!child?.alive) {
      if (slot.state === 'restarting') slot.state = 'stopped';
      return;
    }
    slot.stopping = true;
    const budget = Math.max(0, deadline - this.now());
    const grace = budget - forceReserveMs(budget);
    const stopped = child.stop(grace).then(
      () => true,
      () => false,
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), grace);
    });
    await Promise.race([stopped, late]);
    clearTimeout(timer);
    // Stopped or not, the incarnation ends here: terminate is a no-op for a worker that already exited.
    await child.terminate();
    slot.state = 'stopped';
  }

  private onExit(slot: Slot<C>, child: C, reason: string): void {
    if (slot.child !== child) return;
    const deliberate = slot.stopping || this.shuttingDown;
    this.o.hooks?.onExit?.(slot.id, child, reason, deliberate);
    if (deliberate) {
      slot.state = 'stopped';
      return;
    }
    const decision = slot.intensity.onCrash(this.now());
    slot.restarts += 1;
    slot.reason = reason;
    if (decision.action === 'give-up') {
      slot.state = 'failed';
      const why =
        `restart intensity exceeded: ${decision.restartsInWindow} crashes ` + `within ${this.o.intensity.windowMs} ms; last: ${reason}`;
      slot.reason = why;
      this.o.hooks?.onGiveUp?.(slot.id, why);
      return;
    }
    slot.state = 'restarting';
    this.o.hooks?.onRestart?.(slot.id, reason, decision.delayMs, decision.restartsInWindow);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      this.spawn(slot.id);
    }, decision.delayMs);
  }
}
