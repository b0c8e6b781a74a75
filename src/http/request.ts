import type { HttpRequest } from 'uWebSockets.js';
import { BadRequestError, WasyncError } from '../domain/errors.js';
import type { Responder } from './respond.js';

/**
 * Everything a handler may need from the request, copied out synchronously: uWS's `HttpRequest` is
 * stack-allocated and invalid once the route callback returns or yields to an `await`.
 */
export interface RequestSnapshot {
  /** Lower-case, as uWS reports it. */
  method: string;
  /** Raw path, still percent-encoded, without the query string. */
  path: string;
  /** Raw query string (without `?`). */
  query: string;
  authorization: string;
  contentLength: string;
  /** `Range` (media downloads); empty when absent. */
  range: string;
  /** The console's static files: revalidation and compression. */
  ifNoneMatch: string;
  acceptEncoding: string;
  /** CORS: the browser's `Origin` and, on a preflight, `Access-Control-Request-Method`. */
  origin: string;
  accessControlRequestMethod: string;
  /** `x-wasync-forwarded-by`: another instance of the fleet forwarded this request (src/http/forward.ts). */
  forwardedBy: string;
}

export function snapshotRequest(req: HttpRequest): RequestSnapshot {
  return {
    method: req.getMethod(),
    path: req.getUrl(),
    // The typings say string, but uWS hands back undefined when the URL has no `?`.
    query: req.getQuery() ?? '',
    authorization: req.getHeader('authorization'),
    contentLength: req.getHeader('content-length'),
    range: req.getHeader('range'),
    ifNoneMatch: req.getHeader('if-none-match'),
    acceptEncoding: req.getHeader('accept-encoding'),
    origin: req.getHeader('origin'),
    accessControlRequestMethod: req.getHeader('access-control-request-method'),
    forwardedBy: req.getHeader('x-wasync-forwarded-by'),
  };
}

export class PayloadTooLargeError extends WasyncError {
  constructor(maxBytes: number) {
    super('PAYLOAD_TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
  }
}

/** Rejects a body announced as too large before a byte of it is read. */
export function checkContentLength(contentLength: string, maxBytes: number): void {
  if (contentLength === '') return;
  if (!/^\d{1,16}$/.test(contentLength)) throw new BadRequestError('Content-Length is not a number');
  if (Number(contentLength) > maxBytes) throw new PayloadTooLargeError(maxBytes);
}

class ClientAbortedError extends Error {
  constructor() {
    super('client aborted the request');
  }
}

/**
 * Reads the body with a size limit. `onData` is attached synchronously (the caller is still inside the
 * uWS route callback): data that arrives before a handler is attached would be lost. Each chunk is
 * copied because uWS reuses (neuters) the ArrayBuffer once the callback returns. Going over the limit
 * rejects at once, so the 413 goes out while the client is still sending; later chunks are ignored.
 */
export function readBody(responder: Responder, maxBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    responder.onAbort(() => {
      if (settled) return;
      settled = true;
      reject(new ClientAbortedError());
    });
    responder.onData((chunk, isLast) => {
      if (settled) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        settled = true;
        chunks.length = 0;
        reject(new PayloadTooLargeError(maxBytes));
        return;
      }
      if (chunk.byteLength > 0) chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) {
        settled = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      }
    });
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An empty body is `undefined`; anything else must be UTF-8 JSON. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BadRequestError('request body is not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError('request body is not valid JSON');
  }
}
