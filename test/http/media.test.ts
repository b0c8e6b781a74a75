import { get as httpGet } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RangeNotSatisfiableError } from '../../src/domain/errors.js';
import type { MediaRef, MessageRecord } from '../../src/domain/records.js';
import { contentDisposition, mediaContentType, parseRangeHeader } from '../../src/http/media-headers.js';
import { resolveRange } from '../../src/supervisor/media.js';
import { makeMessage } from '../support/records.js';
import { Cdn, encrypt, mediaRecord, type CdnFile } from '../support/media-cdn.js';
import { AUTH, call, isErrorBody, startHarness, type Harness } from './harness.js';

/**
 * `GET /api/whatsapp/media/:accountId/:messageId` on the real uWS server, downloading real media
 * encrypted with Baileys' own `encryptedStream` from a local HTTP server playing WhatsApp's CDN.
 */

const ACC = 'acc_media';
const SIM = 'acc_sim';
const MiB = 1024 * 1024;
const ROUTE = 'GET /api/whatsapp/media/:accountId/:messageId';

const cdn = new Cdn();
let h: Harness;
let image: CdnFile; // 70,000 bytes: not a multiple of the AES block
let big: CdnFile; // 8 MiB
let huge: CdnFile; // 32 MiB: more than the loopback sockets buffer, for the slow reader

/** A phone that re-uploads: the new copy is served under `/f/<name>`; `asked` holds the messages it was asked about. */
function reuploadingPhone(name: string): { reupload: (record: MessageRecord) => Promise<MediaRef>; asked: MessageRecord[] } {
  const asked: MessageRecord[] = [];
  return {
    asked,
    reupload: async (record) => {
      asked.push(record);
      return { ...record.media!, url: `${cdn.base}/f/${name}`, directPath: null };
    },
  };
}

const mediaPath = (accountId: string, messageId: string): string => `/api/whatsapp/media/${accountId}/${messageId}`;

