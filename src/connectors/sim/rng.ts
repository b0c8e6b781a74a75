/**
 * Deterministic randomness for the simulated phone.
 *
 * Every generated chat and message draws from its own stream, derived from the seed and its indices,
 * instead of from one sequential stream. That is what lets the phone materialise any chunk of its
 * history, or any archived message, on demand without generating (or holding) everything before it,
 * and keeps the first N chats identical whatever the total number of chats.
 */

export type Seed128 = readonly [number, number, number, number];

/** cyrb128: a string → 128-bit seed. Not cryptographic; only spreads similar seeds apart. */
export function hashSeed(seed: string): Seed128 {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** murmur3's finaliser: a cheap 32-bit avalanche. */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const HEX = '0123456789ABCDEF';

interface WeightTable<K extends string> {
  keys: K[];
  cumulative: number[];
  total: number;
}
const WEIGHT_TABLES = new WeakMap<object, WeightTable<string>>();

/** sfc32: small, fast, 128 bits of state (a 32-bit state would repeat streams across 100k messages). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: Seed128) {
    [this.a, this.b, this.c, this.d] = seed;
    // sfc32 needs a few rounds before nearby seeds decorrelate.
    for (let i = 0; i < 12; i++) this.u32();
  }

  static fromString(seed: string): Rng {
    return new Rng(hashSeed(seed));
  }

  /** A stream for one entity (`domain` names the kind, `indices` pick the entity). */
  static derive(base: Seed128, domain: number, ...indices: number[]): Rng {
    let a = base[0] ^ fmix32(domain + 0x9e3779b9);
    let b = base[1];
    let c = base[2];
    let d = base[3];
    for (const [n, idx] of indices.entries()) {
      const m = fmix32((idx >>> 0) + Math.imul(n + 1, 0x632be5ab));
      a = fmix32(a ^ m);
      b = fmix32(b + m + n);
      c ^= fmix32(m ^ d);
      d = fmix32(d + a);
    }
    return new Rng([a >>> 0, b >>> 0, c >>> 0, d >>> 0]);
  }

  u32(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    const r = (t + this.d) | 0;
    this.c = (this.c + r) | 0;
    return r >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Picks a key of `weights` with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    let table = WEIGHT_TABLES.get(weights) as WeightTable<K> | undefined;
    if (!table) {
      const keys = Object.keys(weights) as K[];
      const cumulative: number[] = [];
      let total = 0;
      for (const k of keys) {
        total += weights[k];
        cumulative.push(total);
      }
      table = { keys, cumulative, total };
      WEIGHT_TABLES.set(weights, table);
    }
    const x = this.next() * table.total;
    for (let i = 0; i < table.keys.length; i++) if (x < (table.cumulative[i] as number)) return table.keys[i] as K;
    return table.keys[table.keys.length - 1] as K;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (j * 8)) & 0xff;
    }
    return out;
  }

  /** `n` uppercase hex digits. */
  hex(n: number): string {
    let s = '';
    while (s.length < n) {
      let v = this.u32();
      for (let j = 0; j < 8 && s.length < n; j++) {
        s += HEX[v & 0xf];
        v >>>= 4;
      }
    }
    return s;
  }

  digits(n: number): string {
    let s = '';
    while (s.length < n) s += String(this.u32() % 1_000_000_000).padStart(9, '0');
    return s.slice(0, n);
  }
}

/**
 * A keyed bijection on pairs of 32-bit integers (a 4-round Feistel network). Distinct inputs give
 * distinct outputs, so ids built from it cannot collide, while still looking random.
 */
export function permute64(key: Seed128, hi: number, lo: number): [number, number] {
  let l = hi >>> 0;
  let r = lo >>> 0;
  for (let round = 0; round < 4; round++) {
    const f = fmix32((r ^ (key[round] as number)) + round);
    const nl = r;
    r = (l ^ f) >>> 0;
    l = nl;
  }
  return [l, r];
}

export function hex32(n: number): string {
  let s = '';
  for (let shift = 28; shift >= 0; shift -= 4) s += HEX[(n >>> shift) & 0xf];
  return s;
}
