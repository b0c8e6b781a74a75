import { isatty } from 'node:tty';
import { destination as pinoDestination, pino, stdSerializers, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { createRequire } from 'node:module';
import type { prettyFactory as PrettyFactory } from 'pino-pretty';

export type { Logger };

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Account ids identify a customer's WhatsApp number in some deployments; logs are shipped to places
 * with wider access than the store, so they carry a masked form that is still enough to tell accounts
 * apart in one log stream (the auto-backfill summary: "accountId masked").
 */
export function maskAccountId(id: unknown): unknown {
  if (typeof id !== 'string') return id;
  if (id.length <= 8) return `${id.slice(0, 2)}…`;
  return `${id.slice(0, 4)}…${id.slice(-4)}`;
}

/**
 * Phone numbers (bare, `+`-prefixed or inside a JID such as `40712345678@s.whatsapp.net`): every run
 * of 6 or more digits keeps its first 3 and last 2 digits, enough to tell numbers apart, not to dial.
 */
export function maskPhone(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value.replace(/\d{6,}/g, (digits) => `${digits.slice(0, 3)}…${digits.slice(-2)}`);
}

/** Account ids this thread has seen (`registerAccountId`): masked wherever they appear in a log line's text. */
const knownAccountIds = new Set<string>();
let knownIdsPattern: RegExp | null = null;
/** Generated ids (`account_{env}_{12 hex}`) are recognisable even before they are registered. */
const GENERATED_ACCOUNT_ID = /\baccount_[a-z0-9-]{1,32}_[0-9a-f]{12}\b/g;

/**
 * Makes `id` masked in the text of every later log line of this thread (messages, error messages and
 * stacks, any string field): the supervisor registers every account it knows, an actor its own.
 */
export function registerAccountId(id: string): void {
  if (id.length < 3 || knownAccountIds.has(id)) return;
  knownAccountIds.add(id);
  knownIdsPattern = null;
}

/** Free text with account ids and phone numbers masked (the one rule every log line's text goes through). */
export function maskText(text: string): string {
  let out = text;
  if (knownAccountIds.size > 0) {
    knownIdsPattern ??= new RegExp(
      [...knownAccountIds]
        .sort((a, b) => b.length - a.length)
        .map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|'),
      'g',
    );
    out = out.replace(knownIdsPattern, (id) => String(maskAccountId(id)));
  }
  out = out.replace(GENERATED_ACCOUNT_ID, (id) => String(maskAccountId(id)));
  return maskPhone(out) as string;
}

/** Every string in a log object, a few levels deep (error objects, their causes, arrays of them). */
function maskDeep(input: unknown, depth: number): unknown {
  if (typeof input === 'string') return maskText(input);
  // pino's log formatter sees errors before its serializers do: serialize them here (message and stack
  // are not enumerable, a plain copy would drop them).
  const value = input instanceof Error ? stdSerializers.err(input) : input;
  if (depth <= 0 || value === null || typeof value !== 'object' || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth - 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth - 1);
  return out;
}

/** Fields that carry a phone number, ours and Baileys' (its logs go through this logger too). */
const PHONE_FIELDS = ['phoneNumber', 'jid', 'remoteJid', 'participant', 'clientJid', 'to', 'from'];
const PHONE_PATHS = [...PHONE_FIELDS, ...PHONE_FIELDS.map((f) => `*.${f}`), 'me.id', 'user.id', 'creds.me.id'];
const ACCOUNT_PATHS = ['accountId', '*.accountId', 'account.id'];

/**
 * `auto` is pretty on a terminal. `isatty(1)` asks the OS, so actor threads (whose process.stdout is a
 * pipe to the main thread) decide as the main thread does.
 */
export function resolveLogFormat(format: LogFormat, fd = 1): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return isatty(fd) ? 'pretty' : 'json';
}

export function createLogger(opts: {
  level: string;
  name?: string;
  base?: Record<string, unknown>;
  /** LOG_FORMAT; default `json`, so library and test callers get what production ships. */
  format?: LogFormat;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
}): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    name: opts.name ?? 'wasync',
    base: { pid: process.pid, ...opts.base },
    // pino's redact runs only on the listed paths, keeping the hot path free of a per-line walk. It
    // runs before serialization, so the pretty format prints masked values as well.
    redact: {
      paths: [...ACCOUNT_PATHS, ...PHONE_PATHS],
      censor: (value, path) => {
        const at = path.map(String).join('.'); // a path may hold symbols (pino's own keys)
        return at.endsWith('accountId') || at === 'account.id' ? maskAccountId(value) : maskPhone(value);
      },
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    // The one place free text is masked: the message, and every string field (error messages and stacks
    // included: "account X has no running actor"), whatever code logged it. Field paths are masked above.
    hooks: {
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? maskText(a) : a));
        return method.apply(this, masked as Parameters<typeof method>);
      },
    },
    serializers: { err: (err: unknown) => maskDeep(err instanceof Error ? stdSerializers.err(err) : err, 4) },
    formatters: {
      log: (object) => maskDeep(object, 4) as Record<string, unknown>,
    },
  };
  if (resolveLogFormat(opts.format ?? 'json') === 'json') return opts.destination ? pino(options, opts.destination) : pino(options);
  const destination = opts.destination ?? pinoDestination({ dest: 1, sync: true });
  // prettyFactory formats each line synchronously: pino-pretty's stream or transport would hand lines
  // to a pipeline (or another thread) and could drop the last ones when the process exits.
  const prettify = loadPrettyFactory()({
    colorize: opts.destination === undefined && isatty(1),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return pino(options, { write: (line: string) => destination.write(prettify(line)) });
}

/**
 * pino-pretty is loaded only when a logger prints pretty lines (a terminal): every account's worker
 * logs JSON (its stdout is no terminal) and would otherwise load it for nothing. It is CommonJS, so
 * `require` loads it synchronously where the logger is made.
 */
function loadPrettyFactory(): typeof PrettyFactory {
  return (createRequire(import.meta.url)('pino-pretty') as { prettyFactory: typeof PrettyFactory }).prettyFactory;
}

/** Child bindings go through the same redaction as log fields. */
export function accountLogger(parent: Logger, accountId: string): Logger {
  registerAccountId(accountId);
  return parent.child({ accountId: maskAccountId(accountId) });
}
