import { STATUS_CODES } from 'node:http';
import { finished, type Readable } from 'node:stream';
import type { HttpResponse } from 'uWebSockets.js';
import { WasyncError, type ErrorCode } from '../domain/errors.js';
import type { Logger } from '../logging/logger.js';

/** What a route hands back; the server writes it. */
export type Reply = BufferedReply | StreamReply | BytesReply;

/** A reply whose body is complete in memory: plain data, so it can also come back from a read-pool thread. */
export type BufferedReply =
  | { status: number; json: unknown; headers?: Readonly<Record<string, string>> }
  | { status: number; text: string; contentType: string; headers?: Readonly<Record<string, string>> };

/** Static files (the console): a `cache-control` in `headers` replaces the default `no-store`. */
export interface BytesReply {
  status: number;
  bytes: Uint8Array;
  contentType: string;
  headers?: Readonly<Record<string, string>>;
}

/**
 * A body written as it is produced (media downloads), at the pace the client reads it. The Responder
 * owns the stream from then on: it is consumed to the end, or destroyed (client gone, reply dropped).
 */
export interface StreamReply {
  status: number;
  stream: Readable;
  contentType: string;
  headers?: Readonly<Record<string, string>>;
}

/** Error codes the API may answer with: the domain's, plus routing's own. */
export type ApiErrorCode = ErrorCode | 'METHOD_NOT_ALLOWED';

export interface ApiErrorBody {
  success: false;
  error: { code: ApiErrorCode; message: string };
}

/**
 * The one table from error codes to HTTP statuses. A `Record` over `ErrorCode` so that a code added to
 * the domain fails the type check here until it has a status.
 */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  MEDIA_UNAVAILABLE: 404,
  RANGE_NOT_SATISFIABLE: 416,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  SEND_FAILED: 502,
  MEDIA_DOWNLOAD_FAILED: 502,
  MEDIA_HASH_MISMATCH: 502,
  MEDIA_TOO_LARGE: 413,
  MEDIA_ARCHIVE_FAILED: 500,
  OWNED_ELSEWHERE: 409,
  LEASE_LOST: 503,
  SHUTTING_DOWN: 503,
  ACCOUNT_NOT_RUNNING: 503,
  ACCOUNT_FAILED: 503,
  NOT_CONNECTED: 503,
  ACTOR_DEAD: 503,
  ACTOR_TIMEOUT: 503,
  STORE_TRANSIENT: 503,
  STORE_CLOSED: 503,
  STORE_UNAVAILABLE: 503,
  STORE_FAILED: 500,
  CONFIG_INVALID: 500,
  AUTH_STATE_KEY_INVALID: 500,
  INTERNAL: 500,
};

/** nginx's convention for "the client closed the connection before the answer". */
const CLIENT_CLOSED_REQUEST = 499;

const GENERIC_500 = 'Internal server error';

export function jsonReply(status: number, json: unknown, headers?: Readonly<Record<string, string>>): BufferedReply {
  return headers ? { status, json, headers } : { status, json };
}

export function errorReply(status: number, code: ApiErrorCode, message: string, headers?: Readonly<Record<string, string>>): BufferedReply {
  const body: ApiErrorBody = { success: false, error: { code, message } };
  return jsonReply(status, body, headers);
}

/** The error's domain code, also for errors that crossed a thread boundary as plain objects with a `code`. */
function codeOf(err: unknown): ErrorCode | null {
  if (err instanceof WasyncError) return err.code;
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && Object.hasOwn(STATUS_BY_CODE, err.code)) {
    return err.code as ErrorCode;
  }
  return null;
}

/**
 * Maps any thrown value to a reply. A 500 never carries the error's message (it may hold paths, SQL or
 * stack details): the full error goes to the log instead. Other statuses pass the message on.
 */
