import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError, RangeNotSatisfiableError } from '../../src/domain/errors.js';
import { MediaHashMismatchError, MediaTooLargeError, type MediaArchive } from '../../src/media-archive/port.js';

/**
 * The executable definition of the media archive port; `fs` and `s3` run it unchanged.
 * `partSize` is the size above which the backend writes in parts (s3 multipart), so that the
 * multi-part path is exercised too; `leftovers` lists anything a failed write left behind (temp
 * files, objects, multipart uploads) for the "nothing stored" checks.
 */
export interface ArchiveBackend {
  archive: MediaArchive;
  leftovers: () => Promise<string[]>;
  cleanup: () => Promise<void>;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** A body that arrives in pieces, as a download does. */
function streamOf(data: Buffer, piece = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += piece) parts.push(data.subarray(i, i + piece));
  return Readable.from(parts);
}

/** A body that fails after `after` bytes: a CDN connection cut mid-download. */
function failingStream(data: Buffer, after: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(data.subarray(0, after));
        setTimeout(() => this.destroy(new Error('socket hang up')), 5);
      }
    },
  });
}

export function runMediaArchiveContract(name: string, make: () => Promise<ArchiveBackend>, partSize: number): void {
  describe(`MediaArchive contract: ${name}`, () => {
    let b: ArchiveBackend;
    let archive: MediaArchive;
    beforeEach(async () => {
      b = await make();
      archive = b.archive;
    });
    afterEach(async () => {
      await archive.close();
      await b.cleanup();
    });

    const small = randomBytes(70_000);
    const multi = randomBytes(partSize * 2 + 12_345);

    it.each([
      ['a small file', small],
      ['a file larger than two parts', multi],
      ['an empty file', Buffer.alloc(0)],
    ])('stores %s under its SHA-256 and reads it back whole', async (_what, data) => {
      const h = sha(data);
      expect(await archive.has(h)).toBe(false);
      expect(await archive.stat(h)).toBeNull();
      expect(await archive.get(h)).toBeNull();
      const stored = await archive.put(streamOf(data), { sha256: h });
      expect(stored).toMatchObject({ sha256: h, key: archive.keyOf(h), size: data.length });
      expect(archive.keyOf(h)).toMatch(new RegExp(`sha256/${h.slice(0, 2)}/${h}$`));
      expect(await archive.has(h)).toBe(true);
      const info = await archive.stat(h);
      expect(info).toMatchObject({ sha256: h, key: archive.keyOf(h), size: data.length });
      expect(info!.storedAt).toEqual(expect.any(Number));
      const read = await archive.get(h);
      expect(read).toMatchObject({ size: data.length, start: 0, end: data.length - 1 });
      expect((await collect(read!.stream)).equals(data)).toBe(true);
      expect(await b.leftovers()).toEqual([]);
    });

    it('serves byte ranges (end inclusive, clamped to the file) and refuses ranges outside it', async () => {
      const h = sha(multi);
      await archive.put(streamOf(multi), { sha256: h });
      const cases: Array<[number, number]> = [
        [0, 0],
        [0, 15],
        [17, 4_000],
        [partSize - 3, partSize + 3],
        [multi.length - 10, multi.length - 1],
        [multi.length - 10, multi.length + 500],
      ];
      for (const [start, end] of cases) {
        const r = await archive.get(h, { start, end });
        const want = multi.subarray(start, Math.min(end, multi.length - 1) + 1);
        expect(r).toMatchObject({ size: multi.length, start, end: start + want.length - 1 });
        expect((await collect(r!.stream)).equals(want)).toBe(true);
      }
      await expect(archive.get(h, { start: multi.length, end: multi.length + 10 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
      await expect(archive.get(h, { start: 10, end: 5 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
      expect(await archive.get(sha(small), { start: 0, end: 10 })).toBeNull();
    });

    it.each([
      ['a small file', small],
      ['a file larger than two parts', multi],
    ])('rejects %s whose bytes do not hash to the address, and stores nothing', async (_what, data) => {
      const claimed = sha(Buffer.from('another file'));
      await expect(archive.put(streamOf(data), { sha256: claimed })).rejects.toBeInstanceOf(MediaHashMismatchError);
      expect(await archive.has(claimed)).toBe(false);
      expect(await archive.has(sha(data))).toBe(false);
      expect(await b.leftovers()).toEqual([]);
    });

    it('stops at maxBytes with MediaTooLargeError and stores nothing', async () => {
      const h = sha(multi);
      await expect(archive.put(streamOf(multi), { sha256: h, maxBytes: partSize + 1 })).rejects.toBeInstanceOf(MediaTooLargeError);
      expect(await archive.has(h)).toBe(false);
      expect(await b.leftovers()).toEqual([]);
      // Exactly at the limit is fine.
      await archive.put(streamOf(small), { sha256: sha(small), maxBytes: small.length });
      expect(await archive.has(sha(small))).toBe(true);
    });

    it('a download that fails midway fails the put with its error and stores nothing', async () => {
      const h = sha(multi);
      await expect(archive.put(failingStream(multi, partSize + 1000), { sha256: h })).rejects.toThrow(/socket hang up/);
      expect(await archive.has(h)).toBe(false);
      expect(await b.leftovers()).toEqual([]);
    });

    it('is idempotent; wrong bytes for a stored address leave the stored file intact', async () => {
      const h = sha(small);
      await archive.put(streamOf(small), { sha256: h });
      await archive.put(streamOf(small), { sha256: h });
      await expect(archive.put(streamOf(randomBytes(100)), { sha256: h })).rejects.toBeInstanceOf(MediaHashMismatchError);
      expect((await collect((await archive.get(h))!.stream)).equals(small)).toBe(true);
    });

    it('deletes idempotently', async () => {
      const h = sha(small);
      await archive.put(streamOf(small), { sha256: h });
      await archive.delete(h);
      await archive.delete(h);
      expect(await archive.has(h)).toBe(false);
      expect(await archive.get(h)).toBeNull();
    });

    it('refuses an address that is not a lowercase hex SHA-256 (it becomes a path or key)', async () => {
      for (const bad of ['', 'abc', sha(small).toUpperCase(), `../${sha(small).slice(3)}`, `${sha(small).slice(0, 63)}/`]) {
        await expect(archive.put(streamOf(small), { sha256: bad })).rejects.toBeInstanceOf(BadRequestError);
        await expect(archive.stat(bad)).rejects.toBeInstanceOf(BadRequestError);
        await expect(archive.get(bad)).rejects.toBeInstanceOf(BadRequestError);
        await expect(archive.delete(bad)).rejects.toBeInstanceOf(BadRequestError);
      }
    });
  });
}
