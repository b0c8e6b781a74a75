import { isatty } from 'node:tty';
import { destination as pinoDestination, pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
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
  return parent.child({ accountId: maskAccountId(accountId) });
}
