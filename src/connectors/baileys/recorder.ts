import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { BaileysEventMap, WASocket } from '@whiskeysockets/baileys';
import type { Logger } from '../../logging/logger.js';
import { encodeScenarioEvent, writeScenarioLine } from '../sim/scenario.js';

/**
 * Record mode (WA_RECORD_DIR): every event the real socket hands to listeners is appended to
 * `<dir>/<accountId>-<timestamp>.jsonl` in the simulated phone's scenario line format, so a real
 * session can be replayed with WA_SIM_SCENARIO:
 *
 *   {"type":"event","at":<ms since connect>,"event":"<name>","data":<payload, Baileys BufferJSON>}
 *
 * Lines are written with the simulated phone's own writer (src/connectors/sim/scenario.ts), so the
 * encoding (BufferJSON bytes, `{low, high, unsigned}` longs, errors as `{message, output}`) is exactly
 * what its parser reads back.
 *
 * Left out: `creds.update` (the whole identity), the pairing QR (it embeds the identity public keys
 * and the ADV secret), and inside messages every field that is key material rather than content
 * (app-state sync keys, sender keys, media keys, message secrets, inline history payloads).
 */

/** Field names dropped wherever they appear in a payload. */
const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'appStateSyncKeyShare',
  'senderKeyDistributionMessage',
  'fastRatchetKeySenderKeyDistributionMessage',
  'mediaKey',
  'messageSecret',
  'initialHistBootstrapInlinePayload',
  'noiseKey',
  'signedIdentityKey',
  'signedPreKey',
  'advSecretKey',
  'pairingEphemeralKeyPair',
  'tcToken',
]);
const NEVER_RECORDED: ReadonlySet<string> = new Set(['creds.update']);
export const REDACTED_QR = 'redacted-qr';

/**
 * A copy without secrets, walked over own fields only (a proto instance's unset fields live on its
 * prototype), keeping bytes and `Long`s for the scenario writer to encode. Errors keep what the
 * actor reads from a disconnect (`message`, `output.statusCode`) and lose `data` (raw stanzas).
 */
export function sanitizeEventData(event: string, data: unknown): unknown {
  const copy = scrub(data, 0);
  if (event === 'connection.update' && isRecord(copy) && typeof copy.qr === 'string') copy.qr = REDACTED_QR;
  return copy;
}

const MAX_DEPTH = 64;

function scrub(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? Number(value) : value;
  if (depth > MAX_DEPTH) return null;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value);
  if (value instanceof Date) return value.toISOString();
  if (isLong(value)) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    const statusCode = (value as { output?: { statusCode?: unknown } }).output?.statusCode;
    if (typeof statusCode === 'number') out.output = { statusCode };
    return out;
  }
  if (value instanceof Map || value instanceof Set) return scrub([...value], depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_FIELDS.has(k) || v === undefined || typeof v === 'function') continue;
    out[k] = scrub(v, depth + 1);
  }
  return out;
}

function isLong(v: object): boolean {
  return (v as { __isLong__?: unknown }).__isLong__ === true;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function recordingFileName(accountId: string, startedAt: number): string {
  const safeId = accountId.replace(/[^A-Za-z0-9_.-]/g, '_');
  const stamp = new Date(startedAt).toISOString().replace(/[:.]/g, '-');
  return `${safeId}-${stamp}.jsonl`;
}

export interface SessionRecorder {
  readonly file: string;
  /** Stops listening and closes the file once every line is written. */
  close(): Promise<void>;
}

export interface RecorderOptions {
  dir: string;
  accountId: string;
  logger: Logger;
  now?: () => number;
}

/**
 * Subscribes through `ev.process`, i.e. to exactly what the actor's listeners receive (after Baileys'
 * event buffer), so a replay reproduces what the actor saw.
 */
export function startRecording(ev: Pick<WASocket['ev'], 'process'>, opts: RecorderOptions): SessionRecorder {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  mkdirSync(opts.dir, { recursive: true });
  const file = path.join(opts.dir, recordingFileName(opts.accountId, startedAt));
  const out: WriteStream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  let failed = false;
  out.on('error', (err) => {
    if (!failed) opts.logger.error({ err: err.message }, 'record mode: cannot write the recording; recording stops');
    failed = true;
  });
  let open = true;

  const unsubscribe = ev.process((events) => {
    if (!open || failed) return;
    const at = now() - startedAt;
    for (const [event, data] of Object.entries(events)) {
      if (NEVER_RECORDED.has(event)) continue;
      try {
        const name = event as keyof BaileysEventMap;
        writeScenarioLine(out, encodeScenarioEvent(name, sanitizeEventData(event, data) as BaileysEventMap[typeof name], at));
      } catch (err) {
        opts.logger.warn({ event, err: err instanceof Error ? err.message : String(err) }, 'record mode: event not recorded');
      }
    }
  });
  opts.logger.info({ file }, 'record mode: recording socket events');

  return {
    file,
    close: () =>
      new Promise<void>((resolve) => {
        if (!open) return resolve();
        open = false;
        unsubscribe();
        out.end(() => resolve());
      }),
  };
}
