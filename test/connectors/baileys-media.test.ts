import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { encryptedStream, proto, type WAMessage } from '@whiskeysockets/baileys';
import {
  downloadStoredMedia,
  isMediaCapable,
  storedMediaMessage,
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
 * 410 as the CDN does for expired media. (Baileys downloads `url` as is when there is no directPath.)
 */
describe('downloadStoredMedia', () => {
  const plaintext = randomBytes(70_000);
  let server: Server;
  let base: string;
  let enc: Awaited<ReturnType<typeof encryptedStream>>;
  const requests: string[] = [];

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
    await new Promise((r) => server.close(r));
  });

  const imageRecord = (url: string, keep: 'raw' | 'ref'): MessageRecord => {
    const image = { url, mimetype: 'image/jpeg', mediaKey: enc.mediaKey, fileEncSha256: enc.fileEncSha256, fileSha256: enc.fileSha256, fileLength: enc.fileLength };
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
    expect(out.refreshed).toBeNull();
    expect(sock.reuploads).toBe(0);
  });

  it('also works from the stored media reference alone', async () => {
    const out = await downloadStoredMedia(socket((m) => m), imageRecord(`${base}/live`, 'ref'), logger);
    expect((await collect(out.stream)).equals(plaintext)).toBe(true);
  });

  it('asks the phone to re-upload expired media (410) and downloads the new copy', async () => {
    const sock = socket((m) => ({ ...m, message: { imageMessage: { ...m.message?.imageMessage, url: `${base}/live` } } }));
    const before = requests.length;
    const out = await downloadStoredMedia(sock, imageRecord(`${base}/gone`, 'raw'), logger);
    expect((await collect(out.stream)).equals(plaintext)).toBe(true);
    expect(sock.reuploads).toBe(1);
    expect(out.refreshed?.message?.imageMessage?.url).toBe(`${base}/live`);
    expect(requests.slice(before)).toEqual(['/gone', '/live']);
  });

  it('gives up after one re-upload', async () => {
    const sock = socket((m) => m);
    await expect(downloadStoredMedia(sock, imageRecord(`${base}/gone`, 'raw'), logger)).rejects.toThrow(/Failed to fetch/);
    expect(sock.reuploads).toBe(1);
  });

  it('serves a byte range', async () => {
    const out = await downloadStoredMedia(socket((m) => m), imageRecord(`${base}/live`, 'raw'), logger, { startByte: 100, endByte: 200 });
    expect((await collect(out.stream)).equals(plaintext.subarray(100, 200))).toBe(true);
  });
});

describe('storedMediaMessage', () => {
  it('keeps the key Baileys needs for a re-upload request', () => {
    const msg = storedMediaMessage(
      makeMessage({ id: 'X1', clientJid: '120363000000000001@g.us', participant: '40712345678@s.whatsapp.net', rawMessage: proto.Message.encode({ imageMessage: { url: 'u' } }).finish() }),
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
