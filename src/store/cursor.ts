import { BadRequestError } from '../domain/errors.js';

/**
 * Keyset cursor over (timestamp, id): the last row of a page. Opaque to clients (base64url JSON), the
 * same format for every backend, so a page boundary on equal timestamps neither skips nor repeats.
 */
export interface CursorKey {
  ts: number;
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.ts, key.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadRequestError('cursor is malformed: pass back a nextCursor value unchanged');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string'
  ) {
    throw new BadRequestError('cursor is malformed: pass back a nextCursor value unchanged');
  }
  return { ts: parsed[0], id: parsed[1] };
}
