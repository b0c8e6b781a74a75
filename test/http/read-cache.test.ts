import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { threadIdOf, type MessageRecord } from '../../src/domain/records.js';
import { inlineReads } from '../../src/http/conversation-reads.js';
import { cachedReads, type ReadCacheResult } from '../../src/http/read-cache.js';
import { FirestoreStore } from '../../src/store/firestore/firestore-store.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { BASE_TIME, makeMessage } from '../support/records.js';
import { AUTH, call, get, rawRequest, startHarness, type Harness } from './harness.js';

const ACC = 'account_prod_cache1';
const JID = '40712345600@s.whatsapp.net';
const THREAD = threadIdOf(ACC, JID);
const MESSAGES = `/api/whatsapp/messages/${ACC}/${encodeURIComponent(THREAD)}`;
const THREADS = `/api/whatsapp/threads/${ACC}`;

/** The compiled store (vitest's globalSetup builds dist/): what an actor thread runs. */
const DIST_SQLITE = new URL('../../dist/src/store/sqlite/index.js', import.meta.url).href;

/** Commits `record` from another thread, on its own connection, as an actor does. */
async function writeFromAnotherThread(file: string, record: MessageRecord): Promise<void> {
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.module).then(async ({ openSqliteStore }) => {
       const store = openSqliteStore({ file: workerData.file });
       await store.init();
       await store.applyMutations(workerData.record.accountId, [{ kind: 'message', record: workerData.record }]);
       await store.close();
       parentPort.postMessage('done');
     });`,
    { eval: true, workerData: { module: DIST_SQLITE, file, record } },
  );
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  await worker.terminate();
}

function message(i: number, overrides: Partial<MessageRecord> = {}): MessageRecord {
  return makeMessage({
    id: `C${String(i).padStart(4, '0')}`,
    accountId: ACC,
    clientJid: JID,
    createdAt: BASE_TIME + i * 1_000,
    ...overrides,
  });
}

function count(results: readonly ReadCacheResult[]): Record<ReadCacheResult, number> {
  const out = { hit: 0, coalesced: 0, miss: 0, bypass: 0 };
  for (const r of results) out[r]++;
  return out;
}

async function seeded(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  await h.store.createAccount({ id: ACC, status: 'open' });
  await h.store.applyMutations(
    ACC,
    Array.from({ length: 40 }, (_, i) => ({ kind: 'message' as const, record: message(i, { body: `body ${i}` }) })),
  );
  // A second chat: the threads list has two pages of one.
  await h.store.applyMutations(ACC, [
    { kind: 'message', record: makeMessage({ id: 'OTHER', accountId: ACC, clientJid: '40712345699@s.whatsapp.net' }) },
  ]);
  return h;
}

describe.each([{ pooled: false }, { pooled: true }])('list response cache (pooled: $pooled)', ({ pooled }) => {
  let h: Harness | null = null;
  afterEach(async () => {
    const errors = h?.errors() ?? [];
    await h?.stop();
    h = null;
    expect(errors).toEqual([]);
  });

  it('serves a polled page from the cache, byte for byte the page a read gives, with its ETag', async () => {
    h = await seeded({ pooled });
    for (const path of [`${MESSAGES}?limit=10`, `${THREADS}?limit=10`]) {
      h.cacheResults.length = 0;
      const first = await call(h.base, path);
      const second = await call(h.base, path);
      const third = await call(h.base, path);
      // Kept once asked for again with nothing committed in between, served from then on.
      expect(h.cacheResults, path).toEqual(['miss', 'miss', 'hit']);
      expect(second.body).toEqual(first.body);
      expect(third.body).toEqual(first.body);
      expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(second.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('a commit by another connection, or by another thread, shows in the very next read', async () => {
    h = await seeded({ pooled });
    const path = `${MESSAGES}?limit=5`;
    await call(h.base, path);
    await call(h.base, path);
    // Another connection in this thread (the HTTP thread's own store writes: account routes, webhooks…).
    const other = openSqliteStore({ file: h.store.file });
    await other.init();
    await other.applyMutations(ACC, [{ kind: 'message', record: message(100, { body: 'from another connection' }) }]);
    await other.close();
    const afterOther = (await call(h.base, path)).body as { messages: Array<{ id: string; body: string }> };
    expect(afterOther.messages[0]!.body).toBe('from another connection');
    // Another thread, as the account actors write.
    await writeFromAnotherThread(h.store.file, message(101, { body: 'from an actor thread' }));
    const afterThread = (await call(h.base, path)).body as { messages: Array<{ id: string; body: string }> };
    expect(afterThread.messages[0]!.body).toBe('from an actor thread');
    // The threads page moved too (its summary names the new top message).
    const threads = (await call(h.base, `${THREADS}?limit=5`)).body as { threads: Array<{ lastMessageId: string }> };
    expect(threads.threads[0]!.lastMessageId).toBe('C0101');
    // And the HTTP thread's own store connection (the one the routes write with).
    await h.store.applyMutations(ACC, [{ kind: 'message', record: message(102, { body: 'from the main connection' }) }]);
    const afterMain = (await call(h.base, path)).body as { messages: Array<{ id: string; body: string }> };
    expect(afterMain.messages[0]!.body).toBe('from the main connection');
  });

  it('a deleted account’s pages answer 404 on the next read', async () => {
    h = await seeded({ pooled });
    for (let i = 0; i < 3; i++) {
      expect((await call(h.base, `${MESSAGES}?limit=5`)).status).toBe(200);
      expect((await call(h.base, `${THREADS}?limit=5`)).status).toBe(200);
    }
    expect(count(h.cacheResults).hit).toBe(2);
    // Without purge the messages stay in the store: only the account row goes.
    const removed = await call(h.base, `/api/whatsapp/accounts/${ACC}`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect((await call(h.base, `${MESSAGES}?limit=5`)).status).toBe(404);
    expect((await call(h.base, `${THREADS}?limit=5`)).status).toBe(404);
  });

  it('different pages, cursors, limits and orders never answer for one another', async () => {
    h = await seeded({ pooled });
    const direct = inlineReads(h.store);
    const firstPage = (await call(h.base, `${MESSAGES}?limit=7`)).body as { nextCursor: string };
    const cursor = encodeURIComponent(firstPage.nextCursor);
    const paths = [
      `${MESSAGES}?limit=7`,
      `${MESSAGES}?limit=8`,
      `${MESSAGES}?limit=7&order=asc`,
      `${MESSAGES}?limit=7&cursor=${cursor}`,
      `${MESSAGES}?limit=8&cursor=${cursor}`,
      `${THREADS}?limit=7`,
      `${THREADS}?limit=1`,
    ];
    const seen = new Map<string, string>();
    // Twice over: the second round comes from the cache and must equal the first, page by page.
    for (let round = 0; round < 2; round++) {
      for (const path of paths) {
        const r = await fetch(h.base + path, { headers: AUTH });
        const text = await r.text();
        expect(r.status, path).toBe(200);
        if (round === 0) seen.set(path, text);
        else expect(text, path).toBe(seen.get(path));
      }
    }
    expect(new Set(seen.values()).size).toBe(paths.length);
    // And each equals the uncached read of the same page.
    const page = (limit: number, extra: Record<string, unknown> = {}) => ({ limit, order: 'desc' as const, cursor: null, ...extra });
    const uncached = await direct.messages(ACC, THREAD, page(7, { cursor: firstPage.nextCursor }));
    expect('text' in uncached && uncached.text).toBe(seen.get(`${MESSAGES}?limit=7&cursor=${cursor}`));
    const uncachedAsc = await direct.messages(ACC, THREAD, page(7, { order: 'asc' }));
    expect('text' in uncachedAsc && uncachedAsc.text).toBe(seen.get(`${MESSAGES}?limit=7&order=asc`));
  });

  it('answers If-None-Match from the cache: 304 with the tag, no body and no Content-Type', async () => {
    h = await seeded({ pooled });
    const path = `${MESSAGES}?limit=10`;
    const first = await call(h.base, path);
    await call(h.base, path);
    const etag = first.headers.get('etag')!;
    h.cacheResults.length = 0;
    const raw = await rawRequest(h.port, get(path, { ...AUTH, 'if-none-match': etag }));
    expect(h.cacheResults).toEqual(['hit']);
    expect(raw.status).toBe(304);
    expect(raw.head).toMatch(new RegExp(`\\r\\netag: ${etag.replace(/"/g, '"')}`, 'i'));
    expect(raw.head).not.toMatch(/\r\ncontent-type:/i);
    expect(raw.head).not.toMatch(/\r\ncontent-length:/i);
    expect(raw.body).toBe('');
    // Another tag gets the page, from the cache as well.
    const other = await call(h.base, path, { headers: { 'if-none-match': '"other"' } });
    expect(other.status).toBe(200);
    expect(other.body).toEqual(first.body);
    expect(h.cacheResults).toEqual(['hit', 'hit']);
  });

  it('requests for the same page at once share one read', async () => {
    h = await seeded({ pooled });
    const path = `${MESSAGES}?limit=20`;
    const bodies = await Promise.all(Array.from({ length: 20 }, () => fetch(h!.base + path, { headers: AUTH }).then((r) => r.text())));
    expect(new Set(bodies).size).toBe(1);
    const c = count(h.cacheResults);
    expect(c.miss).toBeGreaterThanOrEqual(1);
    expect(c.miss + c.coalesced + c.hit).toBe(20);
    // Twenty requests over keep-alive connections arrive within one read on either path.
    expect(c.miss).toBeLessThan(20);
  });

  it('holds no more bytes than its bound, dropping the least recently used page first', async () => {
    const pageBytes = 20_000;
    h = await seeded({ pooled, readCacheBytes: pageBytes * 3 });
    // Pages of 10 messages are a few KB each: about a dozen fit, forty distinct ones do not.
    for (let limit = 1; limit <= 40; limit++) {
      // Twice each: a page is kept once asked for again.
      await call(h.base, `${MESSAGES}?limit=${limit}`);
      await call(h.base, `${MESSAGES}?limit=${limit}`);
      expect(h.reads.stats().bytes).toBeLessThanOrEqual(pageBytes * 3);
    }
    const held = h.reads.stats();
    expect(held.entries).toBeGreaterThan(0);
    expect(held.entries).toBeLessThan(40);
    h.cacheResults.length = 0;
    await call(h.base, `${MESSAGES}?limit=40`);
    await call(h.base, `${MESSAGES}?limit=1`);
    expect(h.cacheResults, 'the newest page stayed, the oldest went').toEqual(['hit', 'miss']);
  });

  it('keeps no page asked for only once between two commits', async () => {
    h = await seeded({ pooled });
    let next = 500;
    for (let limit = 1; limit <= 20; limit++) {
      await call(h.base, `${MESSAGES}?limit=${limit}`);
      await h.store.applyMutations(ACC, [{ kind: 'message', record: message(next++) }]);
      await call(h.base, `${MESSAGES}?limit=${limit}`);
    }
    expect(h.reads.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect(count(h.cacheResults)).toMatchObject({ hit: 0, miss: 40 });
  });

  it('READ_CACHE_MB=0: every read goes to the store', async () => {
    h = await seeded({ pooled, readCacheBytes: 0 });
    const path = `${MESSAGES}?limit=10`;
    const first = await call(h.base, path);
    const etag = first.headers.get('etag')!;
    await call(h.base, path);
    const again = await rawRequest(h.port, get(path, { ...AUTH, 'if-none-match': etag }));
    expect(again.status).toBe(304);
    expect(again.head).not.toMatch(/\r\ncontent-type:/i);
    expect(h.cacheResults).toEqual(['bypass', 'bypass', 'bypass']);
    expect(h.reads.stats()).toEqual({ entries: 0, bytes: 0, maxBytes: 0 });
  });
});

