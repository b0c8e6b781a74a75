import { proto } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { FUTURE_SKEW_MS, isoTimestamp, msToMillis, toMillis, toMillisOrNull } from '../../src/ingest/timestamps.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const longOf = (n: number) => proto.WebMessageInfo.fromObject({ messageTimestamp: n }).messageTimestamp!;

describe('toMillis', () => {
  it.each([
    ['plain seconds', 1_700_000_000, 1_700_000_000_000],
    ['Long seconds', longOf(1_700_000_000), 1_700_000_000_000],
    ['missing', undefined, NOW],
    ['null', null, NOW],
    ['zero (unset proto field)', 0, NOW],
    ['Long zero', longOf(0), NOW],
    ['within the allowed skew', (NOW + FUTURE_SKEW_MS - 1000) / 1000, NOW + FUTURE_SKEW_MS - 1000],
    ['in the future → clamped to now', (NOW + 86_400_000) / 1000, NOW],
    ['years in the future (Long) → clamped', longOf(4_102_444_800), NOW],
  ] as const)('%s', (_name, input, expected) => {
    expect(toMillis(input, NOW)).toBe(expected);
  });

  it('msToMillis takes milliseconds and clamps the same way', () => {
    expect(msToMillis(1_700_000_000_123, NOW)).toBe(1_700_000_000_123);
    expect(msToMillis(NOW + 3_600_000, NOW)).toBe(NOW);
    expect(msToMillis(null, NOW)).toBe(NOW);
  });

  it('toMillisOrNull keeps absence distinguishable', () => {
    expect(toMillisOrNull(undefined, NOW)).toBeNull();
    expect(toMillisOrNull(0, NOW)).toBeNull();
    expect(toMillisOrNull(longOf(1_700_000_001), NOW)).toBe(1_700_000_001_000);
  });
});

describe('isoTimestamp (tsClient)', () => {
  it.each([
    ['epoch', 0],
    ['one ms', 1],
    ['last ms of a second', 999],
    ['last ms of the first day', 86_399_999],
    ['leap day 2000', Date.UTC(2000, 1, 29, 23, 59, 59, 7)],
    ['a message time', 1_700_000_000_123],
    ['last four-digit-year ms', 253_402_300_799_999],
    ['first six-digit year', 253_402_300_800_000],
    ['before 1970', -1],
    ['fraction of a ms', 1_700_000_000_123.6],
  ])('%s: the same string as Date#toISOString', (_name, ms) => {
    expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
  });

  it('agrees with Date#toISOString on random times, days revisited in any order', () => {
    // A seeded linear congruential generator: the same cases every run.
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(next() * 4_102_444_800_000); // 1970 … 2100
      expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
