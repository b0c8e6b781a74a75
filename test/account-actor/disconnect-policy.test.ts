import { describe, expect, it } from 'vitest';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { backoffDelay } from '../../src/domain/backoff.js';
import {
  DEFAULT_RECONNECT_BACKOFF,
  decideOnDisconnect,
  statusCodeOf,
  type DisconnectDecision,
} from '../../src/account-actor/disconnect-policy.js';

/** The expected decision for every code Baileys 7 defines; a new code fails the exhaustiveness test. */
const EXPECTED: Record<keyof typeof DisconnectReason, 'reconnect-backoff' | 'reconnect-now' | DisconnectDecision> = {
  connectionClosed: 'reconnect-backoff', // 428
  connectionLost: 'reconnect-backoff', // 408
  timedOut: 'reconnect-backoff', // 408 (same code)
  badSession: 'reconnect-backoff', // 500
  unavailableService: 'reconnect-backoff', // 503
  restartRequired: 'reconnect-now', // 515: the pairing restart
  connectionReplaced: { action: 'stop', status: 'replaced', wipeSession: false }, // 440
  loggedOut: { action: 'stop', status: 'logged_out', wipeSession: true }, // 401
  multideviceMismatch: { action: 'stop', status: 'logged_out', wipeSession: true }, // 411
  forbidden: { action: 'stop', status: 'forbidden', wipeSession: true }, // 403
};

/** What Baileys closes with: a Boom error, whose code is `output.statusCode`. */
function boom(message: string, statusCode: number): Error {
  return Object.assign(new Error(message), { isBoom: true, output: { statusCode, payload: { statusCode, message } } });
}

const fixedRandom = (r: number) => ({ ...DEFAULT_RECONNECT_BACKOFF, random: () => r });

describe('decideOnDisconnect', () => {
  it('knows every DisconnectReason Baileys defines', () => {
    const names = Object.keys(DisconnectReason).filter((k) => Number.isNaN(Number(k)));
    expect(names.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [name, expected] of Object.entries(EXPECTED) as Array<
    [keyof typeof DisconnectReason, (typeof EXPECTED)[keyof typeof DisconnectReason]]
  >) {
    const code = DisconnectReason[name];
    it(`${name} (${code})`, () => {
      for (const attempt of [1, 2, 7, 50]) {
        const d = decideOnDisconnect(code, attempt, fixedRandom(0.5));
        if (expected === 'reconnect-now') {
          expect(d).toEqual({ action: 'reconnect', delayMs: 0, status: 'reconnecting' });
        } else if (expected === 'reconnect-backoff') {
          expect(d).toEqual({ action: 'reconnect', delayMs: backoffDelay(attempt, fixedRandom(0.5)), status: 'reconnecting' });
          expect(d.action === 'reconnect' && d.delayMs).toBeGreaterThan(0);
        } else {
          expect(d).toEqual(expected);
        }
      }
    });
  }

  it('reconnects with backoff on network errors (no code) and on codes Baileys does not define', () => {
    for (const code of [undefined, 0, 200, 402, 429, 499, 502, 599, 1006, -1]) {
      const d = decideOnDisconnect(code, 3, fixedRandom(0));
      expect(d).toEqual({ action: 'reconnect', delayMs: backoffDelay(3, fixedRandom(0)), status: 'reconnecting' });
    }
  });

  it('never asks to wipe the session for a replaced connection (the other client holds it legitimately)', () => {
    const d = decideOnDisconnect(DisconnectReason.connectionReplaced, 1);
    expect(d).toMatchObject({ action: 'stop', wipeSession: false });
  });
});

describe('statusCodeOf', () => {
  it('reads the code Baileys puts on its Boom errors', () => {
    expect(statusCodeOf(boom('Connection Failure', DisconnectReason.loggedOut))).toBe(401);
    expect(statusCodeOf(boom('Stream Errored (restart required)', 515))).toBe(515);
  });

  it('has no code for plain errors and non-errors', () => {
    expect(statusCodeOf(new Error('ECONNRESET'))).toBeUndefined();
    expect(statusCodeOf(undefined)).toBeUndefined();
    expect(statusCodeOf(null)).toBeUndefined();
    expect(statusCodeOf('401')).toBeUndefined();
    expect(statusCodeOf({ output: { statusCode: '401' } })).toBeUndefined();
  });
});
