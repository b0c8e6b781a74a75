/**
 * Starts many children a few at a time. With 100 stored accounts, starting every actor at once means
 * 100 worker threads compiling the same modules and opening 100 sockets in the same second: the
 * process's cores are saturated for a minute, the main thread's event loop stalls for seconds (it
 * serves the API meanwhile), and the WhatsApp servers see a burst of logins from one address.
 * Instead at most `concurrency` children are starting at any time, each after a random delay of up to
 * `jitterMs`; a child holds its slot until its start settles (its connection opened, or it needs a
 * person, or it failed) or `timeoutMs` passes, whichever is first.
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

export async function startStaggered(ids: readonly string[], o: StartQueueOptions): Promise<StartQueueResult> {
  const random = o.random ?? Math.random;
  const concurrency = Math.max(1, Math.floor(o.concurrency));
  const result: StartQueueResult = { started: 0, timedOut: 0 };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++]!;
      if (o.jitterMs > 0) await sleep(Math.floor(random() * o.jitterMs));
      if (o.cancelled?.()) return;
      const settled = o.start(id);
      if (!settled) continue;
      result.started += 1;
      if (await settleWithin(settled, o.timeoutMs)) continue;
      result.timedOut += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, lane));
  return result;
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
