import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { MediaHashMismatchError, MediaTooLargeError } from './port.js';

/**
 * Passes bytes through while hashing and counting them. Past `maxBytes` it fails at once (the
 * download stops early); at the end it fails unless the SHA-256 is `expected`. Backends put it in
 * front of their writer, so the writer sees an error instead of an end on bad input: the temp file
 * is never renamed, the upload is aborted, and nothing is stored.
 */
export class VerifyingStream extends Transform {
  readonly expected: string;
  private readonly maxBytes: number;
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(expected: string, maxBytes = Number.POSITIVE_INFINITY) {
    super();
    this.expected = expected;
    this.maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(new MediaTooLargeError(this.maxBytes, null));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const actual = this.hash.digest('hex');
    done(actual === this.expected ? null : new MediaHashMismatchError(this.expected, actual));
  }
}
