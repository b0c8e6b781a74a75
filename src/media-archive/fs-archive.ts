import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RangeNotSatisfiableError, WasyncError } from '../domain/errors.js';
import {
  MediaArchiveError,
  assertSha256,
  contentKey,
  messageOf,
  type ArchiveRange,
  type ArchiveRead,
  type ArchivedMedia,
  type MediaArchive,
  type PutOptions,
} from './port.js';
import { VerifyingStream } from './verify.js';

/** Temp files older than this at start-up were left by a crash mid-write: removed. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * The `fs` backend: files under `root` (`DATA_DIR/media`) at `sha256/ab/abcd…`. A write goes to a
 * temp file in `root/tmp` (same filesystem), is flushed to disk, and is renamed into place only after
 * the bytes verified: the rename is atomic, so a reader sees the whole file or none, and a crash
 * leaves at most a temp file. Files are 0600 and directories 0700: media is private.
 */
export class FsMediaArchive implements MediaArchive {
  readonly backend = 'fs' as const;
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  static async open(root: string, now = Date.now()): Promise<FsMediaArchive> {
    await mkdir(join(root, 'tmp'), { recursive: true, mode: 0o700 });
    const archive = new FsMediaArchive(root);
    await archive.sweepTemp(now);
    return archive;
  }

  keyOf(sha256: string): string {
    return contentKey(sha256);
  }

  async put(body: Readable, opts: PutOptions): Promise<ArchivedMedia> {
    const sha256 = assertSha256(opts.sha256);
    const key = contentKey(sha256);
    const final = join(this.root, key);
    const temp = join(this.root, 'tmp', `${sha256}.${randomUUID()}.part`);
    try {
      await pipeline(body, new VerifyingStream(sha256, opts.maxBytes), createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
      // Durable before it becomes visible: without the fsync a power loss after the rename could
      // leave an empty or partial file under a content address.
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(dirname(final), { recursive: true, mode: 0o700 });
      await rename(temp, final);
    } catch (err) {
      await rm(temp, { force: true });
      throw err instanceof WasyncError
        ? err
        : new MediaArchiveError(`could not store media ${sha256.slice(0, 16)}…: ${messageOf(err)}`, { cause: err });
    }
    const info = await this.stat(sha256);
    if (!info) throw new MediaArchiveError(`media ${sha256.slice(0, 16)}… vanished right after it was stored`);
    return info;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async stat(sha256: string): Promise<ArchivedMedia | null> {
    const key = contentKey(sha256);
    try {
      const s = await stat(join(this.root, key));
      return s.isFile() ? { sha256, key, size: s.size, storedAt: Math.round(s.mtimeMs) } : null;
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return null;
      throw new MediaArchiveError(`could not read media ${sha256.slice(0, 16)}…: ${messageOf(err)}`, { cause: err });
    }
  }

  async get(sha256: string, range?: ArchiveRange): Promise<ArchiveRead | null> {
    const info = await this.stat(sha256);
    if (!info) return null;
    const { start, end } = checkRange(range, info.size);
    // Opened before returning, so a file deleted in between is "absent", not a stream error later.
    const stream = createReadStream(join(this.root, info.key), info.size === 0 ? {} : { start, end });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      });
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return null;
      throw new MediaArchiveError(`could not read media ${sha256.slice(0, 16)}…: ${messageOf(err)}`, { cause: err });
    }
    return { ...info, stream, start, end };
  }

  async delete(sha256: string): Promise<void> {
    await rm(join(this.root, contentKey(sha256)), { force: true });
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /** Several threads may open the archive; only temp files too old to be anyone's write are removed. */
  private async sweepTemp(now: number): Promise<void> {
    const dir = join(this.root, 'tmp');
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const s = await stat(path).catch(() => null);
      if (s && now - s.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
    }
  }
}

/** A whole-file read, or the requested range with its end clamped to the file (HTTP semantics). */
export function checkRange(range: ArchiveRange | undefined, size: number): { start: number; end: number } {
  if (!range) return { start: 0, end: size - 1 };
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeNotSatisfiableError(`invalid byte range ${start}-${end}`, size);
  }
  if (start >= size) throw new RangeNotSatisfiableError(`range starts at byte ${start} but the file has ${size} bytes`, size);
  return { start, end: Math.min(end, size - 1) };
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
