import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simMediaFileAt } from '../../src/connectors/sim/media-files.js';
import type { Mutation } from '../../src/domain/mutations.js';
import { MEDIA_MESSAGE_TYPES, type MessageRecord } from '../../src/domain/records.js';
import { sha256FromBase64 } from '../../src/media-archive/port.js';
import type { Store } from '../../src/store/port.js';
import { openStore } from '../../src/store/open.js';
import { loadConfig } from '../../src/config/index.js';
import { pino } from 'pino';
import { E2E_TOKEN, startTestApp, waitFor, type TestApp } from '../support/e2e.js';
import { openFirestoreEmulator, type Connection, type EmulatorClient } from '../support/firestore-emulator.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3TestServer } from '../support/s3-server.js';

/**
 * The media archive end to end, as an operator runs it: the server with the simulated phone (whose
 * media are real files on its loopback CDN), on each store and each archive backend. History and live
 * media are queued with their messages, downloaded through Baileys' decryption, verified and stored;
 * the message records the result; the media route serves the archived file (ranges included); a file
 * that does not match its hash is refused and shows as such; and a queue cut short by a restart (jobs
 * held by a process that died) is finished by the next one.
 */

const ACC = 'acc_archive_e2e';
const SIM = { WA_SIM_CHATS: '10', WA_SIM_MESSAGES_PER_CHAT: '20', WA_SIM_RATE: '0' };

/**
 * Each store and each backend, through the same path. (The other two pairings add nothing this does not
 * cover: the store never sees the backend, and both backends pass one contract suite, test/media-archive/.)
 */
const COMBOS = [
  { store: 'sqlite', archive: 'fs' },
  { store: 'firestore', archive: 's3' },
] as const;

