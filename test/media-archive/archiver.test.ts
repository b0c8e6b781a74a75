import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { WAMessage, WASocket } from '@whiskeysockets/baileys';
import { downloadStoredMedia, mediaRefOf, withMediaRef } from '../../src/connectors/baileys/media.js';
import type { MessageRecord } from '../../src/domain/records.js';
import { archiveMessageMedia, mediaJobFor, shouldArchive, type MediaDownload } from '../../src/media-archive/archiver.js';
import { FsMediaArchive } from '../../src/media-archive/fs-archive.js';
import { MediaHashMismatchError, MediaTooLargeError, type MediaArchive } from '../../src/media-archive/port.js';
import { S3MediaArchive } from '../../src/media-archive/s3-archive.js';
import { Cdn, encrypt, mediaRecord, type CdnFile } from '../support/media-cdn.js';
import { makeMessage } from '../support/records.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';

/**
 * The archiver on the real download path: media encrypted with Baileys' own media crypto, served by
 * a local CDN, downloaded and decrypted as it streams (src/connectors/baileys/media.ts), verified
 * against the message's `fileSha256`, stored in a real archive (fs and s3).
 */
const logger = pino({ level: 'silent' });
const ACC = 'acc_archive';

const cdn = new Cdn();
let image: CdnFile;
let doc: CdnFile;
/** 24 MiB: more than loopback socket buffers hold, so a cancelled download shows at the CDN. */
let huge: CdnFile;
let s3: S3TestServer;
let dir: string;

/** The phone, for media the CDN dropped: it re-uploads under `/f/<name>`. */
function phone(name: string): Pick<WASocket, 'updateMediaMessage'> & { asked: number } {
  const p = {
    asked: 0,
    updateMediaMessage: async (msg: WAMessage) => {
      p.asked += 1;
      return withMediaRef(msg, { ...mediaRefOf(msg), url: `${cdn.base}/f/${name}`, directPath: null });
    },
  };
  return p;
}

