import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { ConfigError } from '../domain/errors.js';
import { FsMediaArchive } from './fs-archive.js';
import { messageOf, type MediaArchive } from './port.js';

/**
 * The archive `MEDIA_ARCHIVE` asks for, checked at start-up (the directory is writable, the bucket
 * reachable with the credentials), or null when it is `off`. Misconfiguration is a ConfigError that
 * names the variable. The S3 client is loaded only for `s3`.
 */
export async function openMediaArchive(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<MediaArchive | null> {
  switch (config.MEDIA_ARCHIVE) {
    case 'off':
      return null;
    case 'fs': {
      const root = join(config.DATA_DIR, 'media');
      try {
        return await FsMediaArchive.open(root);
      } catch (err) {
        throw new ConfigError(`MEDIA_ARCHIVE=fs: cannot use ${root}: ${messageOf(err)}`);
      }
    }
    case 's3':
      return openS3(config, env);
  }
}

async function openS3(config: Config, env: NodeJS.ProcessEnv): Promise<MediaArchive> {
  const bucket = config.MEDIA_ARCHIVE_S3_BUCKET;
  if (!bucket) throw new ConfigError('MEDIA_ARCHIVE=s3 needs MEDIA_ARCHIVE_S3_BUCKET');
  const keyId = config.MEDIA_ARCHIVE_S3_ACCESS_KEY_ID;
  const secret = config.MEDIA_ARCHIVE_S3_SECRET_ACCESS_KEY;
  if ((keyId === undefined) !== (secret === undefined)) {
    throw new ConfigError(
      'MEDIA_ARCHIVE_S3_ACCESS_KEY_ID and MEDIA_ARCHIVE_S3_SECRET_ACCESS_KEY go together ' +
        '(or neither: the AWS SDK default credential chain)',
    );
  }
  if (config.MEDIA_ARCHIVE_S3_ENDPOINT !== undefined && !/^https?:\/\/[^/]+/.test(config.MEDIA_ARCHIVE_S3_ENDPOINT)) {
    throw new ConfigError(`MEDIA_ARCHIVE_S3_ENDPOINT must be an http(s) URL, got "${config.MEDIA_ARCHIVE_S3_ENDPOINT}"`);
  }
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { S3MediaArchive, s3ClientConfig } = await import('./s3-archive.js');
  const client = new S3Client(
    s3ClientConfig({
      region: config.MEDIA_ARCHIVE_S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
      endpoint: config.MEDIA_ARCHIVE_S3_ENDPOINT,
      forcePathStyle: config.MEDIA_ARCHIVE_S3_FORCE_PATH_STYLE,
      accessKeyId: keyId,
      secretAccessKey: secret,
    }),
  );
  const archive = new S3MediaArchive({ client, bucket, prefix: config.MEDIA_ARCHIVE_S3_PREFIX });
  try {
    await archive.check();
  } catch (err) {
    client.destroy();
    throw new ConfigError(`MEDIA_ARCHIVE=s3: cannot use bucket "${bucket}": ${messageOf(err)}`);
  }
  return archive;
}
