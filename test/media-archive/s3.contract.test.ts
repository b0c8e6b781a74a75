import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/domain/errors.js';
import { openMediaArchive } from '../../src/media-archive/open.js';
import { S3MediaArchive } from '../../src/media-archive/s3-archive.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3TestServer } from '../support/s3-server.js';
import { runMediaArchiveContract } from './contract.js';

/** The `s3` backend against s3rver, an S3-compatible server on loopback, through the AWS SDK v3. */
const PART = 5 * 1024 * 1024; // S3's minimum part size

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server.stop();
});

let run = 0;
runMediaArchiveContract(
  's3',
  async () => {
    // A prefix per test: the bucket is shared by the file's tests.
    const prefix = `t${++run}/`;
    const client = server.client();
    const archive = new S3MediaArchive({ client, bucket: server.bucket, prefix, partSize: PART });
    return {
      archive,
      // Objects whose bytes do not hash to their key.
      leftovers: async () => {
        const listed = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
        const bad: string[] = [];
        for (const o of listed.Contents ?? []) {
          const body = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: o.Key }));
          const bytes = Buffer.from(await body.Body!.transformToByteArray());
          if (createHash('sha256').update(bytes).digest('hex') !== o.Key!.split('/').at(-1)) bad.push(o.Key!);
        }
        return bad;
      },
      cleanup: async () => undefined,
    };
  },
  PART,
);

describe('MEDIA_ARCHIVE=s3 from the configuration', () => {
  const env = (extra: Record<string, string>) =>
    loadConfig({
      MEDIA_ARCHIVE: 's3',
      MEDIA_ARCHIVE_S3_ENDPOINT: server.endpoint,
      MEDIA_ARCHIVE_S3_FORCE_PATH_STYLE: 'true',
      MEDIA_ARCHIVE_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      MEDIA_ARCHIVE_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      ...extra,
    });

  it('opens the bucket with the configured prefix and checks it at start-up', async () => {
    const archive = await openMediaArchive(env({ MEDIA_ARCHIVE_S3_BUCKET: server.bucket, MEDIA_ARCHIVE_S3_PREFIX: 'archive/' }));
    try {
      expect(archive?.backend).toBe('s3');
      const h = createHash('sha256').update('x').digest('hex');
      expect(archive!.keyOf(h)).toBe(`archive/sha256/${h.slice(0, 2)}/${h}`);
    } finally {
      await archive?.close();
    }
  });

  it('names the variable when the configuration cannot work', async () => {
    await expect(openMediaArchive(env({}))).rejects.toThrow(/MEDIA_ARCHIVE_S3_BUCKET/);
    await expect(openMediaArchive(env({ MEDIA_ARCHIVE_S3_BUCKET: 'no-such-bucket' }))).rejects.toBeInstanceOf(ConfigError);
    await expect(
      openMediaArchive(loadConfig({ MEDIA_ARCHIVE: 's3', MEDIA_ARCHIVE_S3_BUCKET: 'b', MEDIA_ARCHIVE_S3_ACCESS_KEY_ID: 'only-half' })),
    ).rejects.toThrow(/go together/);
    await expect(
      openMediaArchive(env({ MEDIA_ARCHIVE_S3_BUCKET: server.bucket, MEDIA_ARCHIVE_S3_ENDPOINT: 'storage.googleapis.com' })),
    ).rejects.toThrow(/MEDIA_ARCHIVE_S3_ENDPOINT must be an http\(s\) URL/);
    expect(await openMediaArchive(loadConfig({}))).toBeNull();
  });
});
