/**
 * Exponential backoff, the one formula every retry loop uses: the step doubles from `baseMs` with
 * each attempt up to `maxMs`, and the wait is drawn from it with jitter so that retries of many
 * accounts (or many commits) never fall into lockstep.
 * - `equal` jitter waits between half the step and the step: never less than half, so a reconnect or
 *   an actor restart always backs off (reconnect policy, restart intensity);
 * - `full` jitter waits anywhere from 0 to the step: the spread that clears contention fastest
 *   (store write retries: batch writer, Firestore commits).
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Default `equal`. */
  jitter?: 'equal' | 'full';
  /** Returns [0, 1): injectable for tests. */
  random?: () => number;
}

/** The un-jittered step of attempt `attempt` (1-based; 0 and below count as 1). */
export function backoffStep(attempt: number, opts: Pick<BackoffOptions, 'baseMs' | 'maxMs'>): number {
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
}

export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const step = backoffStep(attempt, opts);
  const r = (opts.random ?? Math.random)();
  return opts.jitter === 'full' ? Math.floor(r * step) : Math.round(step / 2 + r * (step / 2));
}