describe('list response cache: where a stale page is read again', () => {
  it('a polled page goes inline after a commit; a page asked once, or a large one, goes to the pool', async () => {
    const h = await seeded({ readCacheBytes: 0 });
    try {
      const via: string[] = [];
      const counted = (name: string, reads: ReturnType<typeof inlineReads>): ReturnType<typeof inlineReads> => ({
        threads: (...args) => {
          via.push(name);
          return reads.threads(...args);
        },
        messages: (...args) => {
          via.push(name);
          return reads.messages(...args);
        },
        close: () => reads.close(),
      });
      const reads = cachedReads(counted('pool', inlineReads(h.store)), {
        maxBytes: 8 * 1024 * 1024,
        changeToken: () => h.store.changeToken(),
        hot: counted('inline', inlineReads(h.store)),
      });
      const page = (limit: number) => ({ limit, order: 'desc' as const, cursor: null });
      let next = 200;
      const commit = () => h.store.applyMutations(ACC, [{ kind: 'message', record: message(next++) }]);
      // Polled: read, read again and kept, served from the cache, then stale after a commit.
      for (let i = 0; i < 3; i++) await reads.messages(ACC, THREAD, page(10));
      // Asked once only.
      await reads.messages(ACC, THREAD, page(11));
      // Large: 40 messages of 3 KB are over the 64 KiB a page may have to be read inline.
      await h.store.applyMutations(
        ACC,
        Array.from({ length: 40 }, (_, i) => ({ kind: 'message' as const, record: message(300 + i, { body: 'x'.repeat(3_000) }) })),
      );
      for (let i = 0; i < 3; i++) await reads.messages(ACC, THREAD, page(40));
      expect(via).toEqual(['pool', 'pool', 'pool', 'pool', 'pool']);
      via.length = 0;
      await commit();
      await reads.messages(ACC, THREAD, page(10));
      await reads.messages(ACC, THREAD, page(11));
      await reads.messages(ACC, THREAD, page(40));
      expect(via).toEqual(['inline', 'pool', 'pool']);
      // With no time for inline reads, the polled page goes to the pool as well.
      via.length = 0;
      const budgeted = cachedReads(counted('pool', inlineReads(h.store)), {
        maxBytes: 8 * 1024 * 1024,
        changeToken: () => h.store.changeToken(),
        hot: counted('inline', inlineReads(h.store)),
        hotBudgetMsPerSecond: 0,
      });
      for (let i = 0; i < 3; i++) await budgeted.messages(ACC, THREAD, page(10));
      await commit();
      await budgeted.messages(ACC, THREAD, page(10));
      expect(via).toEqual(['pool', 'pool', 'pool']);
    } finally {
      await h.stop();
    }
  });
});

