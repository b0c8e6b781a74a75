import { DisconnectReason } from '@whiskeysockets/baileys';
import { backoffDelay, type BackoffOptions } from '../domain/backoff.js';
import type { ConnectionStatus } from '../domain/records.js';

/**
 * What to do when the socket closes, by Baileys' `DisconnectReason`. Pure, so every code is tested.
 * - transient (428 closed, 408 lost/timed out, 500 bad session, 503 unavailable, network errors):
 *   reconnect with capped exponential backoff and jitter;
 * - 515 restartRequired (the pairing restart): reconnect at once with the saved creds, no new QR;
 * - 401 loggedOut / 403 forbidden: stop, wipe the session keys, never loop;
 * - 440 connectionReplaced: another client took the session: stop, don't fight for it;
 * - 411 multideviceMismatch: the saved session can't be used any more: treated like a logout.
 */
export type DisconnectDecision =
  | { action: 'reconnect'; delayMs: number; status: Extract<ConnectionStatus, 'reconnecting'> }
  | { action: 'stop'; status: Extract<ConnectionStatus, 'logged_out' | 'forbidden' | 'replaced'>; wipeSession: boolean };

/** Reconnects back off with equal jitter: never less than half the step, so retries stay spread. */
export const DEFAULT_RECONNECT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000, jitter: 'equal' };

export function decideOnDisconnect(
  statusCode: number | undefined,
  attempt: number,
  backoff: BackoffOptions = DEFAULT_RECONNECT_BACKOFF,
): DisconnectDecision {
  switch (statusCode) {
    case DisconnectReason.loggedOut:
    case DisconnectReason.multideviceMismatch:
      return { action: 'stop', status: 'logged_out', wipeSession: true };
    case DisconnectReason.forbidden:
      return { action: 'stop', status: 'forbidden', wipeSession: true };
    case DisconnectReason.connectionReplaced:
      return { action: 'stop', status: 'replaced', wipeSession: false };
    case DisconnectReason.restartRequired:
      return { action: 'reconnect', delayMs: 0, status: 'reconnecting' };
    default:
      // 428, 408, 500, 503 and anything unknown (network errors carry no status code).
      return { action: 'reconnect', delayMs: backoffDelay(attempt, backoff), status: 'reconnecting' };
  }
}

/** Baileys puts the code on a Boom error: `lastDisconnect.error.output.statusCode`. */
export function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const output = (error as { output?: { statusCode?: unknown } }).output;
  const code = output?.statusCode;
  return typeof code === 'number' ? code : undefined;
}
