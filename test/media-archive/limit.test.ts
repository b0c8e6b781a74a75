import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from '../../src/media-archive/limit.js';

describe('ConcurrencyLimit', () => {
  it('gives out at most its size, hands a permit back to the longest waiter first, and releases once', async () => {
    const limit = new ConcurrencyLimit(2);
    const a = limit.tryAcquire()!;
    const b = (await limit.acquire())!;
    expect(limit.tryAcquire()).toBeNull();
    const order: string[] = [];
    const waitFor = (name: string) =>
      limit.acquire().then((r) => {
        order.push(name);
        return r;
      });
    const first = waitFor('first');
    const second = waitFor('second');
    // Someone is waiting: a newcomer cannot jump the queue even when a permit frees.
    a();
    a();
    expect(limit.tryAcquire()).toBeNull();
    const p1 = (await first)!;
    b();
    const p2 = (await second)!;
    expect(order).toEqual(['first', 'second']);
    expect(limit.inUse).toBe(2);
    p1();
    p2();
    expect(limit.inUse).toBe(0);
  });

  it('an aborted wait gets no permit and leaves the queue', async () => {
    const limit = new ConcurrencyLimit(1);
    const held = limit.tryAcquire()!;
    const abort = new AbortController();
    const waiting = limit.acquire(abort.signal);
    abort.abort();
    expect(await waiting).toBeNull();
    held();
    expect(limit.tryAcquire()).not.toBeNull();
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
  });
});
