import { proto } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { FUTURE_SKEW_MS, msToMillis, toMillis, toMillisOrNull } from '../../src/ingest/timestamps.js';

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
