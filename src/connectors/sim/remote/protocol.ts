import type { Contact } from '@whiskeysockets/baileys';
import { isBaileysEvent, scenarioReviver, stringifyScenarioLine, type BaileysEvent } from '../scenario-codec.js';

/**
 * The wire between the sim server (`npm run sim-server`) and the connector in each wasync process: one
 * websocket per connection at `/ws/{accountId}`, JSON text frames. The server runs the simulated phone
 * and sends what it emits as Baileys events (payloads in the scenario files' JSON form, so bytes and
 * 64-bit integers survive); the connector rebuilds them with Baileys' proto classes and emits them on
 * its socket's `ev`, exactly as the in-process phone does.
 */

/** Client → server. */
export type ClientFrame =
  /** First frame: the session token the account's stored creds hold (null: never paired here). */
  | { t: 'hello'; token: string | null; instance: string | null }
  | { t: 'call'; id: number; method: RemoteMethod; args: unknown[] }
  /** Inbound messages processed: the server stops holding them for redelivery. */
  | { t: 'ack'; ids: string[] };

export type RemoteMethod = 'sendMessage' | 'fetchMessageHistory' | 'requestPairingCode' | 'logout';
const METHODS: ReadonlySet<string> = new Set<RemoteMethod>(['sendMessage', 'fetchMessageHistory', 'requestPairingCode', 'logout']);

/** Server → client. */
export type ServerFrame =
  | {
      t: 'ev';
      event: BaileysEvent;
      data: unknown;
      /** Ids of the inbound messages this frame delivers: acknowledge them once emitted. */
      ack?: string[];
      /** With `connection: 'open'`: who the phone is, and the session token to keep in the creds. */
      user?: Contact;
      token?: string;
    }
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; error: { message: string; statusCode: number | null } };

export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return stringifyScenarioLine(frame as unknown as Record<string, unknown>);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

function parse(text: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text, scenarioReviver);
  } catch (err) {
    throw new FrameError(`not JSON: ${(err as Error).message}`);
  }
  if (!isObj(v) || typeof v.t !== 'string') throw new FrameError('a frame is an object with a type `t`');
  return v;
}

export function parseClientFrame(text: string): ClientFrame {
  const f = parse(text);
  switch (f.t) {
    case 'hello':
      if (f.token !== null && typeof f.token !== 'string') throw new FrameError('hello.token must be a string or null');
      return { t: 'hello', token: f.token as string | null, instance: typeof f.instance === 'string' ? f.instance : null };
    case 'call':
      if (typeof f.id !== 'number' || typeof f.method !== 'string' || !METHODS.has(f.method) || !Array.isArray(f.args)) {
        throw new FrameError('call needs a numeric id, a known method and an args list');
      }
      return { t: 'call', id: f.id, method: f.method as RemoteMethod, args: f.args };
    case 'ack':
      if (!Array.isArray(f.ids) || !f.ids.every((i) => typeof i === 'string')) throw new FrameError('ack.ids must be a list of ids');
      return { t: 'ack', ids: f.ids as string[] };
    default:
      throw new FrameError(`unknown client frame ${JSON.stringify(f.t)}`);
  }
}

export function parseServerFrame(text: string): ServerFrame {
  const f = parse(text);
  if (f.t === 'ev') {
    if (!isBaileysEvent(f.event)) throw new FrameError(`unknown event ${JSON.stringify(f.event)}`);
    if (f.ack !== undefined && !(Array.isArray(f.ack) && f.ack.every((i) => typeof i === 'string')))
      throw new FrameError('ev.ack must be ids');
    return f as unknown as ServerFrame;
  }
  if (f.t === 'result' && typeof f.id === 'number' && typeof f.ok === 'boolean') return f as unknown as ServerFrame;
  throw new FrameError(`unknown server frame ${JSON.stringify(f.t)}`);
}
