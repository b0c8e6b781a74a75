import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simMediaFileAt } from './media-files.js';

/**
 * The simulated phone's stand-in for WhatsApp's media CDN: a loopback HTTP server in the thread that
 * downloads (the HTTP thread serves media and runs the archive), started on first use on a free port.
 * It serves a sim file's encrypted bytes at the file's `directPath`, byte ranges included as WhatsApp's
 * CDN does; any other path is 404, as a file the CDN dropped. It holds nothing: files are rebuilt from
 * the path (media-files.ts). Unref'd, so it never keeps a process alive.
 */
let started: Promise<string> | null = null;

/** `http://127.0.0.1:<port>`, the base URL a sim media path is fetched from. */
export function simMediaCdnBase(): Promise<string> {
  started ??= listen().catch((err: unknown) => {
    started = null;
    throw err;
  });
  return started;
}

function listen(): Promise<string> {
  const server: Server = createServer((req, res) => {
    const file = req.method === 'GET' ? simMediaFileAt(req.url ?? '') : null;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const body = file.encrypted;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': String(end - start + 1) });
      res.end(body.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.unref();
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}
