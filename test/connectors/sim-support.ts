import type { BaileysEventMap } from '@whiskeysockets/baileys';
import type { ConnectorContext, WaSocket } from '../../src/connectors/types.js';
import { BAILEYS_EVENTS, type BaileysEvent } from '../../src/connectors/sim/scenario-codec.js';
import { createLogger } from '../../src/logging/logger.js';
import type { Store } from '../../src/store/port.js';

export const silentLogger = createLogger({ level: 'silent' });

/** The sim must not touch the account's store: any access fails the test. */
const untouchableStore = new Proxy(
  {},
  {
    get(_target, prop) {
      throw new Error(`the sim connector touched the store (${String(prop)})`);
    },
  },
) as Store;

export function simContext(accountId = 'acc_test'): ConnectorContext {
  return { accountId, logger: silentLogger, store: untouchableStore };
}

export interface Recorded {
  event: BaileysEvent;
  data: unknown;
  /** ms since recording started */
  at: number;
}

/** Subscribes to every Baileys event of a socket and keeps them in order. */
export function recordEvents(sock: Pick<WaSocket, 'ev'>): Recorded[] {
  const out: Recorded[] = [];
  const t0 = Date.now();
  for (const name of Object.keys(BAILEYS_EVENTS) as BaileysEvent[]) {
    sock.ev.on(name, (data) => out.push({ event: name, data, at: Date.now() - t0 }));
  }
  return out;
}

export function ofType<E extends BaileysEvent>(events: readonly Recorded[], name: E): Array<BaileysEventMap[E]> {
  return events.filter((e) => e.event === name).map((e) => e.data as BaileysEventMap[E]);
}

export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function isLongValue(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { __isLong__?: unknown }).__isLong__ === true;
}
