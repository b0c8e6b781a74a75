import { MessageChannel, Worker, type ResourceLimits } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { WasyncError, deserializeError, serializeError } from '../domain/errors.js';
import {
  parseActorEvent,
  parseActorResult,
  type ActorApi,
  type ActorEvent,
  type ActorInit,
  type ActorResult,
} from '../account-actor/protocol.js';
import type { LeaseFence } from '../store/port.js';

// Workers run compiled JS: under vitest this module is loaded from source, so point at the build
// (vitest's globalSetup, test/support/build-before-tests.ts, brings dist/ up to date first).
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/src/account-actor/worker-main.js', import.meta.url)
  : new URL('../account-actor/worker-main.js', import.meta.url);

export type ActorExit = { code: number; error: Error | null };

/**
 * The supervisor's side of one actor incarnation. comlink leaves calls pending forever when the
 * worker dies; every call here is tracked so that a dead worker rejects them all at once with
 * `ACTOR_DEAD`, and the `{ok, error}` results are turned back into typed errors with their codes.
 */
export class ActorHandle {
  readonly accountId: string;
  private readonly worker: Worker;
  private readonly remote: Comlink.Remote<ActorApi>;
  private readonly pending = new Set<(err: Error) => void>();
  private deadError: WasyncError | null = null;
  readonly exited: Promise<ActorExit>;
  readonly ready: Promise<void>;

  constructor(opts: {
    accountId: string;
    env: Record<string, string>;
    /** The owner lease the incarnation runs under (see `ActorInit.fence`); null: unfenced. */
    fence?: LeaseFence | null;
    resourceLimits?: ResourceLimits;
    onEvent: (event: ActorEvent) => void;
  }) {
    this.accountId = opts.accountId;
    const { port1, port2 } = new MessageChannel();
    const init: ActorInit = { accountId: opts.accountId, env: opts.env, commandPort: port2, fence: opts.fence ?? null };
    this.worker = new Worker(WORKER_URL, {
      workerData: init,
      transferList: [port2],
      env: opts.env,
      resourceLimits: opts.resourceLimits,
      name: `actor:${opts.accountId}`,
    });
    this.remote = Comlink.wrap<ActorApi>(nodeEndpoint(port1));
    let lastError: Error | null = null;
    let markReady: () => void = () => undefined;
    let failReady: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => undefined);
    this.worker.on('message', (data: unknown) => {
      let event: ActorEvent;
      try {
        event = parseActorEvent(data, opts.accountId);
      } catch (err) {
        // Dropped, and reported the way the actor reports its own errors.
        opts.onEvent({ type: 'error', accountId: opts.accountId, error: serializeError(err), context: 'actor protocol' });
        return;
      }
      if (event.type === 'ready') markReady();
      opts.onEvent(event);
    });
    this.worker.on('error', (err) => {
      lastError = err;
    });
    this.exited = new Promise<ActorExit>((resolve) => {
      this.worker.once('exit', (code) => {
        const reason = lastError ? `${lastError.name}: ${lastError.message}` : `exited with code ${code}`;
        this.deadError = new WasyncError('ACTOR_DEAD', `the account actor stopped (${reason})`);
        for (const reject of this.pending) reject(this.deadError);
        this.pending.clear();
        failReady(this.deadError);
        port1.close();
        resolve({ code, error: lastError });
      });
    });
  }

  get alive(): boolean {
    return this.deadError === null;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /** Calls a command; rejects with the actor's typed error, or `ACTOR_DEAD` the moment the worker dies. */
  call<K extends keyof ActorApi>(method: K, ...args: Parameters<ActorApi[K]>): Promise<ResultValue<ReturnType<ActorApi[K]>>> {
    if (this.deadError) return Promise.reject(this.deadError);
    return new Promise((resolve, reject) => {
      const onDead = (err: Error): void => reject(err);
      this.pending.add(onDead);
      const fn = this.remote[method] as unknown as (...a: unknown[]) => Promise<ActorResult<unknown>>;
      fn(...args).then(
        (answer) => {
          this.pending.delete(onDead);
          let res: ActorResult<unknown>;
          try {
            res = parseActorResult(answer, method);
          } catch (err) {
            reject(err);
            return;
          }
          if (res.ok) resolve(res.value as ResultValue<ReturnType<ActorApi[K]>>);
          else reject(deserializeError(res.error));
        },
        (err: unknown) => {
          this.pending.delete(onDead);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  /** Hard stop (after a graceful `stop` timed out, or on a second signal). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

type ResultValue<P> = P extends Promise<ActorResult<infer T>> ? T : never;
