import type { BaileysEventMap, WAMessage } from '@whiskeysockets/baileys';
import {
  historyMessage,
  isBaileysEvent,
  PayloadError,
  rehydrate,
  scenarioReviver,
  stringifyScenarioLine,
  type AnyBaileysEvent,
  type BaileysEvent,
} from './scenario-codec.js';

/**
 * Scenario files: a recorded or hand-written session for the simulated phone, one JSON object per
 * line (blank lines and lines starting with `#` are ignored). Bytes use Baileys' `BufferJSON`
 * encoding (`{"type":"Buffer","data":"<base64>"}`), 64-bit integers `{low, high, unsigned}`.
 *
 *   {"type":"meta","version":1,"user":{"id":"4479…:12@s.whatsapp.net","name":"Ana","lid":"…:12@lid"}}
 *     optional, at most one: who the phone is (`sock.user`).
 *   {"type":"event","at":1500,"event":"messages.upsert","data":{…}}
 *     emitted on `ev` `at` ms into the connection; `event` is a `BaileysEventMap` key and `data` its
 *     payload, rebuilt with Baileys' proto classes where Baileys hands out proto instances.
 *   {"type":"archive","messages":[<WAMessage>, …]}
 *     older messages the phone holds: what `fetchMessageHistory` serves.
 *
 * Connection lifecycle: a scenario without `connection.update` events gets the phone's own
 * (connecting → qr → open → receivedPendingNotifications) and its `at` count from the end of it. A
 * scenario with `connection.update` events drives the lifecycle itself and `at` counts from the
 * socket's start. Such a scenario is cut into segments after each `connection.update` carrying
 * `connection: "close"`: connection attempt n replays segment n (the last one for later attempts), so
 * a recording that spans reconnects replays across the same reconnects.
 */

export interface ScenarioMeta {
  version: 1;
  user?: { id: string; name?: string; lid?: string };
  description?: string;
}

export interface ScenarioEvent {
  /** 1-based line in the file. */
  line: number;
  at: number;
  event: BaileysEvent;
  /** A fresh payload each call: replays never share objects with earlier consumers. */
  materialize(): AnyBaileysEvent;
}

export interface Scenario {
  source: string;
  meta: ScenarioMeta | null;
  /** Events per connection segment, each sorted by `at` (file order among equal `at`). */
  segments: ScenarioEvent[][];
  archive: WAMessage[];
  /** The scenario contains `connection.update` events and so drives the lifecycle itself. */
  scriptedLifecycle: boolean;
}

export class ScenarioError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
    this.name = 'ScenarioError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and validates a scenario (pure: no I/O). Errors name the line. */
export function parseScenario(text: string, source = 'scenario'): Scenario {
  let meta: ScenarioMeta | null = null;
  const events: ScenarioEvent[] = [];
  const archive: WAMessage[] = [];
  const lines = text.split(/\r?\n/);

  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const raw = (lines[n] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fail = (reason: string): never => {
      throw new ScenarioError(source, lineNo, reason);
    };
    let value: unknown;
    try {
      value = JSON.parse(raw, scenarioReviver);
    } catch (err) {
      fail(`invalid JSON: ${(err as Error).message}`);
    }
    if (!isObj(value)) fail('expected a JSON object');
    const line = value as Obj;
    switch (line.type) {
      case 'meta': {
        if (meta) fail('a second "meta" line');
        if (line.version !== undefined && line.version !== 1) fail(`unsupported version ${JSON.stringify(line.version)}`);
        let user: ScenarioMeta['user'];
        if (line.user !== undefined) {
          if (!isObj(line.user) || typeof line.user.id !== 'string' || !line.user.id.includes('@')) {
            fail('meta.user must be {"id": "<jid>", "name"?, "lid"?}');
          }
          const u = line.user as Obj;
          user = {
            id: u.id as string,
            ...(typeof u.name === 'string' ? { name: u.name } : {}),
            ...(typeof u.lid === 'string' ? { lid: u.lid } : {}),
          };
        }
        meta = {
          version: 1,
          ...(user ? { user } : {}),
          ...(typeof line.description === 'string' ? { description: line.description } : {}),
        };
        break;
      }
      case 'event': {
        const at = line.at;
        if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) fail('"at" must be a number of milliseconds ≥ 0');
        const event = line.event;
        if (!isBaileysEvent(event)) fail(`unknown event ${JSON.stringify(event)} (expected a BaileysEventMap key)`);
        if (!('data' in line)) fail('"data" is missing');
        try {
          rehydrate(event as BaileysEvent, line.data);
        } catch (err) {
          fail(`${String(event)}: ${(err as Error).message}`);
        }
        events.push({
          line: lineNo,
          at: at as number,
          event: event as BaileysEvent,
          materialize: () => rehydrate(event as BaileysEvent, (JSON.parse(raw, scenarioReviver) as Obj).data),
        });
        break;
      }
      case 'archive': {
        if (!Array.isArray(line.messages)) fail('"messages" must be an array');
        (line.messages as unknown[]).forEach((m, i) => {
          try {
            archive.push(historyMessage(m, `messages[${i}]`));
          } catch (err) {
            fail(err instanceof PayloadError ? err.message : `messages[${i}]: ${(err as Error).message}`);
          }
        });
        break;
      }
      default:
        fail(`unknown line type ${JSON.stringify(line.type)} (expected "meta", "event" or "archive")`);
    }
  }

  const scriptedLifecycle = events.some((e) => e.event === 'connection.update');
  const segments: ScenarioEvent[][] = [[]];
  for (const e of events) {
    (segments[segments.length - 1] as ScenarioEvent[]).push(e);
    if (scriptedLifecycle && e.event === 'connection.update' && closes(e)) segments.push([]);
  }
  if (segments.length > 1 && (segments[segments.length - 1] as ScenarioEvent[]).length === 0) segments.pop();
  for (const s of segments) s.sort((a, b) => a.at - b.at || a.line - b.line);
  return { source, meta, segments, archive, scriptedLifecycle };
}

function closes(e: ScenarioEvent): boolean {
  const m = e.materialize();
  return m.event === 'connection.update' && m.data.connection === 'close';
}

// ---------------------------------------------------------------------------------------------
// Writing (shared with the real connector's record mode)

/** One event line (no trailing newline). */
export function encodeScenarioEvent<E extends BaileysEvent>(event: E, data: BaileysEventMap[E], at: number): string {
  return stringifyScenarioLine({ type: 'event', at: Math.max(0, Math.round(at)), event, data });
}

export function encodeScenarioArchive(messages: readonly WAMessage[]): string {
  return stringifyScenarioLine({ type: 'archive', messages });
}

export function encodeScenarioMeta(meta: Omit<ScenarioMeta, 'version'>): string {
  return stringifyScenarioLine({ type: 'meta', version: 1, ...meta });
}

/** Appends a line to anything with `write` (a file stream, an array-backed sink in tests). */
export function writeScenarioLine(out: { write(chunk: string): unknown }, line: string): void {
  out.write(`${line}\n`);
}
