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

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from here on `toISOString` writes a six-digit year. */
const FOUR_DIGIT_YEARS_END = 253_402_300_800_000;
/** The `YYYY-MM-DDT` of recent days: a history sync formats thousands of times that share a few hundred days. */
const dayPrefixes = new Map<number, string>();
const DAY_PREFIXES_MAX = 4_096;

/**
 * `new Date(ms).toISOString()`, for the record's `tsClient`: the same string, about a fifth of the
 * cost (it was about a sixth of mapping a history message; docs/benchmarks.md). The date part of each day
 * is formatted once by `Date` itself and remembered; the time of day is plain arithmetic. Anything
 * outside years 1970–9999 or not a whole number of ms goes to `Date` as before.
 */
export function isoTimestamp(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= FOUR_DIGIT_YEARS_END) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= DAY_PREFIXES_MAX) dayPrefixes.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${prefix}${two(hours)}:${two(minutes)}:${two(seconds)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}
