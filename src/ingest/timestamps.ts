import { toNumber } from '@whiskeysockets/baileys';

/** What WhatsApp puts in a timestamp field: protobuf decodes 64-bit fields as `Long`, live stanzas give numbers. */
export type WATimestamp = Parameters<typeof toNumber>[0];

/**
 * How far ahead of our clock a WhatsApp time may lie before we distrust it. Phones with a wrong clock
 * and some history-sync entries carry times in the future; left alone they would pin a thread's
 * `lastMessageAt` above every real message for years.
 */
export const FUTURE_SKEW_MS = 60_000;

/** A seconds timestamp (the unit of `messageTimestamp` and receipt times) as epoch ms; missing → `now`. */
export function toMillis(ts: WATimestamp, now: number = Date.now()): number {
  return clampMillis(typeof ts === 'number' ? ts : toNumber(ts), 1000, now);
}

/** A timestamp WhatsApp already gives in ms (`protocolMessage.timestampMs`, `senderTimestampMs`). */
export function msToMillis(ts: WATimestamp, now: number = Date.now()): number {
  return clampMillis(typeof ts === 'number' ? ts : toNumber(ts), 1, now);
}

/** Like `toMillis` but keeps "absent" distinguishable, for optional times such as receipts. */
export function toMillisOrNull(ts: WATimestamp, now: number = Date.now()): number | null {
  const n = typeof ts === 'number' ? ts : toNumber(ts);
  return n > 0 && Number.isFinite(n) ? clampMillis(n, 1000, now) : null;
}

function clampMillis(n: number, unit: number, now: number): number {
  // 0 is what protobuf yields for an unset field, so it means "unknown", not 1970.
  if (!(n > 0) || !Number.isFinite(n)) return now;
  const ms = Math.floor(n * unit);
  return ms > now + FUTURE_SKEW_MS ? now : ms;
}
