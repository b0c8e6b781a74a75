import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Mutation } from '../../src/domain/mutations.js';
import { FeedHub, type FeedSink, type HubEvent } from '../../src/feed/hub.js';
import { batchEnd, decodeCursor, encodeCursor } from '../../src/feed/position.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';
import { makeMessage } from '../support/records.js';

/**
 * The hub on a real SQLite store: replay from a cursor while writers keep committing, the join with
 * the live tail, "*" subscriptions, resyncs and slow sinks. Properties are checked against the log
 * itself: every event after the cursor exactly once, in log order per account.
 */

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(opts: { ringSize?: number; pageSize?: number; replayPageSize?: number; pollMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wasync-hub-'));
  dirs.push(dir);
  const store = openSqliteStore({ file: join(dir, 'wasync.db') });
  await store.init();
  for (const id of ['a1', 'a2', 'a3']) await store.createAccount({ id });
  const hub = new FeedHub({ store, logger, render: (e, cursor) => JSON.stringify({ id: e.id, cursor }), pollMs: 50, ...opts });
  await hub.start();
  cleanups.push(async () => {
    hub.stop();
    await store.close();
  });
  return { store, hub };
}

let n = 0;
const write = (store: SqliteStore, accountId: string): Promise<unknown> => {
  n++;
  const mutations: Mutation[] = [{ kind: 'message', record: makeMessage({ id: `M${n}`, accountId }) }];
  return store.applyMutations(accountId, mutations);
};

class Collector implements FeedSink {
  events: HubEvent[] = [];
  cursors: string[] = [];
  subscribedCursor: string | null = null;
  liveCursor: string | null = null;
  resynced: string | null = null;
  closed = false;
  constructor(private readonly opts: { limit?: number; slow?: boolean } = {}) {}
  subscribed(cursor: string) {
    this.subscribedCursor = cursor;
  }
  push(e: HubEvent, frame: () => string, cursor: () => string) {
    if (this.opts.limit !== undefined && this.events.length >= this.opts.limit) {
      this.closed = true;
      return false;
    }
    expect(JSON.parse(frame())).toEqual({ id: e.id, cursor: cursor() });
    this.events.push(e);
    this.cursors.push(cursor());
    return true;
  }
  live(cursor: string) {
    this.liveCursor = cursor;
  }
  resync(reason: string) {
    this.resynced = reason;
    this.closed = true;
  }
  get pressure() {
    return this.opts.slow === true && Math.random() < 0.3;
  }
  async drained() {
    if (this.opts.slow) await new Promise((r) => setTimeout(r, Math.random() * 5));
  }
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The log itself, as (account, seq, index) keys. */
async function logKeys(store: SqliteStore, accountId: string, afterSeq = 0): Promise<string[]> {
  const page = await store.readChanges(accountId, afterSeq, 1000);
  if (page.status !== 'ok') throw new Error(page.status);
  return page.batches.flatMap((b) => b.events.map((_, i) => `${accountId}/${b.seq}/${i}`));
}
const keys = (events: HubEvent[]) => events.map((e) => `${e.accountId}/${e.seq}/${e.index}`);

describe('FeedHub', () => {
  it.each([
    ['the ring covers the seam', 1000],
    ['a ring of 2 events: the seam is read again from the store', 2],
  ])('replays from a cursor while writers commit, then goes live: every event once, in order (%s)', async (_, ringSize) => {
    const { store, hub } = await setup({ ringSize, pageSize: 3, replayPageSize: 3 });
    for (let i = 0; i < 10; i++) await write(store, 'a1');
    const cursor = encodeCursor({ kind: 'account', epoch: hub.epoch, accountId: 'a1', position: batchEnd(4) });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 60; i++) {
        await write(store, 'a1');
        if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      writing = false;
    })();
    const sink = new Collector({ slow: true });
    await hub.subscribe('a1', decodeCursor(cursor), sink);
    expect(sink.subscribedCursor).toBe(cursor);
    expect(sink.liveCursor).not.toBeNull();
    await writer;
    expect(writing).toBe(false);
    const expected = await logKeys(store, 'a1', 4);
    await until('every event', () => sink.events.length >= expected.length);
    expect(keys(sink.events)).toEqual(expected);
    expect(new Set(sink.events.map((e) => e.id)).size).toBe(sink.events.length);
    // Each cursor resumes exactly after its event.
    const k = 17;
    const resumed = new Collector();
    await hub.subscribe('a1', decodeCursor(sink.cursors[k]!), resumed);
    await until('resumed', () => resumed.events.length >= expected.length - k - 1);
    expect(keys(resumed.events)).toEqual(expected.slice(k + 1));
  });

  it('without a cursor: live from now; "*" interleaves accounts and resumes from its cursor exactly', async () => {
    const { store, hub } = await setup({ pageSize: 4 });
    await write(store, 'a1');
    const live = new Collector();
    const all = new Collector();
    await hub.subscribe('a2', null, live);
    await hub.subscribe('*', null, all);
    for (let i = 0; i < 12; i++) await write(store, ['a1', 'a2', 'a3'][i % 3]!);
    await until('live events', () => all.events.length >= 12 && live.events.length >= 4);
    expect(live.events.every((e) => e.accountId === 'a2')).toBe(true);
    expect(keys(live.events)).toEqual(await logKeys(store, 'a2'));
    for (const acc of ['a1', 'a2', 'a3']) {
      const mine = keys(all.events.filter((e) => e.accountId === acc));
      expect(mine).toEqual(await logKeys(store, acc, acc === 'a1' ? 1 : 0));
    }
    // Resume "*" from the 5th event's cursor while more is written.
    const resumed = new Collector({ slow: true });
    const resuming = hub.subscribe('*', decodeCursor(all.cursors[4]!), resumed);
    for (let i = 0; i < 6; i++) await write(store, ['a3', 'a1'][i % 2]!);
    await resuming;
    await until('resumed all', () => all.events.length >= 18 && resumed.events.length >= 13);
    const sortKeys = (ev: HubEvent[]) => keys(ev).sort();
    expect(sortKeys(resumed.events)).toEqual(sortKeys(all.events.slice(5)));
  });

  it('a cursor of another database, a pruned position, or the wrong account: resync or refusal', async () => {
    const { store, hub } = await setup();
    for (let i = 0; i < 3; i++) await write(store, 'a1');
    const foreign = new Collector();
    await hub.subscribe('a1', { kind: 'account', epoch: 'other', accountId: 'a1', position: batchEnd(1) }, foreign);
    expect(foreign.resynced).toBe('epoch');
    await store.pruneChanges(Date.now() + 60_000);
    hub.trim(Date.now() + 60_000);
    const old = new Collector();
    await hub.subscribe('a1', { kind: 'account', epoch: hub.epoch, accountId: 'a1', position: batchEnd(1) }, old);
    expect(old.resynced).toBe('pruned');
    expect(old.events).toEqual([]);
    const ahead = new Collector();
    await hub.subscribe('a1', { kind: 'account', epoch: hub.epoch, accountId: 'a1', position: batchEnd(99) }, ahead);
    expect(ahead.resynced).toBe('ahead');
    await expect(hub.subscribe('a2', { kind: 'account', epoch: hub.epoch, accountId: 'a1', position: 0 }, new Collector())).rejects.toThrow(
      /belongs to account a1/,
    );
  });

  it('a sink that refuses an event is dropped at once and gets nothing more; the others are not held up', async () => {
    const { store, hub } = await setup();
    const slow = new Collector({ limit: 2 });
    const fast = new Collector();
    await hub.subscribe('a1', null, slow);
    await hub.subscribe('a1', null, fast);
    expect(hub.subscriberCount).toBe(2);
    for (let i = 0; i < 6; i++) await write(store, 'a1');
    await until('fast got all', () => fast.events.length >= 6);
    expect(slow.events).toHaveLength(2);
    expect(hub.subscriberCount).toBe(1);
  });

  it('an account created after start is followed from its first batch by a "*" subscriber', async () => {
    const { store, hub } = await setup();
    const all = new Collector();
    await hub.subscribe('*', null, all);
    await store.createAccount({ id: 'late' });
    for (let i = 0; i < 3; i++) await write(store, 'late');
    await until('late events', () => all.events.length >= 3);
    expect(keys(all.events)).toEqual(await logKeys(store, 'late'));
  });
  it('an account nobody listens to is not read; whoever joins later replays from the store, with no gap and no poll', async () => {
    // No poll: only post-commit wake-ups, so an event the hub skipped can reach a subscriber only
    // through the replay or the read a joining subscriber starts.
    const { store, hub } = await setup({ replayPageSize: 2, pollMs: 3_600_000 });
    let reads = 0;
    const readChanges = store.readChanges.bind(store);
    store.readChanges = (...args: Parameters<SqliteStore['readChanges']>) => {
      reads++;
      return readChanges(...args);
    };
    for (let i = 0; i < 10; i++) await write(store, 'a1');
    await new Promise((r) => setTimeout(r, 20));
    expect(reads).toBe(0);
    // From a cursor, while a writer commits (its wake-ups come while nobody listens yet).
    const sink = new Collector({ slow: true });
    const writer = (async () => {
      for (let i = 0; i < 30; i++) await write(store, 'a1');
    })();
    await hub.subscribe('a1', { kind: 'account', epoch: hub.epoch, accountId: 'a1', position: batchEnd(3) }, sink);
    await writer;
    const expected = await logKeys(store, 'a1', 3);
    await until('every event', () => sink.events.length >= expected.length);
    expect(keys(sink.events)).toEqual(expected);
    // Without a cursor: "now" is the log's head, however many wake-ups were skipped.
    for (let i = 0; i < 5; i++) await write(store, 'a2');
    const live = new Collector();
    await hub.subscribe('a2', null, live);
    expect(decodeCursor(live.subscribedCursor)).toMatchObject({ position: batchEnd(5) });
    await write(store, 'a2');
    await until('the next a2 event', () => live.events.length >= 1);
    expect(keys(live.events)).toEqual(await logKeys(store, 'a2', 5));
  });
});