describe('list response cache without a change token', () => {
  it('Firestore has none, so its reads pass through', () => {
    expect('changeToken' in FirestoreStore.prototype).toBe(false);
  });

  it('a store without a change token: every read passes through to the store', async () => {
    const h = await seeded({
      readCacheBytes: 8 * 1024 * 1024,
      wrapStore: (store) =>
        new Proxy(store, {
          has: (t, p) => p !== 'changeToken' && p in t,
          get: (t, p) => (p === 'changeToken' ? undefined : Reflect.get(t, p, t)),
        }),
    });
    try {
      await call(h.base, `${MESSAGES}?limit=10`);
      await call(h.base, `${MESSAGES}?limit=10`);
      expect(h.cacheResults).toEqual(['bypass', 'bypass']);
    } finally {
      await h.stop();
    }
  });

  it('a store whose token read fails answers the read itself', async () => {
    const results: ReadCacheResult[] = [];
    const reads = cachedReads(
      {
        threads: async () => ({ status: 200, json: { ok: true } }),
        messages: async () => ({ status: 200, json: {} }),
        close: async () => undefined,
      },
      {
        maxBytes: 1024,
        changeToken: () => {
          throw new Error('closed');
        },
        onResult: (r) => results.push(r),
      },
    );
    expect(await reads.threads(ACC, { limit: 1 })).toEqual({ status: 200, json: { ok: true } });
    expect(results).toEqual(['bypass']);
  });
});
