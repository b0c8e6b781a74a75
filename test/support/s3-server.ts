import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
// s3rver: an S3-compatible server in this process (Koa over a directory). It speaks the S3 REST API
// with SigV4, multipart uploads and ranged GETs, which is everything the s3 archive uses.
import S3rver from 's3rver';
import { s3ClientConfig } from '../../src/media-archive/s3-archive.js';

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** A client for the bucket, configured as `MEDIA_ARCHIVE=s3` configures its own. */
  client(): S3Client;
  stop(): Promise<void>;
}

/** s3rver's fixed credentials (it checks signatures made with them). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export async function startS3Server(bucket = 'wasync-media'): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'wasync-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    bucket,
    client() {
      const c = new S3Client(s3ClientConfig({ region: 'us-east-1', endpoint, forcePathStyle: true, ...S3RVER_CREDENTIALS }));
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
