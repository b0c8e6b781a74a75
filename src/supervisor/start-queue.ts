/**
 * Starts many children a few at a time. With 100 stored accounts (a cold start, or a takeover of a
 * dead instance's accounts), starting every actor at once means 100 worker threads compiling the same
 * modules and opening 100 sockets in the same second: the process's cores are saturated for a minute,
 * the main thread's event loop stalls for seconds (it serves the API and renews the owner leases
 * meanwhile), and the WhatsApp servers see a burst of logins from one address.
 * Instead at most `concurrency` children are starting at any time, each after a random delay of up to
 * `jitterMs`; a child holds its slot until its start settles (its connection opened, or it needs a
 * person, or it failed) or `timeoutMs` passes, whichever is first. Children can be added at any time
 * (the fleet adopts accounts tick after tick) and leave the queue before their turn.
 */
export interface StartQueueOptions {
  /** Children starting at the same time (≥ 1). */
  concurrency: number;
  /** Random delay before each start, uniform in [0, jitterMs). */
  jitterMs: number;
  /** A start that has not settled by then frees its slot anyway (0 = wait for it however long). */
  timeoutMs: number;
  /**
   * Starts `id` and resolves (or rejects: it counts the same) when its start has settled. Returns
   * null when the child no longer needs starting (removed meanwhile, started by someone else).
   */
  start: (id: string) => Promise<unknown> | null;
  random?: () => number;
  /** Stops the queue: children not started yet are not started. */
  cancelled?: () => boolean;
}

export interface StartQueueResult {
  started: number;
  /** Starts that freed their slot by timing out. */
  timedOut: number;
}

export class StartQueue {
  private readonly concurrency: number;
  private readonly random: () => number;
  /** Children waiting for a slot, in arrival order. */
  private readonly waiting = new Set<string>();
  /** Children that hold a slot but are not started yet (their jitter delay). */
  private readonly delayed = new Set<string>();
  private lanes = 0;
  private readonly counts: StartQueueResult = { started: 0, timedOut: 0 };
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly o: StartQueueOptions) {
    this.concurrency = Math.max(1, Math.floor(o.concurrency));
    this.random = o.random ?? Math.random;
  }

  /** Queues `id` (once: a child already waiting keeps its place) and starts what the slots allow. */
  add(id: string): void {
    if (this.waiting.has(id) || this.delayed.has(id)) return;
    this.waiting.add(id);
    // Lanes take work until none waits, so a lane is only missing when fewer than `concurrency` run.
    if (this.lanes < this.concurrency) this.openLane();
  }

  /** Takes `id` out of the queue if it has not started yet; true when it was there. */
  delete(id: string): boolean {
    return this.waiting.delete(id) || this.delayed.delete(id);
  }

  /** Whether `id` waits for its start (queued, or in its jitter delay). */
  has(id: string): boolean {
    return this.waiting.has(id) || this.delayed.has(id);
  }

  /** Starts so far (cumulative). */
  get result(): StartQueueResult {
    return { ...this.counts };
  }

  /** Resolves with the cumulative counts once nothing waits and no start is in flight. */
  idle(): Promise<StartQueueResult> {
    if (this.lanes === 0) return Promise.resolve(this.result);
    return new Promise((resolve) => this.idleWaiters.push(() => resolve(this.result)));
  }

  private openLane(): void {
    this.lanes += 1;
    void this.lane().finally(() => {
      this.lanes -= 1;
      if (this.lanes > 0) return;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    });
  }

  private async lane(): Promise<void> {
    for (;;) {
      const id = this.waiting.values().next();
      if (id.done) return;
      this.waiting.delete(id.value);
      this.delayed.add(id.value);
      if (this.o.jitterMs > 0) await sleep(Math.floor(this.random() * this.o.jitterMs));
      // Left the queue during its delay (removed, stopped, or the whole queue cancelled).
      if (!this.delayed.delete(id.value)) continue;
      if (this.o.cancelled?.()) {
        this.waiting.clear();
        return;
      }
      let settled: Promise<unknown> | null;
      try {
        settled = this.o.start(id.value);
      } catch (err) {
        settled = Promise.reject(err);
      }
      if (!settled) continue;
      this.counts.started += 1;
      if (!(await settleWithin(settled, this.o.timeoutMs))) this.counts.timedOut += 1;
    }
  }
}

/** Starts `ids` in order through a fresh queue; resolves when every one has started or been skipped. */
export function startStaggered(ids: readonly string[], o: StartQueueOptions): Promise<StartQueueResult> {
  const queue = new StartQueue(o);
  for (const id of ids) queue.add(id);
  return queue.idle();
}

/** True when `p` settled (either way) within `ms`; `ms` 0 waits without limit. */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  const done = p.then(
    () => true,
    () => true,
  );
  if (ms <= 0) return done;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
