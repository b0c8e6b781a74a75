/**
 * Errors are values with names. Every error wasync raises on purpose carries a stable `code`; the HTTP
 * layer maps codes to statuses, and the actor boundary re-creates the class from `{name, code, message}`
 * (structured clone drops prototypes, comlink drops everything but the message).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'STORE_TRANSIENT'
  | 'STORE_FAILED'
  | 'STORE_CLOSED'
  | 'AUTH_STATE_KEY_INVALID'
  | 'ACTOR_DEAD'
  | 'ACTOR_TIMEOUT'
  | 'ACCOUNT_NOT_RUNNING'
  | 'ACCOUNT_FAILED'
  | 'NOT_CONNECTED'
  | 'SEND_FAILED'
  /** The message has no media to download, or no copy of it can be had (simulated phone, phone lost it). */
  | 'MEDIA_UNAVAILABLE'
  /** WhatsApp's media server failed or could not be reached. */
  | 'MEDIA_DOWNLOAD_FAILED'
  /** Downloaded media whose SHA-256 is not the message's `fileSha256`: rejected, nothing stored. */
  | 'MEDIA_HASH_MISMATCH'
  /** Media larger than the archive accepts (MEDIA_ARCHIVE_MAX_BYTES). */
  | 'MEDIA_TOO_LARGE'
  /** The media archive (disk or bucket) failed. */
  | 'MEDIA_ARCHIVE_FAILED'
  /** A `Range` header that is malformed, asks for several ranges, or lies outside the file. */
  | 'RANGE_NOT_SATISFIABLE'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

export class WasyncError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  toJSON(): SerializedError {
    return { name: this.name, code: this.code, message: this.message };
  }
}

export class ConfigError extends WasyncError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

export class NotFoundError extends WasyncError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class BadRequestError extends WasyncError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}

export class ConflictError extends WasyncError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** 416. Carries the file size when known, so the answer can name it in `Content-Range` as HTTP asks. */
export class RangeNotSatisfiableError extends WasyncError {
  readonly size: number | null;
  constructor(message: string, size: number | null = null) {
    super('RANGE_NOT_SATISFIABLE', message);
    this.size = size;
  }
}

/** A store failure worth retrying (SQLITE_BUSY, Firestore UNAVAILABLE/ABORTED/RESOURCE_EXHAUSTED…). */
export class TransientStoreError extends WasyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_TRANSIENT', message, options);
  }
}

export class StoreError extends WasyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_FAILED', message, options);
  }
}

export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof WasyncError) return err.toJSON();
  if (err instanceof Error) return { name: err.name, code: 'INTERNAL', message: err.message };
  return { name: 'Error', code: 'INTERNAL', message: String(err) };
}

/** Rebuilds a typed error on this side of a thread boundary. */
export function deserializeError(e: SerializedError): WasyncError {
  const err = new WasyncError(e.code, e.message);
  Object.defineProperty(err, 'name', { value: e.name });
  return err;
}

export function isErrorCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof WasyncError && err.code === code;
}
