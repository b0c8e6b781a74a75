import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getFirestore, Timestamp, type Firestore, type WriteBatch } from 'firebase-admin/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError, TransientStoreError } from '../../src/domain/errors.js';
import {
  Committer,
  DEFAULT_RAMP,
  FIRESTORE_COMMIT_LIMITS,
  RampingTokenBucket,
  estimateDocumentBytes,
  estimateValueBytes,
  estimateWriteBytes,
  planCommits,
  withRetry,
  type Timing,
  type WriteGroup,
} from '../../src/store/firestore/batching.js';
import { messageToDoc } from '../../src/store/firestore/documents.js';
import { isTransientFirestoreError, toStoreError } from '../../src/store/firestore/errors.js';
import { makeMessage } from '../support/records.js';

const MiB = 1024 * 1024;
const grpcError = (code: number, message = `grpc ${code}`) => Object.assign(new Error(message), { code });

/** A clock and sleep that only move when told to: minutes of ramp run in microseconds. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  const timing: Timing = {
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => 0.5,
  };
  return { now: () => now, advance: (ms: number) => (now += ms), sleeps, timing };
}

describe('planCommits: cutting groups into commits', () => {
  const one = (n: number) => Array.from({ length: n }, (_, i) => [i]);
  const unit = () => 1;

  it('cuts at 500 operations', () => {
    expect(planCommits(one(1200), unit, FIRESTORE_COMMIT_LIMITS).map((c) => c.length)).toEqual([500, 500, 200]);
    expect(planCommits(one(500), unit, FIRESTORE_COMMIT_LIMITS).map((c) => c.length)).toEqual([500]);
    expect(planCommits(one(501), unit, FIRESTORE_COMMIT_LIMITS).map((c) => c.length)).toEqual([500, 1]);
    expect(planCommits([], unit, FIRESTORE_COMMIT_LIMITS)).toEqual([]);
  });

  it('never splits a group and keeps the order', () => {
    const groups = Array.from({ length: 200 }, (_, i) => [3 * i, 3 * i + 1, 3 * i + 2]);
    const commits = planCommits(groups, unit, FIRESTORE_COMMIT_LIMITS);
    expect(commits.map((c) => c.length)).toEqual([498, 102]);
    expect(commits.flat()).toEqual(groups.flat());
    for (const c of commits) expect(c[0]! % 3).toBe(0);
  });

  it('cuts by bytes before the count limit', () => {
    const sizes = [4 * MiB, 4 * MiB, 2 * MiB, 1, 8 * MiB, 1 * MiB];
    const commits = planCommits(
      sizes.map((s) => [s]),
      (s) => s,
      { maxOps: 500, maxBytes: 9 * MiB },
    );
    expect(commits).toEqual([
      [4 * MiB, 4 * MiB],
      [2 * MiB, 1],
      [8 * MiB, 1 * MiB],
    ]);
  });

  it('gives a group over the byte limit a commit of its own; refuses one over the count limit', () => {
    expect(planCommits([[1], [20], [1]], (s) => s, { maxOps: 500, maxBytes: 10 })).toEqual([[1], [20], [1]]);
    expect(() => planCommits([one(501).flat()], unit, FIRESTORE_COMMIT_LIMITS)).toThrow(StoreError);
  });

  it('skips empty groups', () => {
    expect(planCommits([[], [1], []], unit, FIRESTORE_COMMIT_LIMITS)).toEqual([[1]]);
  });
});

describe('size estimates follow Firestore’s storage-size rules', () => {
  it('values', () => {
    expect(estimateValueBytes('abc')).toBe(4);
    expect(estimateValueBytes('ă')).toBe(3);
    expect(estimateValueBytes(42)).toBe(8);
    expect(estimateValueBytes(true)).toBe(1);
    expect(estimateValueBytes(null)).toBe(1);
    expect(estimateValueBytes(Timestamp.fromMillis(0))).toBe(8);
    expect(estimateValueBytes(new Uint8Array(1000))).toBe(1000);
    expect(estimateValueBytes({ a: 'x', bb: 1 })).toBe(2 + 2 + 3 + 8);
    expect(estimateValueBytes(['x', 1])).toBe(2 + 8);
  });

  it('documents: name (each id + 1) + 16, fields, + 32', () => {
    expect(estimateDocumentBytes('c/d', { a: 'x' })).toBe(2 + 2 + 16 + (2 + 2) + 32);
  });

  it('matches the worked example of Google’s storage-size documentation (147 bytes)', () => {
    // firebase.google.com/docs/firestore/storage-size: a task document in users/jeff/tasks.
    const task = { type: 'Personal', done: false, priority: 1, description: 'Learn Cloud Firestore' };
    expect(estimateDocumentBytes('users/jeff/tasks/my_task_id', task)).toBe(147);
  });

  it('a message with a 1 MiB raw proto weighs over 1 MiB', () => {
    const doc = messageToDoc(makeMessage({ rawMessage: new Uint8Array(MiB) }));
    expect(estimateDocumentBytes('threads/t/messages/m', doc)).toBeGreaterThan(MiB);
    expect(estimateDocumentBytes('threads/t/messages/m', doc)).toBeLessThan(MiB + 2048);
  });
});

describe('RampingTokenBucket: the 500/50/5 rule on an injected clock', () => {
  it('starts at 500 writes/s: one full commit at once, the next after a second', () => {
    const t = fakeTime();
    const bucket = new RampingTokenBucket({}, t.now);
    expect(bucket.rate()).toBe(500);
    expect(bucket.reserve(500)).toBe(0);
    expect(bucket.reserve(500)).toBe(1000);
    expect(bucket.reserve(250)).toBe(1500);
  });

  it('refills at the current rate', () => {
    const t = fakeTime();
    const bucket = new RampingTokenBucket({}, t.now);
    bucket.reserve(500);
    t.advance(400);
    expect(bucket.reserve(200)).toBe(0);
    expect(bucket.reserve(100)).toBe(200);
  });

  it('grows by 50% after every 5 minutes of sustained load', () => {
    const t = fakeTime();
    const bucket = new RampingTokenBucket({}, t.now);
    const written: Array<{ at: number; n: number }> = [];
    const start = t.now();
    // A sync that always has the next 500-write commit ready: the bucket is the only limit.
    while (t.now() - start < 16 * 60_000) {
      const wait = bucket.reserve(500);
      t.advance(wait);
      written.push({ at: t.now() - start, n: 500 });
    }
    const writesIn = (fromMin: number, toMin: number) =>
      written.filter((w) => w.at >= fromMin * 60_000 && w.at < toMin * 60_000).reduce((s, w) => s + w.n, 0);
    const perSecond = (fromMin: number, toMin: number) => writesIn(fromMin, toMin) / ((toMin - fromMin) * 60);
    expect(perSecond(1, 5)).toBeCloseTo(500, -1);
    expect(perSecond(6, 10)).toBeCloseTo(750, -1);
    expect(perSecond(11, 15)).toBeCloseTo(1125, -1);
    expect(bucket.rate()).toBeCloseTo(500 * 1.5 ** 3, 5);
  });

  it('a pause ends the burst: the ramp starts over', () => {
    const t = fakeTime();
    const bucket = new RampingTokenBucket({}, t.now);
    for (let i = 0; i < 700; i++) t.advance(bucket.reserve(500) || 1000);
    expect(bucket.rate()).toBeGreaterThan(500);
    t.advance(DEFAULT_RAMP.idleResetMs + 1);
    expect(bucket.rate()).toBe(500);
    expect(bucket.reserve(500)).toBe(0);
    expect(bucket.reserve(500)).toBe(1000);
  });

  it('RESOURCE_EXHAUSTED restarts the ramp; maxRate caps it', () => {
    const t = fakeTime();
    const bucket = new RampingTokenBucket({ maxRate: 600 }, t.now);
    for (let i = 0; i < 400; i++) t.advance(bucket.reserve(500) || 1000);
    expect(bucket.rate()).toBe(600);
    bucket.restartRamp();
    expect(bucket.rate()).toBe(500);
  });

  it('rejects a rate that could never write', () => {
    expect(() => new RampingTokenBucket({ initialRate: 0 })).toThrow(StoreError);
  });
});

describe('transient gRPC codes', () => {
  const retry = { attempts: 4, baseMs: 100, maxMs: 250 };

  it.each([
    [1, 'CANCELLED'],
    [4, 'DEADLINE_EXCEEDED'],
    [8, 'RESOURCE_EXHAUSTED'],
    [10, 'ABORTED'],
    [13, 'INTERNAL'],
    [14, 'UNAVAILABLE'],
  ])('code %i (%s) is a TransientStoreError after the retries are spent', async (code, name) => {
    const t = fakeTime();
    let calls = 0;
    const err = await withRetry(
      'op',
      async () => {
        calls++;
        throw grpcError(code);
      },
      retry,
      t.timing,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientStoreError);
    expect((err as TransientStoreError).code).toBe('STORE_TRANSIENT');
    expect((err as Error).message).toContain(name);
    expect(calls).toBe(4);
    // Exponential, capped, full jitter (random() = 0.5 here).
    expect(t.sleeps).toEqual([50, 100, 125]);
    expect(isTransientFirestoreError(grpcError(code))).toBe(true);
    expect(toStoreError(grpcError(code), 'x')).toBeInstanceOf(TransientStoreError);
  });

  it('string code names map too', () => {
    expect(isTransientFirestoreError({ code: 'unavailable' })).toBe(true);
    expect(isTransientFirestoreError({ code: 'resource-exhausted' })).toBe(true);
  });

  it.each([3, 5, 6, 7, 9, 16])('code %i is a StoreError at once, without retries', async (code) => {
    const t = fakeTime();
    let calls = 0;
    const err = await withRetry(
      'op',
      async () => {
        calls++;
        throw grpcError(code);
      },
      retry,
      t.timing,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).not.toBeInstanceOf(TransientStoreError);
    expect(calls).toBe(1);
    expect(t.sleeps).toEqual([]);
  });

  it('a transient failure followed by success returns the result', async () => {
    const t = fakeTime();
    let calls = 0;
    const value = await withRetry(
      'op',
      async () => {
        if (++calls < 3) throw grpcError(14);
        return 'ok';
      },
      retry,
      t.timing,
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });
});

describe('Committer', () => {
  let app: App;
  let db: Firestore;
  beforeAll(() => {
    // A Firestore instance only to build WriteBatches: every commit below is injected, nothing connects.
    app = initializeApp({ projectId: 'wasync-unit' }, 'batching-unit');
    db = getFirestore(app);
  });
  afterAll(async () => {
    await deleteApp(app);
  });

  const groups = (n: number, perGroup = 1): WriteGroup[] =>
    Array.from({ length: n }, (_, i) =>
      Array.from({ length: perGroup }, (_, j) => ({ type: 'set' as const, ref: db.doc(`c/d${i}-${j}`), data: { i }, merge: false })),
    );
  // The client's own operation count (an internal getter; the public API cannot count a batch).
  const sizeOf = (batch: WriteBatch) => (batch as unknown as { _opCount: number })._opCount;

  it('paces commits by the bucket and spreads them with jitter, never before the first', async () => {
    const t = fakeTime();
    const committed: number[] = [];
    const committer = new Committer(db, {
      now: t.now,
      timing: t.timing,
      jitterMs: 40,
      commit: async (batch) => {
        committed.push(sizeOf(batch));
      },
    });
    const stats = await committer.commit('test', groups(1500));
    expect(committed).toEqual([500, 500, 500]);
    expect(stats).toMatchObject({ commits: 3, ops: 1500, retries: 0 });
    // 2nd commit: 1000 ms of bucket + 20 ms jitter; 3rd: the jitter pause refilled 10 tokens.
    expect(t.sleeps).toEqual([1020, 1000]);
  });

  it('retries a transient commit failure with a fresh batch, then succeeds', async () => {
    const t = fakeTime();
    const attempts: number[] = [];
    let failures = 2;
    const committer = new Committer(db, {
      now: t.now,
      timing: t.timing,
      jitterMs: 0,
      commit: async (batch) => {
        attempts.push(sizeOf(batch));
        if (failures-- > 0) throw grpcError(14, 'UNAVAILABLE: connection reset');
      },
    });
    const stats = await committer.commit('test', groups(10));
    expect(attempts).toEqual([10, 10, 10]);
    expect(stats.retries).toBe(2);
  });

  it('RESOURCE_EXHAUSTED restarts the ramp', async () => {
    const t = fakeTime();
    let calls = 0;
    const committer = new Committer(db, {
      now: t.now,
      timing: t.timing,
      jitterMs: 0,
      ramp: { growthEveryMs: 1000 },
      commit: async () => {
        if (++calls === 8) throw grpcError(8, 'RESOURCE_EXHAUSTED: slow down');
      },
    });
    for (let i = 0; i < 6; i++) await committer.commit('test', groups(500));
    const before = committer.bucket.rate();
    expect(before).toBeGreaterThan(500);
    await committer.commit('test', groups(500));
    await committer.commit('test', groups(500));
    expect(calls).toBe(9);
    expect(committer.bucket.rate()).toBe(500);
  });

  it('gives up with a TransientStoreError the caller can retry', async () => {
    const t = fakeTime();
    const committer = new Committer(db, {
      now: t.now,
      timing: t.timing,
      retry: { attempts: 3, baseMs: 10, maxMs: 10 },
      commit: async () => {
        throw grpcError(10, 'ABORTED: too much contention');
      },
    });
    await expect(committer.commit('test', groups(1))).rejects.toBeInstanceOf(TransientStoreError);
  });

  it('a commit that never answers counts as DEADLINE_EXCEEDED and is retried', async () => {
    let calls = 0;
    const committer = new Committer(db, {
      jitterMs: 0,
      commitTimeoutMs: 20,
      retry: { attempts: 2, baseMs: 1, maxMs: 1 },
      commit: () => {
        calls++;
        return new Promise(() => undefined);
      },
    });
    const err = await committer.commit('test', groups(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientStoreError);
    expect((err as Error).message).toContain('DEADLINE_EXCEEDED');
    expect(calls).toBe(2);
  });

  it('cuts a byte-heavy write list by size', async () => {
    const committed: number[] = [];
    const committer = new Committer(db, {
      jitterMs: 0,
      commit: async (batch) => {
        committed.push(sizeOf(batch));
      },
    });
    const heavy: WriteGroup[] = Array.from({ length: 20 }, (_, i) => [
      {
        type: 'set',
        ref: db.doc(`threads/t/messages/m${i}`),
        data: messageToDoc(makeMessage({ id: `m${i}`, rawMessage: new Uint8Array(1000 * 1024) })),
        merge: true,
      },
    ]);
    expect(estimateWriteBytes(heavy[0]![0]!)).toBeGreaterThan(1000 * 1024);
    await committer.commit('test', heavy);
    // ~1 MB each, 9 MiB per commit: 9 + 9 + 2.
    expect(committed).toEqual([9, 9, 2]);
  });
});
