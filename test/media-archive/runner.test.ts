import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { WASocket } from '@whiskeysockets/baileys';
import { downloadStoredMedia } from '../../src/connectors/baileys/media.js';
import type { MessageRecord } from '../../src/domain/records.js';
import { mediaJobFor, type MediaDownload } from '../../src/media-archive/archiver.js';
import { FsMediaArchive } from '../../src/media-archive/fs-archive.js';
import { MediaArchiveRunner, type JobOutcome } from '../../src/media-archive/runner.js';
import { ConcurrencyLimit } from '../../src/media-archive/limit.js';
import type { MediaJob } from '../../src/store/media-queue.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { Cdn, encrypt, mediaRecord, type CdnFile } from '../support/media-cdn.js';

/**
 * The queue runner end to end on one machine: a real SQLite file, the fs archive, the real download
 * path against the local CDN. Includes the restart case: jobs a dead process held are resumed.
 */
const logger = pino({ level: 'silent' });
const ACC = 'acc_runner';
const cdn = new Cdn();
const files: CdnFile[] = [];
const noPhone = { updateMediaMessage: async () => Promise.reject(new Error('no phone here')) } as unknown as Pick<
  WASocket,
  'updateMediaMessage'
>;

beforeAll(async () => {
  files.push(...(await Promise.all(Array.from({ length: 6 }, (_, i) => encrypt(randomBytes(20_000 + i * 1000), 'image')))));
  for (const [i, f] of files.entries()) cdn.files.set(`f${i}`, f);
  await cdn.start();
});
afterAll(async () => {
  await cdn.stop();
});

