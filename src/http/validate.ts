import { BadRequestError } from '../domain/errors.js';
import { accountIdFitsThreadIds } from '../domain/thread-id.js';
import { pageRequest } from '../store/paging.js';
import type { ListOptions, SortOrder } from '../store/port.js';

/**
 * Input checks for path segments, query parameters and JSON bodies. Each throws `BadRequestError`
 * naming what is wrong; the server maps that to 400.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Longest path parameter per name; anything longer is rejected before it reaches the store. */
const PARAM_MAX_LENGTH: Readonly<Record<string, number>> = {
  accountId: 100,
  // `{accountId}__{clientJid}`: a 100-char account id plus the longest JIDs WhatsApp hands out.
  threadId: 400,
};

/**
 * Decodes one raw path segment (uWS hands parameters over still percent-encoded) and refuses what could
 * escape a path or a document id: `/` or `\` after decoding, `..`, control characters, over-long values.
 */
export function decodePathParam(name: string, raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError(`${name} is not a valid percent-encoded value`);
  }
  return checkSafeId(name, value);
}

/** The same rule for ids that arrive in a JSON body (e.g. `accountId` of `POST /api/whatsapp/send`). */
export function bodyId(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string') throw new BadRequestError(`${name} must be a string`);
  return checkSafeId(name, value);
}

function checkSafeId(name: string, value: string): string {
  const max = PARAM_MAX_LENGTH[name] ?? 100;
  if (value.length === 0) throw new BadRequestError(`${name} is empty`);
  if (value.length > max) throw new BadRequestError(`${name} is longer than ${max} characters`);
  if (CONTROL_CHARS.test(value)) throw new BadRequestError(`${name} contains control characters`);
  if (value.includes('/') || value.includes('\\') || value.includes('..')) {
    throw new BadRequestError(`${name} contains a path separator or ".."`);
  }
  return value;
}

/**
 * Ids for new accounts: safe as a path segment and a Firestore document id. `__` is the separator in
 * thread ids (`{accountId}__{clientJid}`), so an id may not contain it nor end in `_` (which would make
 * the split point ambiguous); `..` and a leading dot are refused as path tricks.
 */
export function validateNewAccountId(value: unknown): string {
  if (typeof value !== 'string') throw new BadRequestError('accountId must be a string');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(value)) {
    throw new BadRequestError('accountId must be 1-100 letters, digits, dots, dashes or underscores, starting with a letter or digit');
  }
  if (!accountIdFitsThreadIds(value)) {
    throw new BadRequestError('accountId may not contain "__" or end with "_" (thread ids use "__" as separator)');
  }
  if (value.includes('..')) throw new BadRequestError('accountId may not contain ".."');
  return value;
}

/** An id in the query string (`threadId` of the export), under the same rule as path parameters. */
export function queryId(query: URLSearchParams, name: string): string | null {
  const raw = single(query, name);
  return raw === undefined ? null : checkSafeId(name, raw);
}

/**
 * An instant in the query string: ISO 8601 (`2026-01-31`, `2026-01-31T08:00:00Z`, with an offset) or
 * epoch milliseconds (digits). Null when absent.
 */
export function queryInstant(query: URLSearchParams, name: string): number | null {
  const raw = single(query, name);
  if (raw === undefined) return null;
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const iso = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
  const ms = iso.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new BadRequestError(`${name} must be an ISO 8601 date or date-time (2026-01-31, 2026-01-31T08:00:00Z) or epoch milliseconds`);
  }
  return ms;
}

/** A query parameter that must be one of `allowed`; `fallback` when absent. */
export function queryChoice<const T extends string>(query: URLSearchParams, name: string, allowed: readonly T[], fallback: T): T {
  const raw = single(query, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new BadRequestError(`${name} must be one of ${allowed.join(', ')}`);
  return raw as T;
}

/** One value per query parameter: a repeated one is ambiguous and refused. */
function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new BadRequestError(`query parameter ${name} is given more than once`);
  return values[0];
}

const DEFAULT_PAGE_LIMIT = 50;

/**
 * The list endpoints' query string as the store's `ListOptions`: `limit` (default 50), `orderBy`
 * (only the one key the store orders by), `order` (default desc) and `cursor`. Parsed once, here; the
 * ranges and the cursor's form are the store's own rule (`pageRequest`), checked now so that a bad
 * page is a 400 before the account is even looked up.
 */
export function parsePageQuery(query: URLSearchParams, orderByKey: string): ListOptions {
  const rawLimit = single(query, 'limit');
  // Digits only (no `1e2`, `0x10`, ` 5`); the range is checked by pageRequest below.
  const limit = rawLimit === undefined ? DEFAULT_PAGE_LIMIT : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
  const orderBy = single(query, 'orderBy');
  if (orderBy !== undefined && orderBy !== orderByKey) {
    throw new BadRequestError(`orderBy must be ${orderByKey}`);
  }
  const order = single(query, 'order');
  const rawCursor = single(query, 'cursor');
  const options: ListOptions = {
    limit,
    order: (order ?? 'desc') as SortOrder,
    cursor: rawCursor === undefined || rawCursor === '' ? null : rawCursor,
  };
  pageRequest(options);
  return options;
}

export function parseBooleanQuery(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = single(query, name);
  if (raw === undefined) return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new BadRequestError(`${name} must be true or false`);
}

/** A JSON body that must be an object; an empty body counts as `{}` only where the caller allows it. */
export function objectBody(body: unknown, emptyAllowed: boolean): Record<string, unknown> {
  if (body === undefined) {
    if (emptyAllowed) return {};
    throw new BadRequestError('request body is required (a JSON object)');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

export function requiredString(body: Record<string, unknown>, name: string, opts: { max: number; trimNonEmpty?: boolean }): string {
  const value = body[name];
  if (typeof value !== 'string') throw new BadRequestError(`${name} must be a string`);
  if (value.length === 0 || (opts.trimNonEmpty && value.trim() === '')) throw new BadRequestError(`${name} must not be empty`);
  if (value.length > opts.max) throw new BadRequestError(`${name} is longer than ${opts.max} characters`);
  return value;
}

/** Pairing by phone number: digits only (a leading `+` is dropped), 6 to 15 of them (E.164). */
export function validatePhoneNumber(value: unknown): string {
  if (typeof value !== 'string') throw new BadRequestError('phoneNumber must be a string');
  const digits = value.startsWith('+') ? value.slice(1) : value;
  if (!/^\d{6,15}$/.test(digits)) throw new BadRequestError('phoneNumber must be 6-15 digits, optionally after a +');
  return digits;
}

/** Where to send: a JID or a phone number; the accounts service resolves it, this only refuses junk. */
export function validateRecipient(value: unknown): string {
  if (typeof value !== 'string') throw new BadRequestError('to must be a string');
  const to = value.trim();
  if (to.length === 0) throw new BadRequestError('to must not be empty');
  if (to.length > 320) throw new BadRequestError('to is longer than 320 characters');
  if (CONTROL_CHARS.test(to) || /\s/.test(to)) throw new BadRequestError('to contains whitespace or control characters');
  return to;
}

/** Ids a client may choose for an outgoing message (to retry a failed send idempotently). */
export function validateMessageId(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(value)) {
    throw new BadRequestError('messageId must be 1-128 letters, digits, dots, dashes, colons or underscores');
  }
  return value;
}