export function replyForError(err: unknown, logger: Logger, route: string): BufferedReply {
  const code = codeOf(err);
  const status = code ? STATUS_BY_CODE[code] : 500;
  if (status === 500) {
    logger.error({ err, route }, 'request failed');
    return errorReply(500, 'INTERNAL', GENERIC_500);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (status >= 500 && code !== 'SHUTTING_DOWN') logger.warn({ code, route, message }, 'request failed');
  const headers = code === 'UNAUTHORIZED' ? { 'www-authenticate': 'Bearer' } : undefined;
  return errorReply(status, code ?? 'INTERNAL', message, headers);
}

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
}

/**
 * Owns one uWS response. A handler that returns without responding and without an abort handler, or a
 * response touched after it was aborted or ended, is fatal in uWS (older builds abort the process from
 * C++; uWS 20 throws from wherever the touch happens). So the abort handler is registered in the
 * constructor, the very first thing a request does, and every write goes through `send`, which
 * checks both flags and corks (outside the route callback, uncorked writes go out one syscall each).
 */
export class Responder {
  private aborted = false;
  private done = false;
  /** A stream reply is being written: no other reply may start, but the stream still writes. */
  private streaming = false;
  private readonly abortListeners: Array<() => void> = [];
  /** Added to every reply of this request (CORS). */
  private extraHeaders: Readonly<Record<string, string>> | null = null;

  /** `onFinish` runs once: with the status written, or with 499 when the client went away first. */
  constructor(
    private readonly res: HttpResponse,
    private readonly logger: Logger,
    private readonly onFinish: (status: number) => void,
  ) {
    res.onAborted(() => {
      const wasDone = this.done;
      this.aborted = true;
      for (const listener of this.abortListeners) listener();
      if (!wasDone) this.finish(CLIENT_CLOSED_REQUEST);
    });
  }

  private finish(status: number): void {
    try {
      this.onFinish(status);
    } catch (err) {
      this.logger.error({ err }, 'request bookkeeping failed');
    }
  }

  /** False once the client went away or a response was started: no other reply may touch `res` then. */
  get open(): boolean {
    return !this.aborted && !this.done && !this.streaming;
  }

  setExtraHeaders(headers: Readonly<Record<string, string>>): void {
    this.extraHeaders = headers;
  }

  onAbort(listener: () => void): void {
    this.abortListeners.push(listener);
  }

