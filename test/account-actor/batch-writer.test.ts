import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchWriter } from '../../src/account-actor/batch-writer.js';
import { StoreError, TransientStoreError } from '../../src/domain/errors.js';
import type { Mutation } from '../../src/domain/mutations.js';
import type { Store } from '../../src/store/port.js';
import { makeMessage } from '../support/records.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNT = 'acc-1';

/** The real SQLite store with failures injected in front of it and every call recorded. */
function faulty(store: Store, fail: (mutations: readonly Mutation[], call: number) => Error | null): { store: Store; calls: number[] } {
  const calls: number[] = [];
  const wrapped = Object.create(store) as Store;
  wrapped.applyMutations = async (accountId, mutations) => {
    calls.push(mutations.length);
    const err = fail(mutations, calls.length);
    if (err) throw err;
    return store.applyMutations(accountId, mutations);
  };
  return { store: wrapped, calls };
}

function msg(id: string, extra: Partial<Parameters<typeof makeMessage>[0]> = {}): Mutation {
  return { kind: 'message', record: makeMessage({ id, accountId: ACCOUNT, ...extra }) };
}

describe('BatchWriter', () => {
  let store: Store;

  let temp: TempStore;
  beforeEach(async () => {
    temp = await openTempStore('bw', ACCOUNT);
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  const writer = (s: Store, extra: Partial<ConstructorParameters<typeof BatchWriter>[0]> = {}) =>
    new BatchWriter({
      store: s,
      accountId: ACCOUNT,
      maxOps: 500,
      flushMs: 20,
      dryRun: false,
      retry: { attempts: 4, baseMs: 1, maxMs: 5 },
      ...extra,
    });

  it('cuts batches at maxOps and reports what it saved', async () => {
    const f = faulty(store, () => null);
    const w = writer(f.store);
    const mutations = Array.from({ length: 1200 }, (_, i) => msg(`M${i}`));
    const outcome = await w.submit(mutations, { history: true });
    expect(f.calls).toEqual([500, 500, 200]);
    expect(outcome).toMatchObject({ saved: 1200, errors: 0, duplicates: 0, dryRun: false });
    expect(await store.countMessages(ACCOUNT)).toBe(1200);
  });

  it('never writes the same message twice in one batch, and counts the duplicate', async () => {
    const f = faulty(store, () => null);
    const w = writer(f.store);
    const first = w.submit([msg('DUP', { status: 'sent', direction: 'outbound' })], { history: false });
    const second = w.submit([msg('DUP', { status: 'read', direction: 'outbound' }), msg('OTHER')], { history: false });
    const [a, b] = await Promise.all([first, second]);
    expect(f.calls).toEqual([2]);
    expect(a.saved + b.saved).toBe(2);
    expect(b.duplicates).toBe(1);
    // The folded copy still moved the status forward.
    expect((await store.getMessage(ACCOUNT, 'DUP'))?.status).toBe('read');
  });

  it('flushes a partial batch after the delay, not before', async () => {
    const f = faulty(store, () => null);
    const w = writer(f.store, { flushMs: 80 });
    const pending = w.submit([msg('LATE')], { history: false });
    await new Promise((r) => setTimeout(r, 20));
    expect(f.calls).toEqual([]);
    await pending;
    expect(f.calls).toEqual([1]);
  });

  it('retries transient failures and then succeeds', async () => {
    const f = faulty(store, (_m, call) => (call <= 2 ? new TransientStoreError('SQLITE_BUSY') : null));
    const flushes: number[] = [];
    const w = writer(f.store, { onFlush: (s) => flushes.push(s.attempts) });
    const outcome = await w.submit([msg('R1'), msg('R2')], { history: false });
    expect(outcome).toMatchObject({ saved: 2, errors: 0 });
    expect(f.calls).toEqual([2, 2, 2]);
    expect(flushes).toEqual([3]);
  });

  it('gives up after the retry budget and reports errors without throwing', async () => {
    const f = faulty(store, () => new TransientStoreError('SQLITE_BUSY'));
    const w = writer(f.store);
    const outcome = await w.submit([msg('X1'), msg('X2')], { history: true });
    expect(outcome).toMatchObject({ saved: 0, errors: 2 });
    expect(outcome.firstError).toMatch(/SQLITE_BUSY/);
    expect(f.calls).toHaveLength(4);
  });

  it('isolates a poison mutation by bisecting and keeps the rest', async () => {
    const f = faulty(store, (m) =>
      m.some((x) => x.kind === 'message' && x.record.id === 'POISON') ? new StoreError('constraint failed') : null,
    );
    const w = writer(f.store);
    const mutations = ['A', 'B', 'POISON', 'C', 'D', 'E', 'F'].map((id) => msg(id));
    const outcome = await w.submit(mutations, { history: true });
    expect(outcome).toMatchObject({ saved: 6, errors: 1 });
    expect(await store.countMessages(ACCOUNT)).toBe(6);
    expect(await store.getMessage(ACCOUNT, 'POISON')).toBeNull();
  });

  it('dry run: history submissions are counted and never written; realtime still is', async () => {
    const f = faulty(store, () => null);
    const w = writer(f.store, { dryRun: true });
    const history = await w.submit([msg('H1'), msg('H2'), msg('H2')], { history: true });
    expect(history).toMatchObject({ saved: 2, duplicates: 1, dryRun: true, errors: 0 });
    const live = await w.submit([msg('L1')], { history: false });
    expect(live).toMatchObject({ saved: 1, dryRun: false });
    expect(f.calls).toEqual([1]);
    expect(await store.countMessages(ACCOUNT)).toBe(1);
  });

  it('keeps arrival order across batches: a receipt after its message is applied, not deferred', async () => {
    const w = writer(store, { maxOps: 2 });
    const outcome = await w.submit(
      [
        msg('O1', { direction: 'outbound', status: 'sent' }),
        msg('O2'),
        { kind: 'status', accountId: ACCOUNT, clientJid: null, messageId: 'O1', status: 'read', at: 5 },
      ],
      { history: false },
    );
    expect(outcome.errors).toBe(0);
    const o1 = await store.getMessage(ACCOUNT, 'O1');
    expect(o1).toMatchObject({ status: 'read', readAt: 5, deliveredAt: 5 });
  });

  it('a queue of many thousands (a history sync): batches in arrival order, duplicates folded only while buffered', async () => {
    const written: string[] = [];
    const recording = Object.create(store) as Store;
    recording.applyMutations = async (accountId, mutations) => {
      for (const m of mutations) if (m.kind === 'message') written.push(m.record.id);
      return store.applyMutations(accountId, mutations);
    };
    const w = writer(recording, { maxOps: 100 });
    // 12,000 entries queued at once: the writer takes them from the front in place, compacting as it
    // goes; each batch must still be the next 100 in order. The first batch is written at once.
    const ids = Array.from({ length: 12_000 }, (_, i) => `Q${i}`);
    const bulk = w.submit(
      ids.map((id) => msg(id)),
      { history: true },
    );
    // Q0 is already taken (written again after the rest, and merged); Q11999 is still buffered (folded).
    const again = w.submit([msg('Q0'), msg('Q11999', { status: 'read', readAt: 7 })], { history: false });
    const [a, b] = await Promise.all([bulk, again]);
    expect(a).toMatchObject({ saved: 12_000, errors: 0, duplicates: 0 });
    expect(b).toMatchObject({ saved: 1, duplicates: 1, errors: 0 });
    expect(written).toEqual([...ids, 'Q0']);
    expect(await store.countMessages(ACCOUNT)).toBe(12_000);
    expect(await store.getMessage(ACCOUNT, 'Q11999')).toMatchObject({ status: 'read', readAt: 7 });
    expect(w.pending).toBe(0);
    // The emptied queue still coalesces and writes.
    const late = await w.submit(
      [msg('LATE', { direction: 'outbound', status: 'sent' }), msg('LATE', { direction: 'outbound', status: 'read' })],
      { history: false },
    );
    expect(late).toMatchObject({ saved: 1, duplicates: 1 });
    expect((await store.getMessage(ACCOUNT, 'LATE'))?.status).toBe('read');
  });

  it('close() flushes what it holds and refuses new work', async () => {
    const w = writer(store, { flushMs: 10_000 });
    const pending = w.submit([msg('C1'), msg('C2')], { history: false });
    const res = await w.close(5_000);
    expect(res).toEqual({ flushed: true, pending: 0 });
    expect((await pending).saved).toBe(2);
    const refused = await w.submit([msg('C3')], { history: false });
    expect(refused).toMatchObject({ saved: 0, errors: 1 });
  });

  it('close() is bounded when the store hangs', async () => {
    const hung = Object.create(store) as Store;
    hung.applyMutations = () => new Promise(() => undefined);
    const w = writer(hung, { flushMs: 1 });
    void w.submit([msg('H')], { history: false });
    const started = Date.now();
    const res = await w.close(100);
    expect(res.flushed).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