const download =
  (sock: Pick<WASocket, 'updateMediaMessage'> = phone('img')): MediaDownload =>
  async (record) =>
    (await downloadStoredMedia(sock, record, logger)).stream;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  [image, doc, huge] = await Promise.all([
    encrypt(randomBytes(70_000), 'image'),
    encrypt(randomBytes(3 * 1024 * 1024 + 7), 'document'),
    encrypt(randomBytes(24 * 1024 * 1024), 'document'),
  ]);
  cdn.files.set('img', image);
  cdn.files.set('doc', doc);
  cdn.files.set('huge', huge);
  await cdn.start();
  s3 = await startS3Server();
  dir = mkdtempSync(join(tmpdir(), 'wasync-archiver-'));
});
afterAll(async () => {
  await cdn.stop();
  await s3.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const backends: Array<[string, () => Promise<MediaArchive>]> = [
  ['fs', () => FsMediaArchive.open(join(dir, `media-${++n}`))],
  ['s3', async () => new S3MediaArchive({ client: s3.client(), bucket: s3.bucket, prefix: `run${++n}/` })],
];

describe.each(backends)('archiveMessageMedia into %s', (_name, open) => {
  it('downloads, decrypts, verifies and stores the file under its SHA-256; the same file again downloads nothing', async () => {
    const archive = await open();
    const record = mediaRecord(ACC, 'IMG', image, `${cdn.base}/f/img`);
    const out = await archiveMessageMedia({ record, archive, download: download(), maxBytes: 10_000_000 });
    expect(out.status).toBe('stored');
    expect(out.media).toMatchObject({ sha256: hex(image.plain), size: image.plain.length, key: archive.keyOf(hex(image.plain)) });
    expect((await collect((await archive.get(out.media.sha256))!.stream)).equals(image.plain)).toBe(true);

    const before = cdn.requests.length;
    const forwarded = mediaRecord(ACC, 'IMG_FWD', image, `${cdn.base}/f/img`);
    expect((await archiveMessageMedia({ record: forwarded, archive, download: download(), maxBytes: 10_000_000 })).status).toBe('already');
    expect(cdn.requests.length).toBe(before);
  });

  it('rejects a file that does not match the message’s fileSha256 and stores nothing', async () => {
    const archive = await open();
    // The CDN serves the image, but the message says it is the document.
    const lying: MessageRecord = { ...mediaRecord(ACC, 'LIE', image, `${cdn.base}/f/img`) };
    lying.media = { ...lying.media!, fileSha256: doc.fileSha256.toString('base64'), fileLength: null };
    await expect(archiveMessageMedia({ record: lying, archive, download: download(), maxBytes: 10_000_000 })).rejects.toBeInstanceOf(
      MediaHashMismatchError,
    );
    expect(await archive.has(hex(doc.plain))).toBe(false);
    expect(await archive.has(hex(image.plain))).toBe(false);
  });

  it('archives media the CDN dropped through the phone’s re-upload', async () => {
    const archive = await open();
    const sock = phone('doc');
    const record = mediaRecord(ACC, 'OLD_DOC', doc, `${cdn.base}/gone/doc`, {
      contentType: 'documentMessage',
      mimetype: 'application/pdf',
    });
    const out = await archiveMessageMedia({ record, archive, download: download(sock), maxBytes: 10_000_000 });
    expect(sock.asked).toBe(1);
    expect((await collect((await archive.get(out.media.sha256))!.stream)).equals(doc.plain)).toBe(true);
  });
});

describe('archiveMessageMedia limits', () => {
  it('refuses a file known to be over the cap without downloading it', async () => {
    const archive = await FsMediaArchive.open(join(dir, 'limits-1'));
    const before = cdn.requests.length;
    const record = mediaRecord(ACC, 'BIG', doc, `${cdn.base}/f/doc`, { contentType: 'documentMessage' });
    await expect(archiveMessageMedia({ record, archive, download: download(), maxBytes: 1024 * 1024 })).rejects.toBeInstanceOf(
      MediaTooLargeError,
    );
    expect(cdn.requests.length).toBe(before);
  });

  it('stops a download of unknown size at the cap, cancels it, and stores nothing', async () => {
    const root = join(dir, 'limits-2');
    const archive = await FsMediaArchive.open(root);
    const record = mediaRecord(ACC, 'BIG_NOSIZE', huge, `${cdn.base}/f/huge`, { contentType: 'documentMessage', sizeKnown: false });
    await expect(archiveMessageMedia({ record, archive, download: download(), maxBytes: 256 * 1024 })).rejects.toBeInstanceOf(
      MediaTooLargeError,
    );
    expect(await archive.has(hex(huge.plain))).toBe(false);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    // The download was cancelled: the CDN's response closed before the whole file went out.
    await vi.waitFor(() => expect(cdn.closedEarly).toContain('huge'), { timeout: 5_000 });
    expect(cdn.sent.get('huge')).toBeLessThan(huge.encrypted.length);
  });

  it('has nothing to do for a message without media or without a hash to verify against', async () => {
    const archive = await FsMediaArchive.open(join(dir, 'limits-3'));
    await expect(
      archiveMessageMedia({ record: makeMessage({ accountId: ACC }), archive, download: download(), maxBytes: 1 }),
    ).rejects.toMatchObject({ code: 'MEDIA_UNAVAILABLE' });
    const noHash = mediaRecord(ACC, 'NOHASH', image, `${cdn.base}/f/img`);
    noHash.media = { ...noHash.media!, fileSha256: null };
    await expect(archiveMessageMedia({ record: noHash, archive, download: download(), maxBytes: 10_000_000 })).rejects.toMatchObject({
      code: 'MEDIA_UNAVAILABLE',
    });
  });
});

describe('what gets queued', () => {
  const policy = { types: ['image', 'video', 'audio', 'document', 'sticker'] as const, maxBytes: 100_000 };
  /** A stored image message; the file's hash and size do not depend on the CDN file here. */
  const img = (): MessageRecord =>
    makeMessage({
      id: 'Q',
      accountId: ACC,
      messageType: 'image',
      contentType: 'imageMessage',
      media: {
        url: 'https://mmg.whatsapp.net/x',
        directPath: null,
        mediaKey: 'a2V5',
        fileEncSha256: null,
        fileSha256: Buffer.alloc(32, 7).toString('base64'),
        fileLength: 50_000,
      },
    });
  const withMedia = (patch: Partial<NonNullable<MessageRecord['media']>>): MessageRecord => ({
    ...img(),
    media: { ...img().media!, ...patch },
  });

  it.each([
    ['an image', img, policy, true],
    ['an image when only documents are archived', img, { ...policy, types: ['document'] as const }, false],
    ['an image over the cap', img, { ...policy, maxBytes: 1000 }, false],
    ['an image of unknown size', () => withMedia({ fileLength: null }), { ...policy, maxBytes: 1000 }, true],
    ['a revoked image', () => ({ ...img(), revokedAt: 1 }), policy, false],
    ['an image without fileSha256', () => withMedia({ fileSha256: null }), policy, false],
    ['an image without a media key', () => withMedia({ mediaKey: null }), policy, false],
    ['a text', () => makeMessage(), policy, false],
  ])('%s → %s', (_what, record, p, expected) => {
    expect(shouldArchive(record(), { types: [...p.types], maxBytes: p.maxBytes })).toBe(expected);
  });

  it.each([
    ['realtime', 'live'],
    ['outbound_api', 'live'],
    ['history_sync', 'history'],
    ['backfill', 'history'],
  ] as const)('%s media is queued as %s', (syncSource, priority) => {
    const record = { ...img(), syncSource };
    expect(mediaJobFor(record)).toEqual({
      accountId: ACC,
      messageId: 'Q',
      clientJid: record.clientJid,
      priority,
      messageAt: record.createdAt,
    });
  });
});
