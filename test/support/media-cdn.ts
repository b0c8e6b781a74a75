import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { encryptedStream, proto } from '@whiskeysockets/baileys';
import type { MessageRecord } from '../../src/domain/records.js';
import { makeMessage } from './records.js';

/**
 * A stand-in for WhatsApp's media CDN on loopback, serving files encrypted with Baileys' own media
 * crypto (`encryptedStream`), and stored message records that point at them. Shared by the media
 * route tests and the media archive tests.
 */

export interface CdnFile {
  plain: Buffer;
  encrypted: Buffer;
  mediaKey: Buffer;
  fileEncSha256: Buffer;
  fileSha256: Buffer;
  fileLength: number;
}

export async function encrypt(plain: Buffer, type: 'image' | 'document' | 'audio'): Promise<CdnFile> {
  const enc = await encryptedStream(plain, type);
  const encrypted = readFileSync(enc.encFilePath);
  rmSync(enc.encFilePath, { force: true });
  return {
    plain,
    encrypted,
    mediaKey: enc.mediaKey,
    fileEncSha256: enc.fileEncSha256,
    fileSha256: enc.fileSha256,
    fileLength: enc.fileLength,
  };
}

/**
 * The CDN: `/f/<name>` serves the encrypted file (with ranges, inclusive end, as WhatsApp's does) in
 * 64 KiB writes that wait for 'drain', so `sent` is what the socket took: it stops growing when the
 * downloader stops reading. `/gone/…` answers 410 (expired), `/fail/…` 500, `/cut/…` sends half the
 * file and drops the connection, `/late/…` answers after 300 ms, `/empty/…` answers 200 with no body.
 */
export class Cdn {
  readonly files = new Map<string, CdnFile>();
  readonly requests: string[] = [];
  readonly sent = new Map<string, number>();
  /** Responses whose connection closed before the whole answer was written. */
  readonly closedEarly: string[] = [];
  private server: Server | null = null;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    this.requests.push(url);
    const [, kind, name] = /^\/(\w+)\/(.+)$/.exec(url) ?? [];
    const file = name ? this.files.get(name) : undefined;
    if (!file || kind === 'gone') {
      res.writeHead(410).end();
      return;
    }
    if (kind === 'fail') {
      res.writeHead(500).end();
      return;
    }
    if (kind === 'empty') {
      res.writeHead(200, { 'content-length': '0' }).end();
      return;
    }
    if (kind === 'late') await new Promise((r) => setTimeout(r, 300));
    let body = file.encrypted;
    // A fresh connection per download: a kept-alive one carries the socket buffers an earlier
    // download grew, which would blur how far the slow-reader test lets the CDN get.
    res.setHeader('connection', 'close');
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': String(end - start + 1) });
      body = body.subarray(start, end + 1);
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    }
    res.on('close', () => {
      if (!res.writableFinished) this.closedEarly.push(name!);
    });
    const limit = kind === 'cut' ? Math.floor(body.length / 2) : body.length;
    this.sent.set(name!, 0);
    for (let off = 0; off < limit && !res.destroyed; off += 64 * 1024) {
      const chunk = body.subarray(off, Math.min(off + 64 * 1024, limit));
      const ok = res.write(chunk);
      this.sent.set(name!, off + chunk.length);
      if (!ok) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (kind === 'cut') {
      // Let the half that was written reach the downloader, then drop the connection mid-body.
      setTimeout(() => req.socket.destroy(), 50);
      return;
    }
    if (!res.destroyed) res.end();
  }
}

export function mediaRecord(
  accountId: string,
  id: string,
  file: CdnFile,
  url: string,
  o: { contentType?: string; mimetype?: string; fileName?: string | null; raw?: boolean; sizeKnown?: boolean } = {},
): MessageRecord {
  const contentType = o.contentType ?? 'imageMessage';
  const messageType = contentType === 'documentMessage' ? 'document' : contentType === 'audioMessage' ? 'audio' : 'image';
  const mimetype = o.mimetype ?? 'image/jpeg';
  const sizeKnown = o.sizeKnown ?? true;
  const content = {
    url,
    mimetype,
    mediaKey: file.mediaKey,
    fileEncSha256: file.fileEncSha256,
    fileSha256: file.fileSha256,
    ...(sizeKnown ? { fileLength: file.fileLength } : {}),
    ...(o.fileName ? { fileName: o.fileName } : {}),
  };
  return makeMessage({
    id,
    accountId,
    messageType,
    mediaType: messageType,
    contentType,
    mediaMimetype: mimetype,
    mediaFilename: o.fileName ?? null,
    mediaUrl: url,
    mediaSize: sizeKnown ? file.fileLength : null,
    rawMessage: o.raw === false ? null : proto.Message.encode(proto.Message.fromObject({ [contentType]: content })).finish(),
    media: {
      url,
      directPath: null,
      mediaKey: file.mediaKey.toString('base64'),
      fileEncSha256: file.fileEncSha256.toString('base64'),
      fileSha256: file.fileSha256.toString('base64'),
      fileLength: sizeKnown ? file.fileLength : null,
    },
  });
}
