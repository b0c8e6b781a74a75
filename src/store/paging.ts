import { BadRequestError } from '../domain/errors.js';
import { type CursorKey, decodeCursor, encodeCursor } from './cursor.js';
import type { ListOptions, MessageScanKey, MessageScanOptions, Page, SortOrder } from './port.js';

/**
 * Keyset paging, the same for every backend: the options a caller passes (`ListOptions`) checked
 * once, and a page cut from `limit + 1` fetched rows. The HTTP layer checks a query string with
 * `pageRequest` too, so a bad page is a 400 with the same words before anything is read.
 */

/** Largest page any list call returns. */
export const MAX_PAGE = 500;

export interface PageRequest {
  limit: number;
  order: SortOrder;
  /** The last row of the previous page, or null for the first page. */
  after: CursorKey | null;
}

/** Validates list options (limit 1..500, order, cursor form); throws `BadRequestError` naming what is wrong. */
export function pageRequest(opts: ListOptions): PageRequest {
  if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_PAGE) {
    throw new BadRequestError(`limit must be an integer from 1 to ${MAX_PAGE}`);
  }
  const order = opts.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new BadRequestError('order must be asc or desc');
  return { limit: opts.limit, order, after: opts.cursor ? decodeCursor(opts.cursor) : null };
}

/** Rows were fetched with `limit + 1`: the extra row only tells whether another page exists. */
export function toPage<T>(items: T[], limit: number, keyOf: (item: T) => CursorKey): Page<T> {
  if (items.length <= limit) return { items, nextCursor: null };
  const page = items.slice(0, limit);
  return { items: page, nextCursor: encodeCursor(keyOf(page[page.length - 1]!)) };
}

export interface ScanRequest {
  limit: number;
  threadId: string | null;
  /** `createdAt` lower bound; `Number.MIN_SAFE_INTEGER` when the caller gave none. */
  since: number;
  after: MessageScanKey | null;
}

/** Validates `scanMessages` options the same way for every backend; throws `BadRequestError`. */
export function scanRequest(opts: MessageScanOptions): ScanRequest {
  if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_PAGE) {
    throw new BadRequestError(`limit must be an integer from 1 to ${MAX_PAGE}`);
  }
  const since = opts.since ?? null;
  if (since !== null && !Number.isSafeInteger(since)) throw new BadRequestError('since must be an integer instant (epoch ms)');
  const after = opts.after ?? null;
  if (after !== null && (typeof after.threadId !== 'string' || !Number.isSafeInteger(after.ts) || typeof after.id !== 'string')) {
    throw new BadRequestError('after must be the next key of a previous scan page');
  }
  return { limit: opts.limit, threadId: opts.threadId ?? null, since: since ?? Number.MIN_SAFE_INTEGER, after };
}
