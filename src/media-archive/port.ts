import type { Readable } from 'node:stream';
import { BadRequestError } from '../domain/errors.js';

/**
 * The media archive port: decrypted media files, content-addressed by their SHA-256 (the message's
 * `fileSha256`, which WhatsApp computes over the plaintext). Two backends implement it, `fs`
 * (fs-archive.ts) and `s3` (s3-archive.ts); `test/media-archive/contract.ts` runs on both.
 *
 * Content addressing makes every write idempotent and shares one copy between the messages (and
 * accounts) that carry the same file, e.g. a forwarded image. A file is only ever stored after its
 * bytes hashed to the address it is stored under, so a stored object is never wrong.
 */

export interface ArchivedMedia {
  /** Hex SHA-256 of the file. */
  sha256: string;
  /** The backend's name for it (fs: path relative to the archive root; s3: object key). */
  key: string;
  size: number;
  /** When it was stored (fs: mtime; s3: LastModified); null if the backend cannot tell. */
  storedAt: number | null;
}

export interface ArchiveRange {
  start: number;
  /** Inclusive, as HTTP ranges are (src/supervisor/media.ts `resolveRange` produces this shape). */
  end: number;
}

export interface ArchiveRead extends ArchivedMedia {
  stream: Readable;
  /** The bytes the stream carries, `end` inclusive: the whole file when no range was asked. */
  start: number;
  end: number;
}

export interface PutOptions {
  /** Hex SHA-256 the bytes must hash to: the content address. */
  sha256: string;
  /** More bytes than this: `MediaTooLargeError`, nothing stored. */
  maxBytes?: number;
}

export interface MediaArchive {
  readonly backend: 'fs' | 's3';
  /**
   * Streams `body` into the archive while hashing it. Stored only if the bytes hash to `sha256` and
   * stay within `maxBytes`; otherwise `MediaHashMismatchError` / `MediaTooLargeError` and nothing
   * is stored (not even partly). Storing a file that is already there is harmless.
   */
  put(body: Readable, opts: PutOptions): Promise<ArchivedMedia>;
  has(sha256: string): Promise<boolean>;
  stat(sha256: string): Promise<ArchivedMedia | null>;
  /** The file or a byte range of it; null when absent. A range outside the file: `RangeNotSatisfiableError`. */
  get(sha256: string, range?: ArchiveRange): Promise<ArchiveRead | null>;
  /** Idempotent. */
  delete(sha256: string): Promise<void>;
  /** The key a hash is stored under (`sha256/ab/abcd…`, under the backend's root or prefix). */
  keyOf(sha256: string): string;
  close(): Promise<void>;
}

// The archive's errors live with the others (src/domain/errors.ts) so they cross threads as their own classes.
export { MediaArchiveError, MediaHashMismatchError, MediaTooLargeError } from '../domain/errors.js';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Refuses anything but a lowercase hex SHA-256: it becomes a path or an object key. */
export function assertSha256(sha256: string): string {
  if (typeof sha256 !== 'string' || !HEX_SHA256.test(sha256))
    throw new BadRequestError('a media archive address must be a lowercase hex SHA-256');
  return sha256;
}

/** The message's `fileSha256` (base64, as stored in the media reference) as an archive address. */
export function sha256FromBase64(b64: string | null | undefined): string | null {
  if (!b64) return null;
  const bytes = Buffer.from(b64, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : null;
}

/** `sha256/ab/abcdef…`: a two-character fan-out keeps directories (and S3 listings) small. */
export function contentKey(sha256: string): string {
  assertSha256(sha256);
  return `sha256/${sha256.slice(0, 2)}/${sha256}`;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
