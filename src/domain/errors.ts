/**
 * Errors are values with names. Every error wasync raises on purpose carries a stable `code`; the HTTP
 * layer maps codes to statuses, and the actor boundary re-creates the class from its serialized form
 * (`serializeError` / `deserializeError`: structured clone drops prototypes, comlink everything but
 * the message).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  /** A valid API key whose scopes or accounts do not cover the request. */
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'STORE_TRANSIENT'
  | 'STORE_FAILED'
  | 'STORE_CLOSED'
  /** The store could not commit within the bound a caller waits (SEND_STORE_TIMEOUT_MS): retry later, nothing was sent. */
  | 'STORE_UNAVAILABLE'
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
  /** A fenced write (session state, account status) from an owner whose lease a newer epoch holds. */
  | 'LEASE_LOST'
  /** A command for an account that another instance of the fleet owns (README, Running several instances). */
  | 'OWNED_ELSEWHERE'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

export class WasyncError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  /** What JSON (logs, the HTTP layer) shows of it; `serializeError` is the full form for thread crossings. */
  toJSON(): { name: string; code: ErrorCode; message: string } {
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

/** Downloaded media whose SHA-256 is not the message's `fileSha256` (the media archive verifies while it streams). */
export class MediaHashMismatchError extends WasyncError {
  /** Hex SHA-256 the message names. */
  readonly expected: string;
  /** Hex SHA-256 of what was downloaded. */
  readonly actual: string;
  constructor(expected: string, actual: string) {
    super('MEDIA_HASH_MISMATCH', `the downloaded media hashes to ${actual.slice(0, 16)}…, not the message's ${expected.slice(0, 16)}…`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** Media over the archive's limit (MEDIA_ARCHIVE_MAX_BYTES); `size` is null when only known to exceed it. */
export class MediaTooLargeError extends WasyncError {
  readonly limit: number;
  readonly size: number | null;
  constructor(limit: number, size: number | null) {
    super('MEDIA_TOO_LARGE', `the media is ${size === null ? 'more than' : `${size} bytes,`} over the archive's limit of ${limit} bytes`);
    this.limit = limit;
    this.size = size;
  }
}

/** The media archive (disk or bucket) failed. */
export class MediaArchiveError extends WasyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MEDIA_ARCHIVE_FAILED', message, options);
  }
}

/**
 * A fenced write refused by the store: the account's owner lease has moved on to a newer epoch (another
 * instance took the account over, or this one re-acquired it for a new actor). The writer is a stale
 * owner and must stop writing the account's session.
 */
export class LeaseLostError extends WasyncError {
  constructor(message: string) {
    super('LEASE_LOST', message);
  }
}

/** The instance of the fleet that owns an account (holds its owner lease), as the API reports it. */
export interface OwnerRef {
  instanceId: string;
  /** Its advertised URL (`INSTANCE_URL`), or null when its registry entry is gone. */
  url: string | null;
}

/**
 * A command for an account another instance owns. The HTTP layer forwards the request to `owner.url`,
 * or answers 409 with `{ owner }` when forwarding is off or fails.
 */
export class OwnedElsewhereError extends WasyncError {
  readonly ownerInstanceId: string;
  readonly ownerUrl: string | null;
  constructor(accountId: string, owner: OwnerRef, message?: string) {
    super('OWNED_ELSEWHERE', message ?? `account ${accountId} is owned by instance ${owner.instanceId}`);
    this.ownerInstanceId = owner.instanceId;
    this.ownerUrl = owner.url;
  }

  get owner(): OwnerRef {
    return { instanceId: this.ownerInstanceId, url: this.ownerUrl };
  }
}

/**
 * An error as it crosses a thread boundary (structured clone keeps no prototypes; comlink keeps only
 * the message): enough to rebuild the same class on the other side, with its own fields, its cause
 * and the stack of the thread that threw it.
 */
export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  /** The stack of the thread the error was thrown in. */
  stack?: string;
  /** A subclass's own fields (`RangeNotSatisfiableError.size`): plain values only. */
  fields?: Record<string, unknown>;
  cause?: SerializedError;
}

/** Causes are followed this deep: a cycle or a runaway chain must not blow up a serialization. */
const MAX_CAUSE_DEPTH = 5;
const BASE_KEYS: ReadonlySet<string> = new Set(['name', 'code', 'message', 'stack', 'cause']);

export function serializeError(err: unknown, depth = 0): SerializedError {
  const out: SerializedError =
    err instanceof WasyncError
      ? { name: err.name, code: err.code, message: err.message }
      : err instanceof Error
        ? { name: err.name, code: 'INTERNAL', message: err.message }
        : { name: 'Error', code: 'INTERNAL', message: String(err) };
  if (!(err instanceof Error)) return out;
  if (err.stack !== undefined) out.stack = err.stack;
  if (err instanceof WasyncError) {
    const fields = plainFields(err);
    if (fields) out.fields = fields;
  }
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** Own enumerable fields beyond the base ones, when every one is a plain value structured clone keeps as is. */
function plainFields(err: WasyncError): Record<string, unknown> | undefined {
  let fields: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(err)) {
    if (BASE_KEYS.has(key)) continue;
    if (value !== null && typeof value === 'object') continue;
    if (typeof value === 'function' || typeof value === 'symbol') continue;
    fields ??= {};
    fields[key] = value;
  }
  return fields;
}

/**
 * How each error class is rebuilt from its serialized form. A class that carries fields of its own
 * needs an entry here, or it comes back as a `WasyncError` of the same name and code with the fields
 * copied on (still readable, but not `instanceof` its class).
 */
const REVIVERS: Readonly<Record<string, (e: SerializedError) => WasyncError>> = {
  WasyncError: (e) => new WasyncError(e.code, e.message),
  ConfigError: (e) => new ConfigError(e.message),
  NotFoundError: (e) => new NotFoundError(e.message),
  BadRequestError: (e) => new BadRequestError(e.message),
  ConflictError: (e) => new ConflictError(e.message),
  RangeNotSatisfiableError: (e) => new RangeNotSatisfiableError(e.message, typeof e.fields?.size === 'number' ? e.fields.size : null),
  TransientStoreError: (e) => new TransientStoreError(e.message),
  StoreError: (e) => new StoreError(e.message),
  MediaHashMismatchError: (e) =>
    typeof e.fields?.expected === 'string' && typeof e.fields.actual === 'string'
      ? new MediaHashMismatchError(e.fields.expected, e.fields.actual)
      : new WasyncError(e.code, e.message),
  MediaTooLargeError: (e) =>
    typeof e.fields?.limit === 'number'
      ? new MediaTooLargeError(e.fields.limit, typeof e.fields.size === 'number' ? e.fields.size : null)
      : new WasyncError(e.code, e.message),
  MediaArchiveError: (e) => new MediaArchiveError(e.message),
  LeaseLostError: (e) => new LeaseLostError(e.message),
  OwnedElsewhereError: (e) =>
    typeof e.fields?.ownerInstanceId === 'string'
      ? new OwnedElsewhereError(
          '',
          { instanceId: e.fields.ownerInstanceId, url: typeof e.fields.ownerUrl === 'string' ? e.fields.ownerUrl : null },
          e.message,
        )
      : new WasyncError(e.code, e.message),
};

/**
 * Rebuilds a typed error on this side of a thread boundary: its own class when registered (with its
 * fields), its cause (rebuilt the same way), and the stack of the thread that threw it.
 */
export function deserializeError(e: SerializedError): WasyncError {
  let err = Object.hasOwn(REVIVERS, e.name) ? REVIVERS[e.name]?.(e) : undefined;
  // A class of that name with another code is not ours to rebuild.
  if (!err || err.code !== e.code) err = new WasyncError(e.code, e.message);
  if (err.name !== e.name) Object.defineProperty(err, 'name', { value: e.name, configurable: true, writable: true });
  if (e.fields) {
    for (const [key, value] of Object.entries(e.fields)) if (!(key in err)) Object.defineProperty(err, key, { value, enumerable: true });
  }
  if (e.cause) Object.defineProperty(err, 'cause', { value: deserializeError(e.cause), configurable: true, writable: true });
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

export function isErrorCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof WasyncError && err.code === code;
}
