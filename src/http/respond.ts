import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import { WasyncError, type ErrorCode } from '../domain/errors.js';
import type { Logger } from '../logging/logger.js';

/** What a route hands back; the server writes it. */
export type Reply =
  | { status: number; json: unknown; headers?: Readonly<Record<string, string>> }
  | { status: number; text: string; contentType: string };

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
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  SEND_FAILED: 502,
  SHUTTING_DOWN: 503,
  ACCOUNT_NOT_RUNNING: 503,
  ACCOUNT_FAILED: 503,
  NOT_CONNECTED: 503,
  ACTOR_DEAD: 503,
  ACTOR_TIMEOUT: 503,
  STORE_TRANSIENT: 503,
  STORE_CLOSED: 503,
  STORE_FAILED: 500,
  CONFIG_INVALID: 500,
  AUTH_STATE_KEY_INVALID: 500,
  INTERNAL: 500,
};

/** nginx's convention for "the client closed the connection before the answer". */
const CLIENT_CLOSED_REQUEST = 499;

const GENERIC_500 = 'Internal server error';

export function jsonReply(status: number, json: unknown, headers?: Readonly<Record<string, string>>): Reply {
  return headers ? { status, json, headers } : { status, json };
}

export function errorReply(status: number, code: ApiErrorCode, message: string, headers?: Readonly<Record<string, string>>): Reply {
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
export function replyForError(err: unknown, logger: Logger, route: string): Reply {
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
  private readonly abortListeners: Array<() => void> = [];

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

  /** False once the client went away or a response was written: nothing may touch `res` then. */
  get open(): boolean {
    return !this.aborted && !this.done;
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
    if (!this.open) return;
    let body: string;
    let contentType: string;
    if ('json' in reply) {
      body = JSON.stringify(reply.json);
      contentType = 'application/json; charset=utf-8';
    } else {
      body = reply.text;
      contentType = reply.contentType;
    }
    this.done = true;
    const res = this.res;
    try {
      res.cork(() => {
        res.writeStatus(statusLine(reply.status));
        res.writeHeader('content-type', contentType);
        res.writeHeader('cache-control', 'no-store');
        res.writeHeader('x-content-type-options', 'nosniff');
        if ('headers' in reply && reply.headers) {
          for (const [name, value] of Object.entries(reply.headers)) res.writeHeader(name, value);
        }
        res.end(body, closeConnection);
      });
    } catch (err) {
      // uWS 20 throws (older builds abort the process) when a response is touched after abort or end:
      // reaching this means the flags above are wrong somewhere, which must not pass silently.
      this.logger.error({ err, status: reply.status }, 'response write failed');
      return;
    }
    this.finish(reply.status);
  }

  fail(err: unknown, route: string): void {
    if (!this.open) return;
    const code = codeOf(err);
    this.send(replyForError(err, this.logger, route), code === 'PAYLOAD_TOO_LARGE');
  }
}