describe('MediaArchiveRunner', () => {
  let dir: string;
  let file: string;
  let store: Store;
  let archive: FsMediaArchive;
  let runner: MediaArchiveRunner | null;
  let settled: Array<{ job: MediaJob; outcome: JobOutcome }>;
  let started: string[];
  let inflight: number;
  let peak: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasync-runner-'));
    file = join(dir, 'wasync.db');
    store = openSqliteStore({ file });
    await store.init();
    archive = await FsMediaArchive.open(join(dir, 'media'));
    runner = null;
    settled = [];
    started = [];
    inflight = 0;
    peak = 0;
  });
  afterEach(async () => {
    await runner?.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The real download, instrumented: which message started when, and how many ran at once. */
  const download: MediaDownload = async (record) => {
    started.push(record.id);
    inflight += 1;
    peak = Math.max(peak, inflight);
    const stream = (await downloadStoredMedia(noPhone, record, logger)).stream;
    stream.once('close', () => (inflight -= 1));
    return stream;
  };

  const message = (
    id: string,
    i: number,
    o: { syncSource?: MessageRecord['syncSource']; createdAt?: number; url?: string } = {},
  ): MessageRecord => ({
    ...mediaRecord(ACC, id, files[i]!, o.url ?? `${cdn.base}/f/f${i}`),
    syncSource: o.syncSource ?? 'realtime',
    createdAt: o.createdAt ?? 1_700_000_000_000 + i,
  });

  async function seed(records: MessageRecord[], on: Store = store): Promise<void> {
    await on.applyMutations(
      ACC,
      records.map((record) => ({ kind: 'message', record })),
    );
    await on.enqueueMediaJobs(records.map(mediaJobFor), Date.now());
  }

  const start = (o: { concurrency?: number; maxAttempts?: number; on?: Store } = {}): MediaArchiveRunner => {
    runner = new MediaArchiveRunner({
      accountId: ACC,
      store: o.on ?? store,
      archive,
      download,
      holder: 'test-instance',
      concurrency: o.concurrency ?? 2,
      maxBytes: 10_000_000,
      maxAttempts: o.maxAttempts ?? 3,
      idleMs: 50,
      logger,
      onSettled: (job, outcome) => settled.push({ job, outcome }),
    });
    runner.start();
    return runner;
  };
  const waitSettled = (n: number) => vi.waitFor(() => expect(settled.length).toBeGreaterThanOrEqual(n), { timeout: 10_000, interval: 10 });
  const sha = (i: number) => createHash('sha256').update(files[i]!.plain).digest('hex');

  it('archives every queued file, live before history (newest history first), never more at once than its concurrency', async () => {
    await seed([
      message('H_OLD', 0, { syncSource: 'history_sync', createdAt: 1_600_000_000_000 }),
      message('H_NEW', 1, { syncSource: 'history_sync', createdAt: 1_690_000_000_000 }),
      message('LIVE_1', 2, { createdAt: 1_700_000_000_001 }),
      message('B_MID', 3, { syncSource: 'backfill', createdAt: 1_650_000_000_000 }),
      message('LIVE_2', 4, { createdAt: 1_700_000_000_002 }),
    ]);
    start({ concurrency: 1 });
    await waitSettled(5);
    expect(started).toEqual(['LIVE_1', 'LIVE_2', 'H_NEW', 'B_MID', 'H_OLD']);
    expect(await store.countMediaJobs(ACC)).toEqual({ queued: 0, leased: 0, backoff: 0, done: 5, failed: 0 });
    for (const i of [0, 1, 2, 3, 4]) expect(await archive.has(sha(i))).toBe(true);
    expect((await store.getMediaJob(ACC, 'LIVE_1'))?.result).toEqual({
      sha256: sha(2),
      size: files[2]!.plain.length,
      key: archive.keyOf(sha(2)),
    });

    settled = [];
    await seed([message('M5', 5), message('M5_COPY', 5), message('M0_COPY', 0)]);
    start({ concurrency: 2 });
    runner!.notify();
    await waitSettled(3);
    expect(peak).toBeLessThanOrEqual(2);
    // The same file as an archived one: nothing downloaded. (M5 and its copy may run at once; both then store it, harmlessly.)
    expect(settled.find((s) => s.job.messageId === 'M0_COPY')?.outcome.result).toBe('already');
    expect(started).not.toContain('M0_COPY');
    expect(await archive.has(sha(5))).toBe(true);
    expect(await store.countMediaJobs(ACC)).toMatchObject({ done: 8, failed: 0 });
  });

  it('retries what may heal (with backoff), fails what cannot, and keeps the last error', async () => {
    const lying = message('LIE', 0);
    lying.media = { ...lying.media!, fileSha256: files[1]!.fileSha256.toString('base64'), fileLength: null };
    const noHash = message('NOHASH', 1);
    noHash.media = { ...noHash.media!, fileSha256: null };
    await seed([message('CDN_500', 2, { url: `${cdn.base}/fail/f2` }), lying, noHash]);
    start({ maxAttempts: 2 });
    await waitSettled(3);
    const retry = await store.getMediaJob(ACC, 'CDN_500');
    expect(retry).toMatchObject({ state: 'backoff', attempts: 1 });
    expect(retry!.wakeAt!).toBeGreaterThan(Date.now() + 20_000);
    expect(retry!.lastError).toMatch(/500/);
    expect(await store.getMediaJob(ACC, 'NOHASH')).toMatchObject({
      state: 'failed',
      attempts: 1,
      lastError: expect.stringMatching(/^MEDIA_UNAVAILABLE: .*fileSha256/),
    });
    // A mismatch may be a corrupted download: retried, and nothing was stored meanwhile.
    expect(await store.getMediaJob(ACC, 'LIE')).toMatchObject({
      state: 'backoff',
      lastError: expect.stringMatching(/^MEDIA_HASH_MISMATCH/),
    });
    expect(await archive.has(sha(1))).toBe(false);
    expect(await archive.has(sha(0))).toBe(false);
  });

  it('gives up after maxAttempts with the last error', async () => {
    await seed([message('CDN_500', 2, { url: `${cdn.base}/fail/f2` })]);
    start({ maxAttempts: 1 });
    await waitSettled(1);
    expect(await store.getMediaJob(ACC, 'CDN_500')).toMatchObject({
      state: 'failed',
      attempts: 1,
      lastError: expect.stringMatching(/500/),
    });
    expect(settled[0]!.outcome.result).toBe('failed');
  });

  it('resumes after a restart: the jobs a dead process held are done by the next one', async () => {
    await seed([message('A', 0), message('B', 1), message('C', 2, { syncSource: 'history_sync' })]);
    // The process that died held A and B (claimed, never finished), with leases that have run out since.
    const dead = await store.claimMediaJobs(ACC, {
      holder: 'dead-instance',
      limit: 2,
      leaseMs: 60_000,
      now: Date.now() - 61_000,
      maxAttempts: 3,
    });
    expect(dead.map((j) => j.messageId)).toEqual(['A', 'B']);
    await store.close();

    store = openSqliteStore({ file });
    await store.init();
    start({ on: store });
    await waitSettled(3);
    expect(await store.countMediaJobs(ACC)).toEqual({ queued: 0, leased: 0, backoff: 0, done: 3, failed: 0 });
    expect(await store.getMediaJob(ACC, 'A')).toMatchObject({ state: 'done', attempts: 2, leaseHolder: null });
    for (const i of [0, 1, 2]) expect(await archive.has(sha(i))).toBe(true);
  });

  it('several accounts share one limit (MEDIA_ARCHIVE_CONCURRENCY is per instance), and each gets its turn', async () => {
    const OTHER = 'acc_runner_2';
    const limit = new ConcurrencyLimit(2);
    await seed([0, 1, 2].map((i) => message(`A${i}`, i)));
    const other = [3, 4, 5].map((i) => ({ ...message(`B${i}`, i), accountId: OTHER }));
    await store.applyMutations(
      OTHER,
      other.map((record) => ({ kind: 'message', record })),
    );
    await store.enqueueMediaJobs(other.map(mediaJobFor), Date.now());
    const runners = [ACC, OTHER].map(
      (accountId) =>
        new MediaArchiveRunner({
          accountId,
          store,
          archive,
          download,
          holder: 'test-instance',
          concurrency: 2,
          limit,
          maxBytes: 10_000_000,
          maxAttempts: 3,
          idleMs: 50,
          logger,
          onSettled: (job, outcome) => settled.push({ job, outcome }),
        }),
    );
    for (const r of runners) r.start();
    try {
      await waitSettled(6);
    } finally {
      for (const r of runners) await r.stop();
    }
    expect(peak).toBeLessThanOrEqual(2);
    expect(limit.inUse).toBe(0);
    // Interleaved: neither account waited for the other's whole queue.
    const order = started.map((id) => id[0]);
    expect(order.slice(0, 4)).toContain('A');
    expect(order.slice(0, 4)).toContain('B');
  });

  it('records the final outcome before the job settles; a failed record keeps the job for a retry', async () => {
    const noHash = message('NOHASH', 1);
    noHash.media = { ...noHash.media!, fileSha256: null };
    await seed([message('OK', 0), noHash]);
    const recorded: string[] = [];
    runner = new MediaArchiveRunner({
      accountId: ACC,
      store,
      archive,
      download,
      holder: 'test-instance',
      concurrency: 2,
      maxBytes: 10_000_000,
      maxAttempts: 3,
      idleMs: 50,
      logger,
      recordOutcome: async (job, outcome) => {
        // The queue still holds the job as leased: the record comes first.
        expect((await store.getMediaJob(ACC, job.messageId))?.state).toBe('leased');
        recorded.push(`${job.messageId}:${outcome.result}`);
        throw new Error('store down');
      },
      onSettled: (job, outcome) => settled.push({ job, outcome }),
    });
    runner.start();
    await waitSettled(2);
    // Neither outcome could be recorded: both wait for another attempt, none is lost or settled unseen.
    expect(await store.getMediaJob(ACC, 'OK')).toMatchObject({ state: 'backoff', lastError: 'store down' });
    expect(await store.getMediaJob(ACC, 'NOHASH')).toMatchObject({ state: 'backoff', lastError: expect.stringMatching(/not recorded/) });
    expect(recorded.sort()).toEqual(['NOHASH:failed', 'OK:stored']);
  });

  it('stop() waits for the files in flight and claims nothing more', async () => {
    await seed([message('A', 0), message('B', 1), message('C', 2), message('D', 3)]);
    start({ concurrency: 2 });
    await vi.waitFor(() => expect(started.length).toBeGreaterThanOrEqual(1), { timeout: 5_000, interval: 2 });
    await runner!.stop();
    const afterStop = started.length;
    expect(runner!.busy).toBe(0);
    await new Promise((r) => setTimeout(r, 150));
    expect(started.length).toBe(afterStop);
    const counts = await store.countMediaJobs(ACC);
    expect(counts.leased).toBe(0);
    expect(counts.done + counts.queued).toBe(4);
    runner = null;
  });
});
