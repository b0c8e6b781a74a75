import { BadRequestError } from '../domain/errors.js';
import { pageRequest } from '../store/paging.js';
import type { ListOptions, SortOrder } from '../store/port.js';

/**
 * The input checks the route schemas (src/http/schemas/) cannot express: percent-decoding and the
 * path-safety of path parameters, and the cursor's form. Each throws `BadRequestError` naming what is
 * wrong; the server maps that to 400.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Longest path parameter per name; anything longer is rejected before it reaches the store. */
export const PARAM_MAX_LENGTH: Readonly<Record<string, number>> = {
  accountId: 100,
  // `{accountId}__{clientJid}`: a 100-char account id plus the longest JIDs WhatsApp hands out.
  threadId: 400,
};

/**
 * The same rule as `checkSafeId` as a JSON Schema pattern, for ids that arrive in a body or that the
 * OpenAPI document describes: no `/`, backslash, `..` or control character. (Path parameters are checked
 * by `decodePathParam` before any schema: they must be percent-decoded first.)
 */
export const SAFE_ID_PATTERN = '^(?!.*\\.\\.)[^/\\\\\\u0000-\\u001f\\u007f]+$';

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
 * The list endpoints' query (already checked against its schema: `limit` 1–500 with default 50,
 * `orderBy`, `order` default desc) as the store's `ListOptions`. The cursor's form is the store's own
 * rule (`pageRequest` decodes it), checked now so that a bad cursor is a 400 before the account is
 * even looked up.
 */
export function pageOptions(query: { limit?: number; order?: SortOrder; cursor?: string }): ListOptions {
  const options: ListOptions = {
    limit: query.limit ?? DEFAULT_PAGE_LIMIT,
    order: query.order ?? 'desc',
    cursor: query.cursor === undefined || query.cursor === '' ? null : query.cursor,
  };
  pageRequest(options);
  return options;
}

export const DEFAULT_PAGE_LIMIT = 50;

/**
 * An instant in the query string (the export's `since`) as epoch milliseconds: epoch milliseconds as they
 * are, ISO 8601 (`2026-01-31`, `2026-01-31T08:00:00Z`, with an offset) through `Date.parse`, which also
 * refuses a date of the right form that does not exist (`2026-13-45`), what the schema's pattern cannot.
 * The form is checked here too, since `Date.parse` alone takes more (`2026-01-17 12:00`).
 */
export function parseInstant(name: string, raw: string): number {
  if (!INSTANT_RE.test(raw)) throw new BadRequestError(instantMessage(name));
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) throw new BadRequestError(instantMessage(name));
  return ms;
}

export function instantMessage(name: string): string {
  return `${name} must be an ISO 8601 date or date-time (2026-01-31, 2026-01-31T08:00:00Z) or epoch milliseconds`;
}

/** The two spellings `parseInstant` takes, as a JSON Schema pattern. */
export const INSTANT_PATTERN = '^(?:\\d{1,15}|\\d{4}-\\d{2}-\\d{2}(?:T\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d{1,9})?)?(?:Z|[+-]\\d{2}:\\d{2}))?)$';
const INSTANT_RE = new RegExp(INSTANT_PATTERN);
