import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { encryptedStream, proto, type WAMessage } from '@whiskeysockets/baileys';
import {
  downloadStoredMedia,
  hasDownloadableMedia,
  isMediaCapable,
  mediaRefOf,
  storedMediaMessage,
  withMediaRef,
  type MediaCapableSocket,
} from '../../src/connectors/baileys/media.js';
import { isExpiredMediaError } from '../../src/connectors/baileys/media.js';
import type { WaSocket } from '../../src/connectors/types.js';
import { NotFoundError } from '../../src/domain/errors.js';
import type { MessageRecord } from '../../src/domain/records.js';
import { makeMessage } from '../support/records.js';

const logger = pino({ level: 'silent' });

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * A stand-in for WhatsApp's media CDN on localhost: `/live` serves the encrypted file, `/gone` answers
 * 410 as the CDN does for expired media, `/cut` drops the connection halfway through the body, `/hold`
 * sends a little and then nothing. (The download takes `url` as is when there is no directPath.)
 */
describe('downloadStoredMedia', () => {
  const plaintext = randomBytes(70_000);
  let server: Server;
  let base: string;
  let enc: Awaited<ReturnType<typeof encryptedStream>>;
  const requests: string[] = [];
  /** Requests whose connection closed before the answer was complete. */
  const closedEarly: string[] = [];

  beforeAll(async () => {
    enc = await encryptedStream(plaintext, 'image');
    const encrypted = readFileSync(enc.encFilePath);
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/live') {
        // Ranges as a CDN serves them (inclusive end), which Baileys relies on for partial downloads.
        const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        if (range) {
          const start = Number(range[1]);
          const end = range[2] ? Math.min(Number(range[2]), encrypted.length - 1) : encrypted.length - 1;
          res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${encrypted.length}` });
          res.end(encrypted.subarray(start, end + 1));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(encrypted);
      } else if (req.url === '/cut' || req.url === '/hold') {
        res.on('close', () => {
          if (!res.writableFinished) closedEarly.push(req.url ?? '');
        });
        res.writeHead(200, { 'content-length': String(encrypted.length) });
        res.write(encrypted.subarray(0, req.url === '/cut' ? encrypted.length / 2 : 16_384));
        if (req.url === '/cut') setTimeout(() => req.socket.destroy(), 50);
      } else {
        res.writeHead(410);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    rmSync(enc.encFilePath, { force: true });
    // fetch keeps connections alive: without this, close waits for them to time out.
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const imageRecord = (url: string, keep: 'raw' | 'ref'): MessageRecord => {
    const image = {
      url,
      mimetype: 'image/jpeg',
      mediaKey: enc.mediaKey,
      fileEncSha256: enc.fileEncSha256,
      fileSha256: enc.fileSha256,
      fileLength: enc.fileLength,
    };
    return makeMessage({
      id: '3EB0MEDIA',
      messageType: 'image',
      contentType: 'imageMessage',
      mediaMimetype: 'image/jpeg',
      rawMessage: keep === 'raw' ? proto.Message.encode({ imageMessage: image }).finish() : null,
      media: {
        url,
        directPath: null,
        mediaKey: enc.mediaKey.toString('base64'),
        fileEncSha256: enc.fileEncSha256.toString('base64'),
        fileSha256: enc.fileSha256.toString('base64'),
        fileLength: enc.fileLength,
      },
    });
  };

  function socket(onReupload: (m: WAMessage) => WAMessage): MediaCapableSocket & { reuploads: number } {
    const sock = {
      reuploads: 0,
      updateMediaMessage: async (m: WAMessage) => {
        sock.reuploads++;
        return onReupload(m);
      },
    };
    return sock as unknown as MediaCapableSocket & { reuploads: number };
  }

  it('streams and decrypts media rebuilt from rawMessage', async () => {
    const sock = socket((m) => m);
    const out = await downloadStoredMedia(sock, imageRecord(`${base}/live`, 'raw'), logger);
    expect((await collect(out.stream)).equals(plaintext)).toBe(true);
    expect(out.mimetype).toBe('image/jpeg');
    expect(sock.reuploads).toBe(0);
  });

  it('also works from the stored media reference alone', async () => {
    const out = await downloadStoredMedia(
      socket((m) => m),
      imageRecord(`${base}/live`, 'ref'),
      logger,
    );
    expect((await collect(out.stream)).equals(plaintext)).toBe(true);
  });

  it('asks the phone to re-upload expired media (410) and downloads the new copy', async () => {
    const sock = socket((m) => ({ ...m, message: { imageMessage: { ...m.message?.imageMessage, url: `${base}/live` } } }));
    const before = requests.length;
    const out = await downloadStoredMedia(sock, imageRecord(`${base}/gone`, 'raw'), logger);
    expect((await collect(out.stream)).equals(plaintext)).toBe(true);
    expect(sock.reuploads).toBe(1);
    expect(requests.slice(before)).toEqual(['/gone', '/live']);
  });

  it('gives up after one re-upload', async () => {
    const sock = socket((m) => m);
    await expect(downloadStoredMedia(sock, imageRecord(`${base}/gone`, 'raw'), logger)).rejects.toThrow(/Failed to fetch/);
    expect(sock.reuploads).toBe(1);
  });

  it('serves a byte range', async () => {
    const out = await downloadStoredMedia(
      socket((m) => m),
      imageRecord(`${base}/live`, 'raw'),
      logger,
      { startByte: 100, endByte: 200 },
    );
    expect((await collect(out.stream)).equals(plaintext.subarray(100, 200))).toBe(true);
  });

  it('serves ranges at block edges and at random offsets byte for byte', async () => {
    const ranges: Array<[number, number]> = [
      [0, 1],
      [15, 17],
      [16, 32],
      [17, 33],
      [69_999, 70_000],
      [69_984, 70_000],
      [0, 70_000],
    ];
    for (let i = 0; i < 20; i++) {
      const a = Math.floor(Math.random() * 70_000);
      ranges.push([a, a + 1 + Math.floor(Math.random() * (70_000 - a))]);
    }
    for (const [startByte, endByte] of ranges) {
      const out = await downloadStoredMedia(
        socket((m) => m),
        imageRecord(`${base}/live`, 'raw'),
        logger,
        { startByte, endByte },
      );
      expect((await collect(out.stream)).equals(plaintext.subarray(startByte, endByte)), `${startByte}..${endByte}`).toBe(true);
    }
  });

  it('reads from startByte to the end of the file (Baileys rc14 returns nothing for this)', async () => {
    const out = await downloadStoredMedia(
      socket((m) => m),
      imageRecord(`${base}/live`, 'raw'),
      logger,
      { startByte: 12_345 },
    );
    expect((await collect(out.stream)).equals(plaintext.subarray(12_345))).toBe(true);
  });

  it('downloads media inside an ephemeral wrapper', async () => {
    const record = imageRecord(`${base}/live`, 'raw');
    const image = proto.Message.decode(record.rawMessage!).imageMessage;
    record.rawMessage = proto.Message.encode({ ephemeralMessage: { message: { imageMessage: image } } }).finish();
    const out = await downloadStoredMedia(
      socket((m) => m),
      record,
      logger,
    );
    expect((await collect(out.stream)).equals(plaintext)).toBe(true);
  });

  it('a CDN connection cut mid-body errors the stream instead of taking the process down', async () => {
    // Baileys rc14's downloadEncryptedContent uses .pipe(): the same cut raises an unhandled 'error'.
    const out = await downloadStoredMedia(
      socket((m) => m),
      imageRecord(`${base}/cut`, 'raw'),
      logger,
    );
    await expect(collect(out.stream)).rejects.toThrow();
  });

  it('destroying the stream cancels the CDN request', async () => {
    const out = await downloadStoredMedia(
      socket((m) => m),
      imageRecord(`${base}/hold`, 'raw'),
      logger,
    );
    await new Promise((resolve) => out.stream.once('data', resolve));
    out.stream.destroy();
    await vi.waitFor(() => expect(closedEarly).toContain('/hold'), { timeout: 5_000, interval: 20 });
  });

  it('refuses an empty or inverted range', async () => {
    const sock = socket((m) => m);
    await expect(downloadStoredMedia(sock, imageRecord(`${base}/live`, 'raw'), logger, { startByte: 10, endByte: 10 })).rejects.toThrow(
      RangeError,
    );
    await expect(downloadStoredMedia(sock, imageRecord(`${base}/live`, 'raw'), logger, { startByte: -1 })).rejects.toThrow(RangeError);
  });

  it('carries a media reference across a thread boundary as plain data and back', () => {
    const msg = storedMediaMessage(imageRecord(`${base}/live`, 'raw'));
    const ref = mediaRefOf(msg);
    expect(ref).toEqual({
      directPath: null,
      url: `${base}/live`,
      mediaKey: enc.mediaKey.toString('base64'),
      fileEncSha256: enc.fileEncSha256.toString('base64'),
      fileSha256: enc.fileSha256.toString('base64'),
      fileLength: 70_000,
    });
    expect(structuredClone(ref)).toEqual(ref);
    const updated = withMediaRef(msg, {
      ...ref,
      directPath: '/v/t62.7118-24/new.enc',
      url: 'https://mmg.whatsapp.net/v/t62.7118-24/new.enc',
    });
    expect(updated.message?.imageMessage?.directPath).toBe('/v/t62.7118-24/new.enc');
    expect(updated.message?.imageMessage?.url).toBe('https://mmg.whatsapp.net/v/t62.7118-24/new.enc');
  });

  it('knows which records can be downloaded', () => {
    expect(hasDownloadableMedia(imageRecord(`${base}/live`, 'raw'))).toBe(true);
    expect(hasDownloadableMedia(imageRecord(`${base}/live`, 'ref'))).toBe(true);
    expect(hasDownloadableMedia(makeMessage({ rawMessage: proto.Message.encode({ conversation: 'hi' }).finish() }))).toBe(false);
    expect(
      hasDownloadableMedia(
        makeMessage({
          contentType: 'imageMessage',
          media: { directPath: null, url: null, mediaKey: 'a2V5', fileEncSha256: null, fileSha256: null, fileLength: null },
        }),
      ),
    ).toBe(false);
  });
});

describe('storedMediaMessage', () => {
  it('keeps the key Baileys needs for a re-upload request', () => {
    const msg = storedMediaMessage(
      makeMessage({
        id: 'X1',
        clientJid: '120363000000000001@g.us',
        participant: '40712345678@s.whatsapp.net',
        rawMessage: proto.Message.encode({ imageMessage: { url: 'u' } }).finish(),
      }),
    );
    expect(msg.key).toEqual({ remoteJid: '120363000000000001@g.us', id: 'X1', fromMe: false, participant: '40712345678@s.whatsapp.net' });
  });

  it('refuses messages without media', () => {
    expect(() => storedMediaMessage(makeMessage({ rawMessage: null, media: null }))).toThrow(NotFoundError);
  });
});

describe('helpers', () => {
  it('recognises a socket that can request re-uploads', () => {
    expect(isMediaCapable({ updateMediaMessage: async () => ({}) } as unknown as WaSocket)).toBe(true);
    expect(isMediaCapable({} as WaSocket)).toBe(false);
  });

  it('treats 404/410 as expired, from Boom errors and fetch-style errors alike', () => {
    expect(isExpiredMediaError({ output: { statusCode: 410 } })).toBe(true);
    expect(isExpiredMediaError({ status: 404 })).toBe(true);
    expect(isExpiredMediaError({ output: { statusCode: 500 } })).toBe(false);
    expect(isExpiredMediaError(new Error('x'))).toBe(false);
  });
});
