import type { ChangeEvent, LoggedMessage } from '../domain/change-events.js';
import { BadRequestError } from '../domain/errors.js';

/**
 * The per-account change log (the transactional outbox behind the websocket feed and the webhooks;
 * docs/live-events.md). Every store write a client cares about appends a *batch* of events in the
 * same SQLite transaction / Firestore commit as the data: `applyMutations` derives them from what it
 * actually changed, `patchAccount` from the fields it sets, and callers add their own (history-sync
 * and backfill progress) to `patchAccount` / `recordHistorySync` / `appendChanges`.
 *
 * Batches are numbered per account, 1, 2, 3… with no gaps, and a batch commits only after the one
 * before it: so a reader that asks for "after seq N" and gets N+2 first knows N+1 is gone (pruned),
 * and one that gets nothing knows it is caught up. Across accounts there is no order.
 */

export interface ChangeBatch {
  accountId: string;
  /** Per-account sequence, contiguous from 1. */
  seq: number;
  /** The store's clock when the batch was written (epoch ms). */
  committedAt: number;
  events: ChangeEvent[];
}

export type ChangePage =
  | { status: 'ok'; batches: ChangeBatch[] }
  /**
   * `pruned`: batches after the position are gone (older than the retention); `ahead`: the position
   * is past the account's last batch (a cursor from another database, or one restored from a backup).
   */
  | { status: 'resync'; reason: 'pruned' | 'ahead' };

/** `readChanges` from the oldest batch still kept. */
export const FROM_OLDEST = 'oldest' as const;

export interface ChangeLogStore {
  /**
   * A random id of this database's change log, fixed when it is created: cursors carry it, so a cursor
   * from another database (or a restored one) is refused instead of silently read against this one.
   */
  changeLogEpoch(): Promise<string>;
  /** Batches of `accountId` with `seq > afterSeq` (or from the oldest kept), in order, at most `limit`. */
  readChanges(accountId: string, afterSeq: number | typeof FROM_OLDEST, limit: number): Promise<ChangePage>;
  /** The account's last batch number, 0 when it has none. */
  changeLogHead(accountId: string): Promise<number>;
  /** Every account with a change log and its last batch number. */
  changeLogHeads(): Promise<Map<string, number>>;
  /** Appends one batch of events on its own (backfill progress, Baileys' history-sync status). */
  appendChanges(accountId: string, events: readonly ChangeEvent[]): Promise<void>;
  /**
   * Deletes batches written before `before` (epoch ms), except each account's last one (it carries
   * the account's head), and single-use keys that have expired. Returns the batches deleted.
   */
  pruneChanges(before: number): Promise<number>;
  /** Called after every commit of this store object that appended to the log (post-commit wake-up). */
  onChangesCommitted(listener: (accountIds: readonly string[]) => void): () => void;
  /**
   * Hints that other writers (other processes or instances on the same data) appended to the log:
   * Firestore listens for them; SQLite has no other writer and never calls back. Hints only, at most
   * about one a second per account: readers still read the log itself.
   */
  watchChanges(onHint: (accountIds: readonly string[]) => void, onError: (err: unknown) => void): () => void;
  /**
   * A single-use key (a websocket ticket's id): true the first time, false ever after, on every
   * instance sharing the store. Kept until `expiresAt`, then pruned with the log.
   */
  useOnce(key: string, expiresAt: number): Promise<boolean>;
}

/** Batches per page a reader may ask for. */
export const MAX_CHANGE_PAGE = 1000;

export function assertChangePage(afterSeq: number | typeof FROM_OLDEST, limit: number): void {
  if (afterSeq !== FROM_OLDEST && !(Number.isSafeInteger(afterSeq) && afterSeq >= 0)) {
    throw new BadRequestError(`change-log position must be an integer ≥ 0, got ${String(afterSeq)}`);
  }
  if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_CHANGE_PAGE)) {
    throw new BadRequestError(`change-log page limit must be 1..${MAX_CHANGE_PAGE}, got ${String(limit)}`);
  }
}

