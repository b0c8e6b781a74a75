import { type Readable, Transform, pipeline } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
// lib-storage's Upload streams a body of unknown length to S3 as a multipart upload (a single
// PutObject when it fits in one part), with bounded memory (partSize × queueSize); and when the
// body fails it aborts the multipart upload, so nothing is stored: the verification needs exactly that.
import { Upload } from '@aws-sdk/lib-storage';
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

export interface S3ArchiveOptions {
  client: S3Client;
  bucket: string;
  /** Prepended to every key (`wasync/` → `wasync/sha256/ab/abcd…`). */
  prefix: string;
  /** Multipart part size (S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once per file. */
  queueSize?: number;
}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/**
 * The `s3` backend: any S3-compatible bucket through the AWS SDK v3 (AWS S3, Google Cloud Storage's
 * XML API with HMAC keys, MinIO, Ceph, R2…). Objects are written only after their bytes verified:
 * the verifying stream sits between the download and the upload and fails the upload's body instead
 * of ending it, so neither the single PutObject nor CompleteMultipartUpload is ever sent for bad bytes.
 */
export class S3MediaArchive implements MediaArchive {
  readonly backend = 's3' as const;
  private readonly o: S3ArchiveOptions;

  constructor(o: S3ArchiveOptions) {
    this.o = o;
  }

  /** Start-up check: the bucket exists and the credentials may use it. */
  async check(): Promise<void> {
    await this.o.client.send(new HeadBucketCommand({ Bucket: this.o.bucket }));
  }

  keyOf(sha256: string): string {
    return `${this.o.prefix}${contentKey(sha256)}`;
  }

  async put(body: Readable, opts: PutOptions): Promise<ArchivedMedia> {
    const sha256 = assertSha256(opts.sha256);
    const key = this.keyOf(sha256);
    const verify = new VerifyingStream(sha256, opts.maxBytes);
    // pipeline, not pipe: a failing download destroys the verifier too, and so fails the upload.
    pipeline(body, verify, () => undefined);
    const upload = new Upload({
      client: this.o.client,
      params: { Bucket: this.o.bucket, Key: key, Body: verify, ContentType: 'application/octet-stream' },
      partSize: this.o.partSize ?? DEFAULT_PART_SIZE,
      queueSize: this.o.queueSize ?? 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // The verifier's own error (mismatch, too large) or the download's is the real cause.
      const cause = verify.errored ?? body.errored ?? err;
      throw cause instanceof WasyncError
        ? cause
        : new MediaArchiveError(`could not store media ${sha256.slice(0, 16)}… in the bucket: ${messageOf(cause)}`, { cause });
    }
    return { sha256, key, size: verify.bytes, storedAt: Date.now() };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async stat(sha256: string): Promise<ArchivedMedia | null> {
    const key = this.keyOf(sha256);
    try {
      const head = await this.o.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: key }));
      return { sha256, key, size: head.ContentLength ?? 0, storedAt: head.LastModified ? head.LastModified.getTime() : null };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw new MediaArchiveError(`could not read media ${sha256.slice(0, 16)}… from the bucket: ${messageOf(err)}`, { cause: err });
    }
  }

  async get(sha256: string, range?: ArchiveRange): Promise<ArchiveRead | null> {
    const key = this.keyOf(sha256);
    if (range && (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start)) {
      throw new RangeNotSatisfiableError(`invalid byte range ${range.start}-${range.end}`);
    }
    try {
      const res = await this.o.client.send(
        new GetObjectCommand({ Bucket: this.o.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      const body = res.Body as Readable;
      const served = parseContentRange(res.ContentRange);
      const size = served?.total ?? res.ContentLength ?? 0;
      const storedAt = res.LastModified ? res.LastModified.getTime() : null;
      if (!range) return { sha256, key, size, storedAt, stream: body, start: 0, end: size - 1 };
      const from = served?.start ?? 0;
      const end = Math.min(range.end, size - 1);
      if (range.start >= size) {
        body.destroy();
        throw new RangeNotSatisfiableError(`range starts at byte ${range.start} but the file has ${size} bytes`, size);
      }
      // Some S3-compatible servers ignore or widen a range (s3rver answers \`bytes=0-0\` with the whole
      // file): cut what was asked out of what was sent, and stop the download once it is through.
      const exact = served !== null && from === range.start && served.end === end;
      const stream = exact ? body : sliceStream(body, range.start - from, end - range.start + 1);
      return { sha256, key, size, storedAt, stream, start: range.start, end };
    } catch (err) {
      if (isNotFound(err)) return null;
      if (statusOf(err) === 416) {
        const size = (await this.stat(sha256))?.size ?? null;
        throw new RangeNotSatisfiableError(`range starts at byte ${range?.start ?? 0} but the file has ${size ?? 'fewer'} bytes`, size);
      }
      throw new MediaArchiveError(`could not read media ${sha256.slice(0, 16)}… from the bucket: ${messageOf(err)}`, { cause: err });
    }
  }

  async delete(sha256: string): Promise<void> {
    const key = this.keyOf(sha256);
    try {
      await this.o.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err))
        throw new MediaArchiveError(`could not delete media ${sha256.slice(0, 16)}…: ${messageOf(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.o.client.destroy();
  }
}

/**
 * The client settings for S3-compatible services. Checksums only when an operation requires them:
 * the SDK's default (CRC32 trailers on every upload, aws-chunked encoding) is AWS-only and breaks
 * Google Cloud Storage's interoperability API and several self-hosted servers; the archive verifies
 * SHA-256 itself.
 */
export function s3ClientConfig(o: {
  region: string;
  endpoint?: string | undefined;
  forcePathStyle: boolean;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}): S3ClientConfig {
  return {
    region: o.region,
    forcePathStyle: o.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.accessKeyId && o.secretAccessKey ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } } : {}),
  };
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return statusOf(err) === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/** `bytes 0-9/1000` → what the server actually sent (it clamps the end to the file) and the file size. */
function parseContentRange(contentRange: string | undefined): { start: number; end: number; total: number } | null {
  const m = contentRange ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange.trim()) : null;
  return m ? { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } : null;
}

/** Skips `skip` bytes of `body`, passes `take`, then ends and cancels the rest of the download. */
function sliceStream(body: Readable, skip: number, take: number): Readable {
  let toSkip = skip;
  let left = take;
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      let bytes = chunk;
      if (toSkip > 0) {
        const dropped = Math.min(toSkip, bytes.length);
        bytes = bytes.subarray(dropped);
        toSkip -= dropped;
      }
      if (left > 0 && bytes.length > 0) {
        const kept = bytes.subarray(0, left);
        left -= kept.length;
        this.push(kept);
      }
      done();
      if (left === 0 && !finished) {
        finished = true;
        body.unpipe(out);
        body.destroy();
        out.end();
      }
    },
  });
  out._flush = (done) => done(left > 0 ? new MediaArchiveError(`the bucket sent ${take - left} of the ${take} bytes asked for`) : null);
  let finished = false;
  // pipe plus explicit forwarding rather than pipeline: pipeline would fail `out` as soon as the rest
  // of the download is cancelled.
  body.on('error', (err) => {
    if (!finished) out.destroy(err);
  });
  out.on('close', () => body.destroy());
  body.pipe(out);
  return out;
}