async function mediaMessages(store: Store): Promise<MessageRecord[]> {
  const out: MessageRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listThreads(ACC, { limit: 500, cursor });
    for (const thread of page.items) {
      let mc: string | null = null;
      do {
        const messages = await store.listMessages(ACC, thread.id, { limit: 500, cursor: mc });
        out.push(...messages.items.filter((m) => MEDIA_MESSAGE_TYPES.has(m.messageType)));
        mc = messages.nextCursor;
      } while (mc);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

async function metric(t: TestApp, prefix: string): Promise<number> {
  const text = await (await fetch(`${t.app.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

for (const combo of COMBOS) {
  describe(`media archive end to end: ${combo.store} store, ${combo.archive} archive`, () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-archive-e2e-'));
    let emulator: EmulatorClient | undefined;
    let connection: Connection | undefined;
    let s3: S3TestServer | undefined;
    let savedHost: string | undefined;
    let env: Record<string, string> = {};
    let t: TestApp | null = null;
    let liar: MessageRecord;
    let heldByTheDead: string[] = [];

    const start = (overrides: Record<string, string>) => startTestApp({ ...env, ...overrides });

    beforeAll(async () => {
      env = { ...SIM, DATA_DIR: dataDir, MEDIA_ARCHIVE: combo.archive, MEDIA_ARCHIVE_CONCURRENCY: '1' };
      if (combo.store === 'firestore') {
        emulator = openFirestoreEmulator();
        connection = emulator.connect();
        savedHost = process.env.FIRESTORE_EMULATOR_HOST;
        delete process.env.FIRESTORE_EMULATOR_HOST;
        env = { ...env, STORE: 'firestore', FIRESTORE_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: connection.projectId };
      }
      if (combo.archive === 's3') {
        s3 = await startS3Server();
        env = {
          ...env,
          MEDIA_ARCHIVE_S3_BUCKET: s3.bucket,
          MEDIA_ARCHIVE_S3_ENDPOINT: s3.endpoint,
          MEDIA_ARCHIVE_S3_FORCE_PATH_STYLE: 'true',
          MEDIA_ARCHIVE_S3_REGION: 'us-east-1',
          MEDIA_ARCHIVE_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
          MEDIA_ARCHIVE_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        };
      }

      // First run: one attempt per file, one file at a time; it is stopped while the history's media are still queued.
      t = await start({ MEDIA_ARCHIVE_MAX_ATTEMPTS: '1' });
      expect((await t.api('POST', '/api/whatsapp/accounts', { accountId: ACC })).status).toBe(201);
      const store = t.app.store;
      const some = await waitFor('media messages from the history', async () => {
        const list = await mediaMessages(store);
        return list.length > 0 ? list : undefined;
      });
      // A live media message whose reference lies: the file behind it is a real one, its fileSha256 is not.
      const honest = some[0]!;
      liar = {
        ...honest,
        id: 'LIAR_1',
        waMessageId: 'LIAR_1',
        syncSource: 'realtime',
        syncedAt: null,
        syncType: null,
        media: { ...honest.media!, fileSha256: randomBytes(32).toString('base64') },
      };
      const mutations: Mutation[] = [
        { kind: 'message', record: liar },
        { kind: 'media-job', accountId: ACC, messageId: liar.id, clientJid: liar.clientJid, priority: 'live', messageAt: liar.createdAt },
      ];
      await store.applyMutations(ACC, mutations);
      t.app.accounts.mediaArchive!.notify(ACC);
      await waitFor('the lying file to be refused', async () =>
        (await store.getMediaJob(ACC, liar.id))?.state === 'failed' ? true : undefined,
      );
      await waitFor('a few files archived', async () => ((await store.countMediaJobs(ACC)).done >= 3 ? true : undefined));
      expect(await metric(t, 'wasync_media_archive_failures_total{code="MEDIA_HASH_MISMATCH",final="true"}')).toBe(1);
      await t.app.shutdown();
      t = null;

      // What a process that died mid-download leaves: jobs leased to it, with leases that ran out since.
      const fullEnv = { ...process.env, ...env } as Record<string, string>;
      const between = await openStore(loadConfig(fullEnv), pino({ level: 'silent' }), fullEnv);
      await between.init();
      expect((await between.countMediaJobs(ACC)).queued).toBeGreaterThan(2);
      const dead = await between.claimMediaJobs(ACC, {
        holder: 'dead-instance',
        limit: 2,
        leaseMs: 60_000,
        now: Date.now() - 61_000,
        maxAttempts: 3,
      });
      heldByTheDead = dead.map((j) => j.messageId);
      await between.close();

      // Second run: the queue is finished.
      t = await start({ MEDIA_ARCHIVE_MAX_ATTEMPTS: '3', MEDIA_ARCHIVE_CONCURRENCY: '2' });
      const second = t;
      await waitFor(
        'the whole queue to be done',
        async () => {
          const c = await second.app.store.countMediaJobs(ACC);
          return c.queued + c.leased + c.backoff === 0 && c.done > 0 ? true : undefined;
        },
        60_000,
        100,
      );
    }, 120_000);

    afterAll(async () => {
      await t?.close();
      if (savedHost !== undefined) process.env.FIRESTORE_EMULATOR_HOST = savedHost;
      await connection?.close();
      await emulator?.close();
      await s3?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('every stored media message had its job; each archived file is the real one, recorded on the message', async () => {
      const store = t!.app.store;
      const media = (await mediaMessages(store)).filter((m) => m.id !== liar.id);
      expect(media.length).toBeGreaterThan(5);
      const counts = await store.countMediaJobs(ACC);
      expect(counts).toEqual({ queued: 0, leased: 0, backoff: 0, done: media.length, failed: 1 });
      const archive = t!.app.accounts.mediaArchive!.archive;
      for (const m of media) {
        const sha = sha256FromBase64(m.media!.fileSha256)!;
        expect(m).toMatchObject({ mediaSha256: sha, mediaArchiveKey: archive.keyOf(sha), mediaArchiveError: null });
        expect(m.mediaArchivedAt).toEqual(expect.any(Number));
        const stored = await archive.stat(sha);
        expect(stored?.size).toBe(simMediaFileAt(m.media!.directPath!)!.plain.length);
        if (combo.archive === 'fs') expect(existsSync(path.join(dataDir, 'media', m.mediaArchiveKey!))).toBe(true);
      }
      const sample = media[0]!;
      if (combo.archive === 'fs') {
        const onDisk = readFileSync(path.join(dataDir, 'media', sample.mediaArchiveKey!));
        expect(createHash('sha256').update(onDisk).digest('hex')).toBe(sample.mediaSha256);
      }
    });

    it('a restart resumes the queue: jobs held by the process that died were done by the next one', async () => {
      expect(heldByTheDead).toHaveLength(2);
      for (const id of heldByTheDead) {
        expect(await t!.app.store.getMediaJob(ACC, id)).toMatchObject({ state: 'done', attempts: 2, leaseHolder: null });
      }
    });

    it('the media route serves the archived file, whole and by range, with the same headers', async () => {
      const media = await mediaMessages(t!.app.store);
      const image = media.find((m) => m.messageType === 'image' && m.id !== liar.id)!;
      const plain = simMediaFileAt(image.media!.directPath!)!.plain;
      const url = `${t!.app.url}/api/whatsapp/media/${ACC}/${encodeURIComponent(image.id)}`;
      const auth = { authorization: `Bearer ${E2E_TOKEN}` };
      const whole = await fetch(url, { headers: auth });
      expect(whole.status).toBe(200);
      expect(whole.headers.get('x-wasync-media-source')).toBe('archive');
      expect(whole.headers.get('content-type')).toBe('image/png');
      expect(whole.headers.get('accept-ranges')).toBe('bytes');
      expect(Buffer.from(await whole.arrayBuffer()).equals(plain)).toBe(true);
      for (const [range, start, end] of [
        ['bytes=10-99', 10, 99],
        [`bytes=${plain.length - 50}-`, plain.length - 50, plain.length - 1],
        ['bytes=-20', plain.length - 20, plain.length - 1],
      ] as const) {
        const part = await fetch(url, { headers: { ...auth, range } });
        expect(part.status, range).toBe(206);
        expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${plain.length}`);
        expect(Buffer.from(await part.arrayBuffer()).equals(plain.subarray(start, end + 1))).toBe(true);
      }
      const beyond = await fetch(url, { headers: { ...auth, range: `bytes=${plain.length}-` } });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get('content-range')).toBe(`bytes */${plain.length}`);
    });

    it('a file that does not match its hash is refused, nothing is stored for it, and the message says so', async () => {
      const store = t!.app.store;
      expect(await store.getMediaJob(ACC, liar.id)).toMatchObject({
        state: 'failed',
        lastError: expect.stringMatching(/^MEDIA_HASH_MISMATCH/),
      });
      const record = await store.getMessage(ACC, liar.id);
      expect(record).toMatchObject({ mediaArchivedAt: null, mediaSha256: null, mediaArchiveKey: null });
      expect(record?.mediaArchiveError).toMatch(/^MEDIA_HASH_MISMATCH/);
      expect(await t!.app.accounts.mediaArchive!.archive.has(sha256FromBase64(liar.media!.fileSha256)!)).toBe(false);
      // The API shows it; and its media is still served, from WhatsApp (the sim's CDN), as before the archive.
      const { json } = await t!.api<{ messages: Array<Record<string, unknown>> }>(
        'GET',
        `/api/whatsapp/messages/${ACC}/${encodeURIComponent(`${ACC}__${liar.clientJid}`)}?limit=500`,
      );
      expect(json.messages.find((m) => m.id === liar.id)).toMatchObject({
        mediaArchivedAt: null,
        mediaArchiveError: expect.stringMatching(/MISMATCH/),
      });
      const served = await fetch(`${t!.app.url}/api/whatsapp/media/${ACC}/${liar.id}`, {
        headers: { authorization: `Bearer ${E2E_TOKEN}` },
      });
      expect(served.status).toBe(200);
      expect(served.headers.get('x-wasync-media-source')).toBe('whatsapp');
      await served.arrayBuffer();
    });

    it('metrics count the queue and the files', async () => {
      const store = t!.app.store;
      const media = await mediaMessages(store);
      expect(await metric(t!, 'wasync_media_archive_files_total{result="stored"}')).toBeGreaterThan(0);
      expect(await metric(t!, 'wasync_media_archive_bytes_total')).toBeGreaterThan(0);
      expect(await metric(t!, 'wasync_media_archive_in_flight')).toBe(0);
      // The jobs gauge follows the queue (read again shortly after jobs settle).
      const counts = await store.countMediaJobs(ACC);
      await waitFor('the jobs gauge to show the queue', async () =>
        (await metric(t!, 'wasync_media_archive_jobs{state="done"}')) === counts.done ? true : undefined,
      );
      expect(await metric(t!, 'wasync_media_archive_jobs{state="failed"}')).toBe(1);
      expect(media.length).toBeGreaterThan(0);
    });
  });
}
