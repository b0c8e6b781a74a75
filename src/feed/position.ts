import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { BadRequestError } from '../domain/errors.js';

/**
 * Positions in the change log and the cursors that carry them (docs/live-events.md, "Cursors").
 *
 * Within an account an event is at `seq × 65536 + index`: batch `seq` of the account's log, `index`
 * in the batch. A position *after* a whole batch is `seq × 65536 + 65535` (`batchEnd`), so "the last
 * event of batch 7" and "everything of batch 7" are the same place, and the next read starts at 8.
 * Positions are exact and per account; across accounts there is no order.
 *
 * A cursor is opaque to clients: base64url of `[1, epoch, "a", accountId, position]` for one account
 * or `[1, epoch, "m", {accountId: position, …}]` for `"*"` (every account), deflated when long. The
 * epoch is the log's random id, so a cursor from another database is refused, never misread.
 */

const SLOT = 65536;
const BATCH_END = SLOT - 1;

export function position(seq: number, index: number): number {
  return seq * SLOT + index;
}

export function batchEnd(seq: number): number {
  return seq * SLOT + BATCH_END;
}

export function seqOf(pos: number): number {
  return Math.floor(pos / SLOT);
}

/** The batch a reader must ask after to get every event after `pos` (a mid-batch position re-reads its batch). */
export function readAfterSeq(pos: number): number {
  return pos % SLOT === BATCH_END ? seqOf(pos) : seqOf(pos) - 1;
}

/** Where a client that received an event stands: the batch's end when it was the batch's last event. */
export function cursorPosition(seq: number, index: number, batchSize: number): number {
  return index === batchSize - 1 ? batchEnd(seq) : position(seq, index);
}

/** Stable across replays and instances: derived from where the event is, never from when it was read. */
export function eventId(epoch: string, accountId: string, seq: number, index: number): string {
  const digest = createHash('sha256').update(`${epoch}\u0000${accountId}\u0000${seq}\u0000${index}`).digest('base64url');
  return `evt_${digest.slice(0, 24)}`;
}

export type Cursor =
  | { kind: 'account'; epoch: string; accountId: string; position: number }
  | { kind: 'all'; epoch: string; positions: Record<string, number> };

/** JSON longer than this is deflated (a `"*"` cursor grows with the number of accounts). */
const DEFLATE_OVER = 200;

export function encodeCursor(c: Cursor): string {
  const json = JSON.stringify(c.kind === 'account' ? [1, c.epoch, 'a', c.accountId, c.position] : [1, c.epoch, 'm', c.positions]);
  if (json.length <= DEFLATE_OVER) return `j${Buffer.from(json, 'utf8').toString('base64url')}`;
  return `z${deflateRawSync(Buffer.from(json, 'utf8')).toString('base64url')}`;
}

const MAX_CURSOR_CHARS = 64 * 1024;

/** Throws `BadRequestError` for anything that is not a cursor this server wrote. */
export function decodeCursor(text: unknown): Cursor {
  const bad = () => new BadRequestError('malformed cursor');
  if (typeof text !== 'string' || text.length < 2 || text.length > MAX_CURSOR_CHARS) throw bad();
  let parsed: unknown;
  try {
    const raw = Buffer.from(text.slice(1), 'base64url');
    const json =
      text[0] === 'j' ? raw.toString('utf8') : text[0] === 'z' ? inflateRawSync(raw, { maxOutputLength: 1 << 20 }).toString('utf8') : '';
    parsed = JSON.parse(json);
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed[0] !== 1 || typeof parsed[1] !== 'string') throw bad();
  const epoch = parsed[1];
  if (parsed[2] === 'a' && typeof parsed[3] === 'string' && isPosition(parsed[4])) {
    return { kind: 'account', epoch, accountId: parsed[3], position: parsed[4] };
  }
  if (parsed[2] === 'm' && parsed[3] !== null && typeof parsed[3] === 'object' && !Array.isArray(parsed[3])) {
    const positions: Record<string, number> = {};
    for (const [k, v] of Object.entries(parsed[3] as Record<string, unknown>)) {
      if (!isPosition(v)) throw bad();
      positions[k] = v;
    }
    return { kind: 'all', epoch, positions };
  }
  throw bad();
}

function isPosition(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