  /** Registers the body stream handler; only the request reader may need the raw response. */
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    this.res.onData(handler);
  }

  /**
   * Writes the reply. `closeConnection` is for answers given before the request body was read to the
   * end (413): the rest of the body is not worth receiving, and the connection cannot be reused.
   */
  send(reply: Reply, closeConnection = false): void {
    if (!this.open) {
      // Nobody will read it: let it release what it holds (a CDN download, for media).
      if ('stream' in reply) reply.stream.destroy();
      return;
    }
    if ('stream' in reply) {
      this.pipe(reply);
      return;
    }
    let body: string | Uint8Array;
    let contentType: string;
    if ('json' in reply) {
      body = JSON.stringify(reply.json);
      contentType = 'application/json; charset=utf-8';
    } else if ('bytes' in reply) {
      body = reply.bytes;
      contentType = reply.contentType;
    } else {
      body = reply.text;
      contentType = reply.contentType;
    }
    this.done = true;
    const res = this.res;
    // 304 Not Modified has no body (RFC 9110 §15.4.5): no Content-Type, and no `Content-Length: 0`
    // either (it would claim the page is empty), whatever the route put in its reply.
    const notModified = reply.status === 304;
    try {
      res.cork(() => {
        this.writeHead(reply.status, notModified ? null : contentType, 'headers' in reply ? reply.headers : undefined);
        // Only without arguments does uWS leave Content-Length out (uws-pack 20.0.8 turns an explicit
        // `undefined` length into 2^63). No route closes the connection after a 304; should one, it gets `end('')`.
        if (notModified && !closeConnection) res.endWithoutBody();
        else res.end(notModified ? '' : body, closeConnection);
      });
    } catch (err) {
      // uWS 20 throws (older builds abort the process) when a response is touched after abort or end:
      // reaching this means the flags above are wrong somewhere, which must not pass silently.
      this.logger.error({ err, status: reply.status }, 'response write failed');
      return;
    }
    this.finish(reply.status);
  }

  /**
   * A 413 is answered while the client may still be sending its body. Closing the connection then
   * would make the kernel reset it with the unread body in its buffer, and a reset client often never
   * reads the answer (69 of 100 tries with 5 MiB). So the connection stays open: uWS reads the rest of
   * the body and throws it away, the answer says `Connection: close`, and the client closes once it has
   * read it.
   */
  fail(err: unknown, route: string): void {
    if (!this.open) return;
    const reply = replyForError(err, this.logger, route);
    if (codeOf(err) === 'PAYLOAD_TOO_LARGE' && 'json' in reply) this.send({ ...reply, headers: { ...reply.headers, connection: 'close' } });
    else this.send(reply);
  }

  /** Status line and headers; only ever called inside a cork. */
  private writeHead(status: number, contentType: string | null, headers: Readonly<Record<string, string>> | undefined): void {
    const res = this.res;
    res.writeStatus(statusLine(status));
    if (contentType !== null) res.writeHeader('content-type', contentType);
    if (!headers?.['cache-control']) res.writeHeader('cache-control', 'no-store');
    res.writeHeader('x-content-type-options', 'nosniff');
    if (headers) {
      for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    }
    if (this.extraHeaders) {
      for (const [name, value] of Object.entries(this.extraHeaders)) if (!headers?.[name]) res.writeHeader(name, value);
    }
  }

  /**
   * Writes a stream reply with uWS backpressure: every chunk goes out through `res.write` (chunked
   * encoding) inside a cork; when uWS reports backpressure (it keeps the chunk, but the socket is
   * full) the source is paused until `onWritable` says the socket drained. So a slow client holds at
   * most about one chunk in memory here, and the pause reaches the producer (for media, the CDN).
   *
   * The head goes out with the first chunk, so a source that fails before producing anything still
   * gets a proper JSON error. Once bytes are out, a failure can only close the connection: the client
   * sees a truncated transfer (chunked encoding without its last chunk), never a second status line.
   * A client that goes away destroys the source.
   */
  private pipe(reply: StreamReply): void {
    const res = this.res;
    const source = reply.stream;
    this.streaming = true;
    let headSent = false;
    let paused = false;
    const writeHead = (): void => {
      this.writeHead(reply.status, reply.contentType, reply.headers);
      headSent = true;
    };
    const live = (): boolean => !this.aborted && !this.done;

    this.onAbort(() => source.destroy());
    res.onWritable(() => {
      if (paused && live()) {
        paused = false;
        source.resume();
      }
      return true;
    });
    source.on('data', (chunk: Buffer | string) => {
      if (!live()) return;
      let ok = true;
      try {
        res.cork(() => {
          if (!headSent) writeHead();
          ok = res.write(chunk);
        });
      } catch (err) {
        // Only a bookkeeping bug gets here (uWS throws when a dead response is touched).
        this.logger.error({ err }, 'response write failed');
        this.done = true;
        source.destroy();
        return;
      }
      if (!ok && !paused) {
        paused = true;
        source.pause();
      }
    });
    // `finished` also reports a source that ended or failed before these listeners were attached.
    finished(source, { writable: false }, (err) => {
      if (!live()) return;
      if (err && !headSent) {
        this.streaming = false;
        this.send(replyForError(err, this.logger, 'stream'));
        return;
      }
      this.done = true;
      if (err) {
        this.logger.warn(
          { err: { name: err.name, message: err.message } },
          'stream failed after the response started; closing the connection',
        );
        this.finish(reply.status);
        res.close();
        return;
      }
      try {
        res.cork(() => {
          if (!headSent) writeHead();
          res.end();
        });
      } catch (failure) {
        this.logger.error({ err: failure }, 'response write failed');
      }
      this.finish(reply.status);
    });
  }
}
