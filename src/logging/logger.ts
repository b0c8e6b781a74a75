import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

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

export function createLogger(opts: { level: string; name?: string; base?: Record<string, unknown> }): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    name: opts.name ?? 'wasync',
    base: { pid: process.pid, ...opts.base },
    // pino's redact runs only on the listed paths, keeping the hot path free of a per-line walk.
    redact: {
      paths: ['accountId', '*.accountId', 'account.id'],
      censor: (value) => maskAccountId(value),
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(options);
}

/** Child bindings go through the same redaction as log fields. */
export function accountLogger(parent: Logger, accountId: string): Logger {
  return parent.child({ accountId: maskAccountId(accountId) });
}