async function download(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(h.base + path, { headers: { ...AUTH, ...headers }, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  [image, big, huge] = await Promise.all([
    encrypt(randomBytes(70_000), 'image'),
    encrypt(randomBytes(8 * MiB), 'document'),
    encrypt(randomBytes(32 * MiB), 'document'),
  ]);
  await cdn.start();
  cdn.files.set('img', image);
  cdn.files.set('big', big);
  cdn.files.set('huge', huge);
  h = await startHarness();
  await h.store.createAccount({ id: ACC, connector: 'baileys' });
  await h.store.createAccount({ id: SIM, connector: 'sim' });
  await h.store.applyMutations(ACC, [
    { kind: 'message', record: mediaRecord(ACC, 'IMG', image, `${cdn.base}/f/img`) },
    { kind: 'message', record: mediaRecord(ACC, 'IMG_REF', image, `${cdn.base}/f/img`, { raw: false }) },
    { kind: 'message', record: mediaRecord(ACC, 'IMG_NOSIZE', image, `${cdn.base}/f/img`, { sizeKnown: false }) },
    { kind: 'message', record: mediaRecord(ACC, 'EXPIRED', image, `${cdn.base}/gone/img`) },
    { kind: 'message', record: mediaRecord(ACC, 'CDN_500', image, `${cdn.base}/fail/img`) },
    { kind: 'message', record: mediaRecord(ACC, 'CDN_EMPTY', image, `${cdn.base}/empty/img`) },
    {
      kind: 'message',
      record: mediaRecord(ACC, 'BIG', big, `${cdn.base}/f/big`, {
        contentType: 'documentMessage',
        mimetype: 'application/pdf',
        fileName: 'Raport "final" ü\r\n.pdf',
      }),
    },
    {
      kind: 'message',
      record: mediaRecord(ACC, 'HUGE', huge, `${cdn.base}/f/huge`, {
        contentType: 'documentMessage',
        mimetype: 'application/octet-stream',
      }),
    },
    {
      kind: 'message',
      record: mediaRecord(ACC, 'LATE', huge, `${cdn.base}/late/huge`, {
        contentType: 'documentMessage',
        mimetype: 'application/octet-stream',
      }),
    },
    {
      kind: 'message',
      record: mediaRecord(ACC, 'CUT', big, `${cdn.base}/cut/big`, { contentType: 'documentMessage', mimetype: 'application/pdf' }),
    },
    { kind: 'message', record: makeMessage({ id: 'TEXT', accountId: ACC, body: 'just words' }) },
  ]);
  await h.store.applyMutations(SIM, [
    { kind: 'message', record: mediaRecord(SIM, 'SIM_IMG', image, 'https://mmg.whatsapp.net/v/t62.7118-24/x.enc') },
  ]);
});

afterAll(async () => {
  await h?.stop();
  await cdn.stop();
});

afterEach(() => {
  h.accounts.mediaReupload = null;
  // Whatever a client sends, the server writes nothing at error level.
  expect(h.errors()).toEqual([]);
});

describe('GET /api/whatsapp/media/:accountId/:messageId', () => {
  it('streams the decrypted file with its type, name and Accept-Ranges', async () => {
    const r = await download(mediaPath(ACC, 'IMG'));
    expect(r.status).toBe(200);
    expect(r.body.equals(image.plain)).toBe(true);
    expect(r.headers.get('content-type')).toBe('image/jpeg');
    expect(r.headers.get('content-disposition')).toBe(`inline; filename="IMG.jpg"; filename*=UTF-8''IMG.jpg`);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('content-security-policy')).toBe('sandbox');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-range')).toBeNull();
    expect(h.observed.filter((o) => o.route === ROUTE).at(-1)).toEqual({ route: ROUTE, method: 'get', status: 200 });
  });

  it('also from the stored media reference alone (no raw proto kept)', async () => {
    const r = await download(mediaPath(ACC, 'IMG_REF'));
    expect(r.status).toBe(200);
    expect(r.body.equals(image.plain)).toBe(true);
  });

  it('streams an 8 MiB document completely and byte for byte, named safely', async () => {
    const r = await download(mediaPath(ACC, 'BIG'));
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(big.plain.length);
    expect(sha(r.body)).toBe(sha(big.plain));
    expect(r.headers.get('content-type')).toBe('application/pdf');
    // CR/LF dropped, the quote and the accent replaced in the ASCII name, the real name in filename*.
    expect(r.headers.get('content-disposition')).toBe(
      `inline; filename="Raport _final_ u.pdf"; filename*=UTF-8''Raport%20%22final%22%20%C3%BC.pdf`,
    );
  });

  it('a slow reader holds the download back all the way to the CDN, then gets every byte', async () => {
    const total = huge.encrypted.length;
    const { status, body, stalledAt } = await new Promise<{ status: number; body: Buffer; stalledAt: number }>((resolve, reject) => {
      const req = httpGet(h.base + mediaPath(ACC, 'HUGE'), { headers: AUTH, agent: false }, (res) => {
        // Read nothing until the CDN stops being read from (its progress stays put for 400 ms).
        res.pause();
        let last = -1;
        let still = 0;
        const poll = setInterval(() => {
          const now = cdn.sent.get('huge') ?? 0;
          still = now === last ? still + 1 : 0;
          last = now;
          if (still < 4) return;
          clearInterval(poll);
          // Then read slowly: a millisecond's pause after every chunk.
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            res.pause();
            setTimeout(() => res.resume(), 1);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), stalledAt: now }));
          res.on('error', reject);
          res.resume();
        }, 100);
      });
      req.on('error', reject);
    });
    expect(status).toBe(200);
    // The CDN was held back: most of the file had not left it while the client read nothing.
    expect(stalledAt).toBeLessThan(total / 2);
    expect(body.length).toBe(huge.plain.length);
    expect(sha(body)).toBe(sha(huge.plain));
  });

  describe('ranges', () => {
    it('206 with Content-Range and exactly the bytes asked for', async () => {
      const r = await download(mediaPath(ACC, 'IMG'), { range: 'bytes=100-199' });
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe('bytes 100-199/70000');
      expect(r.headers.get('accept-ranges')).toBe('bytes');
      expect(r.body.equals(image.plain.subarray(100, 200))).toBe(true);
      expect(h.observed.filter((o) => o.route === ROUTE).at(-1)?.status).toBe(206);
    });

    it.each([
      ['bytes=0-0', 0, 0],
      ['bytes=0-', 0, 69_999],
      ['bytes=69990-', 69_990, 69_999],
      ['bytes=-16', 69_984, 69_999],
      ['bytes=-100000', 0, 69_999],
      ['bytes=15-16', 15, 16],
      ['bytes=32-47', 32, 47],
      ['bytes=69000-80000', 69_000, 69_999],
    ])('%s → bytes %i-%i', async (header, start, end) => {
      const r = await download(mediaPath(ACC, 'IMG'), { range: header });
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/70000`);
      expect(r.body.equals(image.plain.subarray(start, end + 1))).toBe(true);
    });

    it('a range deep inside the 8 MiB file, at odd offsets', async () => {
      const r = await download(mediaPath(ACC, 'BIG'), { range: 'bytes=1234567-2345678' });
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes 1234567-2345678/${8 * MiB}`);
      expect(r.body.equals(big.plain.subarray(1_234_567, 2_345_679))).toBe(true);
    });

    it('without a known size: an explicit range is honoured with `*`, an open one gets the whole file', async () => {
      const explicit = await download(mediaPath(ACC, 'IMG_NOSIZE'), { range: 'bytes=10-20' });
      expect(explicit.status).toBe(206);
      expect(explicit.headers.get('content-range')).toBe('bytes 10-20/*');
      expect(explicit.body.equals(image.plain.subarray(10, 21))).toBe(true);
      const open = await download(mediaPath(ACC, 'IMG_NOSIZE'), { range: 'bytes=10-' });
      expect(open.status).toBe(200);
      expect(open.body.equals(image.plain)).toBe(true);
    });

    it('416 with `Content-Range: bytes */size` for a range past the end', async () => {
      const r = await call(h.base, mediaPath(ACC, 'IMG'), { headers: { range: 'bytes=70000-' } });
      expect(r.status).toBe(416);
      expect(isErrorBody(r.body) && r.body.error.code).toBe('RANGE_NOT_SATISFIABLE');
      expect(r.headers.get('content-range')).toBe('bytes */70000');
    });

    it.each(['bytes=abc', 'bytes=5-1', 'bytes=0-1,5-6', 'items=0-1', 'bytes=-', 'bytes=-0'])(
      '416 for %s, before the CDN is asked',
      async (header) => {
        const before = cdn.requests.length;
        const r = await call(h.base, mediaPath(ACC, 'IMG'), { headers: { range: header } });
        expect(r.status).toBe(416);
        expect(isErrorBody(r.body) && r.body.error.code).toBe('RANGE_NOT_SATISFIABLE');
        expect(cdn.requests.length).toBe(before);
      },
    );
  });

  describe('what cannot be downloaded', () => {
    it('404 NOT_FOUND for an unknown message or account', async () => {
      const msg = await call(h.base, mediaPath(ACC, 'NOPE'));
      expect(msg.status).toBe(404);
      expect(isErrorBody(msg.body) && msg.body.error).toEqual({ code: 'NOT_FOUND', message: 'message NOPE not found' });
      const acc = await call(h.base, mediaPath('acc_nobody', 'IMG'));
      expect(acc.status).toBe(404);
      expect(isErrorBody(acc.body) && acc.body.error.code).toBe('NOT_FOUND');
    });

    it('404 MEDIA_UNAVAILABLE for a message without media', async () => {
      const r = await call(h.base, mediaPath(ACC, 'TEXT'));
      expect(r.status).toBe(404);
      expect(isErrorBody(r.body) && r.body.error.code).toBe('MEDIA_UNAVAILABLE');
    });

    it('404 MEDIA_UNAVAILABLE for media of a simulated-phone account that its phone did not make, saying why', async () => {
      const before = cdn.requests.length;
      const r = await call(h.base, mediaPath(SIM, 'SIM_IMG'));
      expect(r.status).toBe(404);
      expect(isErrorBody(r.body) && r.body.error.code).toBe('MEDIA_UNAVAILABLE');
      expect(isErrorBody(r.body) && r.body.error.message).toMatch(/the simulated phone holds no such media file/);
      // Not asked: the sim serves its own files from its own loopback CDN, and this one is not among them.
      expect(cdn.requests.length).toBe(before);
    });

    it('502 MEDIA_DOWNLOAD_FAILED when the CDN fails, without its URL in the message', async () => {
      const r = await call(h.base, mediaPath(ACC, 'CDN_500'));
      expect(r.status).toBe(502);
      expect(isErrorBody(r.body) && r.body.error).toEqual({
        code: 'MEDIA_DOWNLOAD_FAILED',
        message: "WhatsApp's media server answered HTTP 500",
      });
    });

    it('502 MEDIA_DOWNLOAD_FAILED as JSON when the stream fails before its first byte', async () => {
      const r = await call(h.base, mediaPath(ACC, 'CDN_EMPTY'));
      expect(r.status).toBe(502);
      expect(isErrorBody(r.body) && r.body.error).toEqual({
        code: 'MEDIA_DOWNLOAD_FAILED',
        message: "WhatsApp's media server returned no data",
      });
      expect(r.headers.get('content-disposition')).toBeNull();
    });
  });

  describe('expired media', () => {
    it('a 410 from the CDN asks the phone to re-upload (updateMediaMessage), then serves the new copy', async () => {
      const phone = reuploadingPhone('img');
      h.accounts.mediaReupload = phone.reupload;
      const before = cdn.requests.length;
      const r = await download(mediaPath(ACC, 'EXPIRED'));
      expect(r.status).toBe(200);
      expect(r.body.equals(image.plain)).toBe(true);
      expect(phone.asked).toHaveLength(1);
      expect(phone.asked[0]).toMatchObject({ id: 'EXPIRED', clientJid: '40712345678@s.whatsapp.net', fromMe: false });
      expect(cdn.requests.slice(before)).toEqual(['/gone/img', '/f/img']);
      // The store keeps the original reference: the refreshed one lived for this download only.
      expect((await h.store.getMessage(ACC, 'EXPIRED'))?.media?.url).toBe(`${cdn.base}/gone/img`);
    });

    it('also for a range', async () => {
      h.accounts.mediaReupload = reuploadingPhone('img').reupload;
      const r = await download(mediaPath(ACC, 'EXPIRED'), { range: 'bytes=500-' });
      expect(r.status).toBe(206);
      expect(r.body.equals(image.plain.subarray(500))).toBe(true);
    });

    it('503 NOT_CONNECTED when the account cannot reach its phone', async () => {
      const r = await call(h.base, mediaPath(ACC, 'EXPIRED'));
      expect(r.status).toBe(503);
      expect(isErrorBody(r.body) && r.body.error.code).toBe('NOT_CONNECTED');
    });

    it('404 MEDIA_UNAVAILABLE when the re-uploaded copy is gone too', async () => {
      h.accounts.mediaReupload = reuploadingPhone('missing').reupload;
      const r = await call(h.base, mediaPath(ACC, 'EXPIRED'));
      expect(r.status).toBe(404);
      expect(isErrorBody(r.body) && r.body.error.code).toBe('MEDIA_UNAVAILABLE');
    });
  });

  describe('failures in the middle of a download', () => {
    it('a client that goes away mid-download: the source is destroyed, the CDN request cancelled, the server fine', async () => {
      const closedBefore = cdn.closedEarly.length;
      await new Promise<void>((resolve, reject) => {
        const req = httpGet(h.base + mediaPath(ACC, 'HUGE'), { headers: AUTH, agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (err) => {
          if (!req.destroyed) reject(err);
        });
      });
      await vi.waitFor(
        () => {
          expect(h.accounts.lastMediaStream?.destroyed).toBe(true);
          expect(cdn.closedEarly.slice(closedBefore)).toContain('huge');
        },
        { timeout: 5_000, interval: 20 },
      );
      await vi.waitFor(() => expect(h.observed.filter((o) => o.route === ROUTE).at(-1)?.status).toBe(499), { timeout: 5_000 });
      expect((await call(h.base, '/health', { auth: false })).status).toBe(200);
      // The next download is whole.
      expect((await download(mediaPath(ACC, 'IMG'))).body.equals(image.plain)).toBe(true);
    });

    it('a client that goes away before the CDN answered: the stream that arrives too late is destroyed', async () => {
      h.accounts.lastMediaStream = null;
      const closedBefore = cdn.closedEarly.length;
      const req = httpGet(h.base + mediaPath(ACC, 'LATE'), { headers: AUTH, agent: false });
      req.on('error', () => undefined);
      await new Promise((r) => setTimeout(r, 100));
      req.destroy();
      await vi.waitFor(
        () => {
          expect(h.accounts.lastMediaStream?.destroyed).toBe(true);
          expect(cdn.closedEarly.slice(closedBefore)).toContain('huge');
        },
        { timeout: 5_000, interval: 20 },
      );
      expect((await call(h.base, '/health', { auth: false })).status).toBe(200);
    });

    it('the CDN dropping the connection mid-body closes the response (truncated, no second status); the process lives', async () => {
      const res = await fetch(h.base + mediaPath(ACC, 'CUT'), { headers: AUTH, signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(200);
      await expect(res.arrayBuffer()).rejects.toThrow();
      expect((await call(h.base, '/health', { auth: false })).status).toBe(200);
      expect((await download(mediaPath(ACC, 'IMG'))).body.equals(image.plain)).toBe(true);
    });

    it('an unauthenticated request never reaches the store or the CDN', async () => {
      const before = cdn.requests.length;
      const r = await call(h.base, mediaPath(ACC, 'IMG'), { auth: false });
      expect(r.status).toBe(401);
      expect(cdn.requests.length).toBe(before);
    });
  });
});

describe('media headers', () => {
  it('parses the Range forms HTTP defines for one range', () => {
    expect(parseRangeHeader('')).toBeUndefined();
    expect(parseRangeHeader('bytes=0-99')).toEqual({ start: 0, end: 99 });
    expect(parseRangeHeader('bytes=100-')).toEqual({ start: 100 });
    expect(parseRangeHeader('bytes=-500')).toEqual({ suffix: 500 });
    expect(parseRangeHeader('Bytes = 5-5 ')).toEqual({ start: 5, end: 5 });
    for (const bad of ['bytes=', 'bytes=a-b', 'bytes=1-2,3-4', 'bytes=9-3', 'pages=1-2', 'bytes=1234567890123456-']) {
      expect(() => parseRangeHeader(bad), bad).toThrow(RangeNotSatisfiableError);
    }
  });

  it('resolves a range against the declared size', () => {
    expect(resolveRange(undefined, 10)).toBeNull();
    expect(resolveRange({ start: 2, end: 5 }, 10)).toEqual({ start: 2, end: 5 });
    expect(resolveRange({ start: 2 }, 10)).toEqual({ start: 2, end: 9 });
    expect(resolveRange({ start: 2, end: 50 }, 10)).toEqual({ start: 2, end: 9 });
    expect(resolveRange({ suffix: 3 }, 10)).toEqual({ start: 7, end: 9 });
    expect(resolveRange({ suffix: 30 }, 10)).toEqual({ start: 0, end: 9 });
    expect(resolveRange({ start: 2, end: 5 }, null)).toEqual({ start: 2, end: 5 });
    expect(resolveRange({ start: 2 }, null)).toBeNull();
    expect(resolveRange({ suffix: 3 }, null)).toBeNull();
    expect(() => resolveRange({ start: 10 }, 10)).toThrow(RangeNotSatisfiableError);
    expect(() => resolveRange({ suffix: 0 }, 10)).toThrow(RangeNotSatisfiableError);
    expect(() => resolveRange({ start: 0 }, 0)).toThrow(RangeNotSatisfiableError);
  });

  it('keeps a well-formed mimetype and nothing else', () => {
    expect(mediaContentType('image/jpeg')).toBe('image/jpeg');
    expect(mediaContentType('audio/ogg; codecs=opus')).toBe('audio/ogg; codecs=opus');
    expect(mediaContentType(null)).toBe('application/octet-stream');
    expect(mediaContentType('image/jpeg\r\nset-cookie: a=b')).toBe('application/octet-stream');
    expect(mediaContentType('not a type')).toBe('application/octet-stream');
    expect(mediaContentType('imagé/jpeg')).toBe('application/octet-stream');
  });

  it('names files safely', () => {
    expect(contentDisposition('report.pdf', 'ID1', 'application/pdf')).toBe(`inline; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition(null, 'ID2', 'audio/ogg; codecs=opus')).toBe(`inline; filename="ID2.ogg"; filename*=UTF-8''ID2.ogg`);
    expect(contentDisposition(null, 'ID3', null)).toBe(`inline; filename="ID3"; filename*=UTF-8''ID3`);
    expect(contentDisposition('../../etc/passwd', 'ID4', null)).toBe(`inline; filename="passwd"; filename*=UTF-8''passwd`);
    expect(contentDisposition('фото.jpg', 'ID5', 'image/jpeg')).toBe(
      `inline; filename="____.jpg"; filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE.jpg`,
    );
    // A right-to-left override would show "gnp.exe" as "exe.png".
    expect(contentDisposition('a\u202egnp.exe', 'ID6', null)).toBe(`inline; filename="agnp.exe"; filename*=UTF-8''agnp.exe`);
    expect(contentDisposition("it's (100%) *ok*", 'ID7', null)).toBe(
      `inline; filename="it's (100_) *ok*"; filename*=UTF-8''it%27s%20%28100%25%29%20%2Aok%2A`,
    );
  });
});
