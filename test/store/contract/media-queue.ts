import { beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/domain/errors.js';
import type { MediaJob, MediaJobInput, MediaJobLease } from '../../../src/store/media-queue.js';
import type { Store } from '../../../src/store/port.js';
import type { Mutation } from '../../../src/domain/mutations.js';
import type { MessageRecord } from '../../../src/domain/records.js';
import { BASE_TIME, makeMessage } from '../../support/records.js';
import type { ContractContext } from './fixtures.js';

/**
 * Store contract, the media-archive queue (src/store/media-queue.ts): idempotent enqueue, claim
 * order (live oldest first, then history newest first), leases that only their holder can settle,
 * backoff, expiry after a dead worker, resumption after a restart, and two instances claiming at once.
 */
export function mediaQueueContract(ctx: ContractContext): void {
  describe('media queue', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    const reopen = () => ctx.reopen();

    const ACC = 'acc-media';
    const OTHER = 'acc-other';
    const T = BASE_TIME;
    const LEASE = 60_000;
    const job = (messageId: string, priority: 'live' | 'history', messageAt: number, accountId = ACC): MediaJobInput => ({
      accountId,
      messageId,
      clientJid: '40712345678@s.whatsapp.net',
      priority,
      messageAt,
    });
    const claim = (now: number, limit = 10, o: { accountId?: string; leaseMs?: number; maxAttempts?: number; on?: Store } = {}) =>
      (o.on ?? store).claimMediaJobs(o.accountId ?? ACC, {
        holder: 'inst-1',
        limit,
        leaseMs: o.leaseMs ?? LEASE,
        now,
        maxAttempts: o.maxAttempts ?? 5,
      });
    const lease = (j: MediaJob): MediaJobLease => ({ accountId: j.accountId, messageId: j.messageId, leaseId: j.leaseId! });
    const ids = (jobs: MediaJob[]) => jobs.map((j) => j.messageId);
    const result = { sha256: 'ab'.repeat(32), size: 70_000, key: `ab/ab/${'ab'.repeat(32)}` };

    describe('jobs written with their messages (applyMutations)', () => {
      const PN = '40712345678@s.whatsapp.net';
      const media = (id: string, o: Partial<MessageRecord> = {}): MessageRecord =>
        makeMessage({ id, accountId: ACC, clientJid: PN, messageType: 'image', contentType: 'imageMessage', createdAt: T, ...o });
      const enqueue = (messageId: string, priority: 'live' | 'history' = 'live', clientJid: string | null = PN): Mutation => ({
        kind: 'media-job',
        accountId: ACC,
        messageId,
        clientJid,
        priority,
        messageAt: T,
      });

      it('a job goes in with its message, once; a done job is never queued again by a replay', async () => {
        const first = await store.applyMutations(ACC, [{ kind: 'message', record: media('M1') }, enqueue('M1')]);
        expect(first).toMatchObject({ inserted: 1, mediaJobsEnqueued: 1 });
        expect(await store.getMediaJob(ACC, 'M1')).toMatchObject({ state: 'queued', priority: 'live', clientJid: PN, attempts: 0 });
        const [claimed] = await claim(T + 1);
        await store.completeMediaJob(lease(claimed!), result, T + 2);
        const replay = await store.applyMutations(ACC, [{ kind: 'message', record: media('M1') }, enqueue('M1', 'history')]);
        expect(replay).toMatchObject({ inserted: 0, merged: 1, mediaJobsEnqueued: 0 });
        expect(await store.getMediaJob(ACC, 'M1')).toMatchObject({ state: 'done', priority: 'live' });
      });

      it('a job for a message stored by an earlier batch is added; one for a message not stored is not', async () => {
        await store.applyMutations(ACC, [{ kind: 'message', record: media('M2') }]);
        expect(await store.applyMutations(ACC, [enqueue('M2', 'history', null), enqueue('GHOST')])).toMatchObject({ mediaJobsEnqueued: 1 });
        expect(await store.getMediaJob(ACC, 'M2')).toMatchObject({ state: 'queued', priority: 'history' });
        expect(await store.getMediaJob(ACC, 'GHOST')).toBeNull();
      });

      it("the archive's fields: written alone, read back, kept through a second sighting of the message", async () => {
        await store.applyMutations(ACC, [{ kind: 'message', record: media('M3') }]);
        const archived = {
          mediaArchivedAt: T + 5,
          mediaSha256: 'cd'.repeat(32),
          mediaArchiveKey: `sha256/cd/${'cd'.repeat(32)}`,
          mediaArchiveError: null,
        };
        expect(await store.recordMediaArchive(ACC, 'M3', null, archived)).toBe(true);
        expect(await store.getMessage(ACC, 'M3')).toMatchObject(archived);
        await store.applyMutations(ACC, [{ kind: 'message', record: media('M3', { body: 'late caption', status: 'read' }) }]);
        expect(await store.getMessage(ACC, 'M3')).toMatchObject({ ...archived, body: 'hello', status: 'read' });
        const failed = {
          mediaArchivedAt: null,
          mediaSha256: null,
          mediaArchiveKey: null,
          mediaArchiveError: 'MEDIA_TOO_LARGE: over the cap',
        };
        expect(await store.recordMediaArchive(ACC, 'M3', PN, failed)).toBe(true);
        expect(await store.getMessage(ACC, 'M3')).toMatchObject(failed);
        expect(await store.recordMediaArchive(ACC, 'GHOST', null, archived)).toBe(false);
      });
    });

    it('enqueues idempotently per message, also within one call', async () => {
      expect(await store.enqueueMediaJobs([job('A', 'live', T), job('B', 'history', T), job('A', 'live', T)], T)).toBe(2);
      expect(await store.enqueueMediaJobs([job('A', 'history', T + 5), job('C', 'live', T)], T + 10)).toBe(1);
      expect(await store.enqueueMediaJobs([], T)).toBe(0);
      const a = await store.getMediaJob(ACC, 'A');
      expect(a).toMatchObject({
        accountId: ACC,
        messageId: 'A',
        priority: 'live',
        messageAt: T,
        state: 'queued',
        attempts: 0,
        lastError: null,
        wakeAt: null,
        leaseId: null,
        leaseHolder: null,
        result: null,
        enqueuedAt: T,
        updatedAt: T,
        finishedAt: null,
      });
      expect(a?.clientJid).toBe('40712345678@s.whatsapp.net');
      expect(await store.countMediaJobs(ACC)).toEqual({ queued: 3, leased: 0, backoff: 0, done: 0, failed: 0 });
      expect(await store.getMediaJob(ACC, 'nope')).toBeNull();
    });

    it('claims live before history: live oldest first, history newest first (oldest last)', async () => {
      await store.enqueueMediaJobs(
        [
          job('h-old', 'history', T - 3_000_000),
          job('live-2', 'live', T + 2000),
          job('h-new', 'history', T - 1000),
          job('live-1', 'live', T + 1000),
          job('h-mid', 'history', T - 50_000),
        ],
        T,
      );
      const order: string[] = [];
      for (let i = 0; i < 6; i++) order.push(...ids(await claim(T + 10_000, 1)));
      expect(order).toEqual(['live-1', 'live-2', 'h-new', 'h-mid', 'h-old']);
    });

    it('a live job enqueued later still goes ahead of a history backlog', async () => {
      await store.enqueueMediaJobs(
        Array.from({ length: 30 }, (_, i) => job(`h${String(i).padStart(2, '0')}`, 'history', T - i * 1000)),
        T,
      );
      expect(ids(await claim(T, 3))).toEqual(['h00', 'h01', 'h02']);
      await store.enqueueMediaJobs([job('live', 'live', T + 5000)], T + 5000);
      expect(ids(await claim(T + 5000, 2))).toEqual(['live', 'h03']);
    });

    it('leases what it claims: one attempt, a lease id and holder, not claimable again; limit and account respected', async () => {
      await store.enqueueMediaJobs([job('A', 'live', T), job('B', 'live', T + 1), job('C', 'live', T + 2), job('X', 'live', T, OTHER)], T);
      const first = await claim(T + 100, 2);
      expect(ids(first)).toEqual(['A', 'B']);
      for (const j of first) {
        expect(j).toMatchObject({ state: 'leased', attempts: 1, leaseHolder: 'inst-1', wakeAt: T + 100 + LEASE, updatedAt: T + 100 });
        expect(j.leaseId).toEqual(expect.any(String));
        expect(await store.getMediaJob(ACC, j.messageId)).toEqual(j);
      }
      expect(first[0]!.leaseId).not.toBe(first[1]!.leaseId);
      expect(ids(await claim(T + 200, 10))).toEqual(['C']);
      expect(await claim(T + 300, 10)).toEqual([]);
      expect(ids(await claim(T + 300, 10, { accountId: OTHER }))).toEqual(['X']);
      expect(await store.countMediaJobs(ACC)).toEqual({ queued: 0, leased: 3, backoff: 0, done: 0, failed: 0 });
    });

    it('completes only with the lease: done with the result, never claimed again, re-enqueue is a no-op', async () => {
      await store.enqueueMediaJobs([job('A', 'live', T)], T);
      const [a] = await claim(T);
      expect(await store.completeMediaJob({ ...lease(a!), leaseId: 'not-mine' }, result, T + 1)).toBe(false);
      expect((await store.getMediaJob(ACC, 'A'))?.state).toBe('leased');
      expect(await store.completeMediaJob(lease(a!), result, T + 2)).toBe(true);
      expect(await store.completeMediaJob(lease(a!), result, T + 3)).toBe(false);
      const done = await store.getMediaJob(ACC, 'A');
      expect(done).toMatchObject({
        state: 'done',
        result,
        finishedAt: T + 2,
        updatedAt: T + 2,
        wakeAt: null,
        leaseId: null,
        leaseHolder: null,
        attempts: 1,
      });
      expect(await store.enqueueMediaJobs([job('A', 'live', T)], T + 4)).toBe(0);
      expect(await claim(T + 10 * LEASE)).toEqual([]);
      expect(await store.countMediaJobs(ACC)).toEqual({ queued: 0, leased: 0, backoff: 0, done: 1, failed: 0 });
    });

    it('retries with backoff: not due before retryAt, then back in its place in the order, error kept', async () => {
      await store.enqueueMediaJobs([job('live', 'live', T), job('h1', 'history', T - 10), job('h2', 'history', T - 20)], T);
      const [live] = await claim(T, 1);
      expect(await store.retryMediaJob(lease(live!), 'CDN answered 500', T + 30_000, T + 5)).toBe(true);
      expect(await store.retryMediaJob(lease(live!), 'again', T + 30_000, T + 6)).toBe(false);
      expect(await store.getMediaJob(ACC, 'live')).toMatchObject({
        state: 'backoff',
        wakeAt: T + 30_000,
        lastError: 'CDN answered 500',
        leaseId: null,
        leaseHolder: null,
      });
      expect(ids(await claim(T + 29_999, 1))).toEqual(['h1']);
      const [again] = await claim(T + 30_000, 1);
      expect(again).toMatchObject({ messageId: 'live', state: 'leased', attempts: 2, lastError: 'CDN answered 500' });
      expect(await store.countMediaJobs(ACC)).toEqual({ queued: 1, leased: 2, backoff: 0, done: 0, failed: 0 });
    });

    it('fails for good with the last error; a failed job is neither claimed nor revived by enqueue', async () => {
      await store.enqueueMediaJobs([job('A', 'live', T)], T);
      const [a] = await claim(T);
      expect(await store.failMediaJob(lease(a!), 'x'.repeat(5000), T + 1)).toBe(true);
      const failed = await store.getMediaJob(ACC, 'A');
      expect(failed).toMatchObject({ state: 'failed', finishedAt: T + 1, wakeAt: null, leaseId: null });
      expect(failed!.lastError!.length).toBeLessThanOrEqual(1000);
      expect(await store.enqueueMediaJobs([job('A', 'live', T)], T + 2)).toBe(0);
      expect(await claim(T + 10 * LEASE)).toEqual([]);
      expect(await store.countMediaJobs(ACC)).toEqual({ queued: 0, leased: 0, backoff: 0, done: 0, failed: 1 });
    });

    it('takes a job back when its lease expires (the worker died); the old lease is void; renew keeps it', async () => {
      await store.enqueueMediaJobs([job('A', 'live', T), job('B', 'live', T + 1)], T);
      const [a, b] = await claim(T, 2, { leaseMs: 1000 });
      expect(await store.renewMediaJob(lease(b!), 5000, T + 500)).toBe(true);
      expect(await claim(T + 999, 10)).toEqual([]);
      const [again] = await claim(T + 1000, 10);
      expect(again).toMatchObject({ messageId: 'A', attempts: 2, state: 'leased' });
      expect(again!.leaseId).not.toBe(a!.leaseId);
      expect(again!.lastError).toMatch(/lease expired/);
      expect(await store.completeMediaJob(lease(a!), result, T + 1001)).toBe(false);
      expect(await store.renewMediaJob(lease(a!), 5000, T + 1001)).toBe(false);
      expect(await store.completeMediaJob(lease(again!), result, T + 1002)).toBe(true);
      expect((await store.getMediaJob(ACC, 'B'))?.wakeAt).toBe(T + 5500);
      expect(await claim(T + 5499, 10)).toEqual([]);
      expect(ids(await claim(T + 5500, 10))).toEqual(['B']);
    });

    it('fails a job whose lease expired maxAttempts times instead of running it again', async () => {
      await store.enqueueMediaJobs([job('poison', 'live', T)], T);
      let now = T;
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [j] = await claim(now, 1, { leaseMs: 100, maxAttempts: 3 });
        expect(j?.attempts).toBe(attempt);
        now += 100;
      }
      expect(await claim(now, 1, { leaseMs: 100, maxAttempts: 3 })).toEqual([]);
      const dead = await store.getMediaJob(ACC, 'poison');
      expect(dead).toMatchObject({ state: 'failed', attempts: 3, finishedAt: now });
      expect(dead!.lastError).toMatch(/lease expired/);
    });

    it('resumes after a restart: a job leased by a store that went away comes back once its lease expires', async () => {
      await store.enqueueMediaJobs([job('A', 'live', T), job('B', 'history', T)], T);
      const [a] = await claim(T, 1, { leaseMs: 1000 });
      await store.close();
      const restarted = await reopen();
      expect((await restarted.getMediaJob(ACC, 'A'))?.state).toBe('leased');
      expect(ids(await claim(T + 10, 10, { on: restarted, leaseMs: 1000 }))).toEqual(['B']);
      const [back] = await claim(T + 1000, 10, { on: restarted });
      expect(back).toMatchObject({ messageId: 'A', attempts: 2 });
      expect(await restarted.completeMediaJob(lease(a!), result, T + 1001)).toBe(false);
    });

    it('deleteAccount removes the account’s jobs and only those', async () => {
      await store.createAccount({ id: ACC });
      await store.enqueueMediaJobs([job('A', 'live', T), job('B', 'history', T), job('X', 'live', T, OTHER)], T);
      await claim(T, 1);
      await store.deleteAccount(ACC, { purge: false });
      expect(await store.getMediaJob(ACC, 'A')).toBeNull();
      expect(await store.countMediaJobs(ACC)).toEqual({ queued: 0, leased: 0, backoff: 0, done: 0, failed: 0 });
      expect((await store.getMediaJob(OTHER, 'X'))?.state).toBe('queued');
    });

    it('refuses bad input and changes nothing', async () => {
      const bad: MediaJobInput[] = [
        { ...job('A', 'live', T), priority: 'urgent' as 'live' },
        { ...job('A', 'live', T), messageAt: Number.NaN },
        { ...job('A', 'live', T), accountId: '' },
        { ...job('A', 'live', T), accountId: 'a__b' },
        { ...job('A', 'live', T), messageId: 'a/b' },
      ];
      for (const j of bad) await expect(store.enqueueMediaJobs([job('ok', 'live', T), j], T)).rejects.toBeInstanceOf(BadRequestError);
      expect(await store.getMediaJob(ACC, 'ok')).toBeNull();
      for (const limit of [0, 101, 1.5]) await expect(claim(T, limit)).rejects.toBeInstanceOf(BadRequestError);
      await expect(store.claimMediaJobs(ACC, { holder: 'h', limit: 1, leaseMs: 0, now: T, maxAttempts: 1 })).rejects.toBeInstanceOf(
        BadRequestError,
      );
    });

    it('two instances claiming at once never lease the same job', async () => {
      const other = await reopen();
      await store.enqueueMediaJobs(
        Array.from({ length: 40 }, (_, i) => job(`m${String(i).padStart(2, '0')}`, i % 2 ? 'live' : 'history', T + i)),
        T,
      );
      const seen: string[] = [];
      for (let round = 0; round < 5; round++) {
        const [x, y] = await Promise.all([claim(T + round, 4), claim(T + round, 4, { on: other })]);
        seen.push(...ids(x), ...ids(y));
      }
      expect(seen.length).toBe(40);
      expect(new Set(seen).size).toBe(40);
    });
  });
}
