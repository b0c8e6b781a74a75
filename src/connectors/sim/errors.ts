import { DisconnectReason } from '@whiskeysockets/baileys';

/**
 * The shape of the `@hapi/boom` errors Baileys closes connections with. Consumers read
 * `(lastDisconnect.error as Boom)?.output?.statusCode`; the sim's errors answer that the same way
 * without the sim depending on `@hapi/boom` (a transitive dependency of Baileys, not of wasync).
 */
export class SimDisconnectError extends Error {
  readonly isBoom = true;
  readonly isServer: boolean;
  readonly output: { statusCode: number; payload: { statusCode: number; error: string; message: string }; headers: Record<string, string> };
  readonly data: unknown;

  constructor(message: string, statusCode: number, data?: unknown) {
    super(message);
    this.name = 'Error';
    this.isServer = statusCode >= 500;
    this.output = { statusCode, payload: { statusCode, error: reasonName(statusCode), message }, headers: {} };
    this.data = data ?? null;
  }
}

function reasonName(code: number): string {
  const name = (DisconnectReason as unknown as Record<number, string | undefined>)[code];
  return name ?? 'Error';
}

export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('output' in err)) return undefined;
  const output = (err as { output?: { statusCode?: unknown } }).output;
  return typeof output?.statusCode === 'number' ? output.statusCode : undefined;
}

/**
 * What `end(err)` reports: a Boom-like error is passed through; anything else is wrapped so that the
 * close always carries a status code (428 connectionClosed), keeping the original as `data`.
 */
export function closeError(err: Error | undefined): SimDisconnectError | Error {
  if (err && statusCodeOf(err) !== undefined) return err;
  return new SimDisconnectError(err?.message || 'Connection Closed', DisconnectReason.connectionClosed, err);
}
