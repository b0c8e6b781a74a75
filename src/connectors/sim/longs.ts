import { proto } from '@whiskeysockets/baileys';

/** protobufjs' 64-bit integer (the `long` package, which wasync does not depend on directly). */
export type Long = Exclude<NonNullable<proto.IWebMessageInfo['messageTimestamp']>, number>;

type LongConstructor = new (low: number, high: number, unsigned: boolean) => Long;

export function isLong(value: unknown): value is Long {
  return typeof value === 'object' && value !== null && (value as { __isLong__?: unknown }).__isLong__ === true;
}

// protobufjs builds a Long for us; its constructor is then reused without going through fromObject.
const LongCtor = (proto.WebMessageInfo.fromObject({ messageTimestamp: 1 }).messageTimestamp as Long).constructor as LongConstructor;

export function makeLong(low: number, high: number, unsigned: boolean): Long {
  return new LongCtor(low | 0, high | 0, unsigned);
}

function split(n: number): [number, number] {
  // Non-negative integers below 2^53: what timestamps and lengths are.
  const v = Math.max(0, Math.floor(n));
  return [(v % 4294967296) | 0, Math.floor(v / 4294967296) | 0];
}

/** A `uint64` field value as a decoded proto carries it. */
export function uint64(n: number): Long {
  const [lo, hi] = split(n);
  return new LongCtor(lo, hi, true);
}

/** An `int64` field value as a decoded proto carries it. */
export function int64(n: number): Long {
  const [lo, hi] = split(n);
  return new LongCtor(lo, hi, false);
}
