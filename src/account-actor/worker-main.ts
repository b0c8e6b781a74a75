import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
// comlink's Node adapter turns a worker MessagePort into the Endpoint comlink speaks; comlink gives
// us typed RPC proxies for the actor's commands without a hand-written request/response protocol.
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { loadConfig } from '../config/index.js';
import { serializeError } from '../domain/errors.js';
import { accountLogger, createLogger } from '../logging/logger.js';
import { openStore } from '../store/open.js';
import { createConnector } from '../connectors/index.js';
import { AccountActor } from './account-actor.js';
import { LoopMonitor } from './loop-monitor.js';
import { parseActorInit, type ActorApi, type ActorEvent, type ActorResult } from './protocol.js';

/**
 * Entry point of an account's worker thread. Anything thrown outside a command (an event handler, a
 * timer) is left uncaught on purpose: the worker dies and the supervisor restarts it, Erlang-style,
 * from what the store holds.
 */
async function main(): Promise<void> {
  if (!parentPort) throw new Error('worker-main must run in a worker thread');
  const port = parentPort;
  const init = parseActorInit(workerData);
  const config = loadConfig(init.env);
  nameThread(`actor-${threadId}`);
  lowerThreadPriority(config.ACTOR_NICE);
  // `threadId` ties the OS thread `actor-<threadId>` (top -H) to the account's log lines.
  const logger = accountLogger(
    createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: 'wasync-actor', base: { threadId } }),
    init.accountId,
  );
  // Busy retries inside the store are part of the write path's health, as the batch writer's own retries are.
  let busyRetries = 0;
  let lastBusyAt = 0;
  const store = await openStore(config, logger, process.env, {
    onBusyRetry: () => {
      busyRetries += 1;
      lastBusyAt = performance.now();
    },
  });
  await store.init();
  const connector = await createConnector(config);
  const emit = (event: ActorEvent): void => port.postMessage(event);
  // Post-commit wake-ups for the feed (src/feed/hub.ts), one per turn of the event loop at most.
  let changesPending = false;
  store.onChangesCommitted(() => {
    if (changesPending) return;
    changesPending = true;
    setImmediate(() => {
      changesPending = false;
      emit({ type: 'changes', accountId: init.accountId });
    });
  });
  const actor = new AccountActor({ accountId: init.accountId, store, connector, config, logger, emit, fence: init.fence });
  // Every second: the thread's event-loop delay and the writer's state (health, metrics, the account's runtime).
  const loop = new LoopMonitor();
  const health = setInterval(() => {
    const w = actor.writeState();
    const busy = performance.now() - lastBusyAt < HEALTH_REPORT_MS;
    const writes = { ...w, retrying: w.retrying || busy, retries: w.retries + busyRetries };
    emit({ type: 'health', accountId: init.accountId, loopDelay: loop.sample(), writes });
  }, HEALTH_REPORT_MS);
  health.unref();

  const api: ActorApi = {
    start: () => settle(() => actor.start()),
    stop: (opts) =>
      settle(async () => {
        const res = await actor.stop(opts);
        clearInterval(health);
        loop.stop();
        await store.close();
        return res;
      }),
    status: () => settle(async () => actor.status()),
    send: (cmd) => settle(() => actor.send(cmd)),
    backfill: (opts) => settle(() => actor.backfill(opts)),
    regenerateQr: () => settle(() => actor.regenerateQr()),
    requestPairingCode: (phone) => settle(() => actor.requestPairingCode(phone)),
    updateMediaMessage: (messageId) => settle(() => actor.updateMediaMessage(messageId)),
    crash: (reason) =>
      settle(async () => {
        setImmediate(() => {
          throw new Error(`crash requested: ${reason}`);
        });
      }),
  };
  Comlink.expose(api, nodeEndpoint(init.commandPort));
  emit({ type: 'ready', accountId: init.accountId });
}

/** How often an actor reports its health; the supervisor counts a report older than three of these as missing. */
const HEALTH_REPORT_MS = 1_000;
/**
 * On Linux a nice value belongs to a thread, so this lowers this actor's thread only: with 100 actors
 * busy the main thread (HTTP, feed, metrics) still gets a core promptly. Elsewhere `setpriority` would
 * lower the whole process, so it is left alone. Raising a nice value needs no privilege.
 */
function lowerThreadPriority(nice: number): void {
  if (nice <= 0 || process.platform !== 'linux') return;
  try {
    os.setPriority(0, nice);
  } catch {
    // A sandbox that forbids it: run at the main thread's priority.
  }
}

/**
 * Linux: names this OS thread (`top -H`, `ps -T`, `/proc/<pid>/task/<tid>/comm`) so that an operator,
 * or the footprint benchmark, can tell the actors' CPU from the main thread's. Every thread of a Node
 * process is called `node` otherwise. The name carries the worker's thread id, never the account id
 * (which log lines mask): every line the actor logs carries its `threadId`. The kernel keeps at most
 * 15 bytes.
 */
function nameThread(name: string): void {
  if (process.platform !== 'linux') return;
  try {
    // Written from this thread: /proc/thread-self is the calling thread, and fs's sync calls run on it.
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // No /proc (a sandbox): unnamed.
  }
}

async function settle<T>(fn: () => Promise<T>): Promise<ActorResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: serializeError(err) };
  }
}

void main().catch((err: unknown) => {
  // Start-up failed (store unreachable, bad config): let the supervisor see an exit with a reason.
  setImmediate(() => {
    throw err instanceof Error ? err : new Error(String(err));
  });
});