const ONCE_KEY = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

export function assertOnceKey(key: string): void {
  if (typeof key !== 'string' || !ONCE_KEY.test(key)) throw new BadRequestError('single-use key must be 1-200 safe characters');
}

/**
 * A logged message's fields in stored order. Messages are most of the log (a history sync writes one
 * event per message), so they are stored as positional arrays: half the bytes of keyed objects and
 * about half the encoding time (measured: docs/live-events.md). Append new fields at the end, never
 * reorder: a shorter stored array reads its missing fields as null. The `satisfies` check makes a
 * field added to `MessageRecord` fail to compile here until it is placed.
 */
const MESSAGE_FIELDS = [
  'id',
  'accountId',
  'clientJid',
  'direction',
  'body',
  'waMessageId',
  'status',
  'messageType',
  'mediaType',
  'mediaUrl',
  'mediaMimetype',
  'mediaFilename',
  'tsClient',
  'tsServer',
  'createdAt',
  'syncedAt',
  'syncSource',
  'deliveredAt',
  'readAt',
  'contentType',
  'fromMe',
  'participant',
  'pushName',
  'syncType',
  'mediaSize',
  'refMessageId',
  'editedAt',
  'revokedAt',
  'sendError',
  // Appended after the first release of the log (an older entry unpacks them as null).
  'senderName',
  'mediaArchivedAt',
  'mediaSha256',
  'mediaArchiveKey',
  'mediaArchiveError',
] as const satisfies ReadonlyArray<keyof LoggedMessage>;
type Unplaced = Exclude<keyof LoggedMessage, (typeof MESSAGE_FIELDS)[number]>;
const everyFieldPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
void everyFieldPlaced;

/** Stored form of one event: `["m+", threadId, fields]`, `["m~", threadId, fields, changes]`, or the event itself. */
type StoredEvent = ['m+', string, unknown[]] | ['m~', string, unknown[], string[]] | ChangeEvent;

function packMessage(m: LoggedMessage): unknown[] {
  const out = new Array<unknown>(MESSAGE_FIELDS.length);
  for (let i = 0; i < MESSAGE_FIELDS.length; i++) out[i] = m[MESSAGE_FIELDS[i]!];
  return out;
}

function unpackMessage(values: readonly unknown[]): LoggedMessage {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < MESSAGE_FIELDS.length; i++) out[MESSAGE_FIELDS[i]!] = values[i] ?? null;
  return out as unknown as LoggedMessage;
}

/** The stored form of a batch's events (SQLite TEXT, a Firestore string field). */
export function encodeEvents(events: readonly ChangeEvent[]): string {
  return `[${events.map(encodeEvent).join(',')}]`;
}

export function encodeEvent(e: ChangeEvent): string {
  if (e.type === 'message.created') return JSON.stringify(['m+', e.data.threadId, packMessage(e.data.message)]);
  if (e.type === 'message.updated') return JSON.stringify(['m~', e.data.threadId, packMessage(e.data.message), e.data.changes]);
  return JSON.stringify(e);
}

export function decodeEvents(json: string): ChangeEvent[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? (parsed as StoredEvent[]).map(decodeEvent) : [];
}

function decodeEvent(s: StoredEvent): ChangeEvent {
  if (!Array.isArray(s)) return s;
  if (s[0] === 'm+') return { type: 'message.created', data: { threadId: s[1], message: unpackMessage(s[2]) } };
  return { type: 'message.updated', data: { threadId: s[1], message: unpackMessage(s[2]), changes: s[3] } };
}

/** Post-commit listeners of one store object (both backends). */
export class CommitListeners {
  private readonly listeners = new Set<(accountIds: readonly string[]) => void>();

  add(listener: (accountIds: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(accountIds: readonly string[]): void {
    if (accountIds.length === 0) return;
    for (const l of this.listeners) {
      try {
        l(accountIds);
      } catch {
        // A listener's failure is its own business: the commit has happened.
      }
    }
  }
}
