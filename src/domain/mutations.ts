import type { DisplayNameSource, GroupAddressingMode, GroupParticipant, MessageRecord, MessageStatus } from './records.js';

/**
 * What ingest produces and the batch writer hands to the store. Every mutation is idempotent and
 * commutative where it can be (status only moves forward, `deliveredAt`/`readAt` are set once,
 * thread summaries only move forward), so replays, duplicates and out-of-order arrivals converge.
 */
export type Mutation =
  | MessageUpsert
  | StatusUpdate
  | MessageEdit
  | MessageRevoke
  | ThreadNameUpdate
  | JidMapping
  | GroupRosterUpdate
  | GroupParticipantsUpdate
  | MediaJobEnqueue;

/**
 * Insert the message, or merge into the stored one: identity and time fields keep their first value,
 * status takes the maximum, `deliveredAt`/`readAt` keep the first non-null, empty fields are filled.
 * The store moves the thread summary forward from the message in the same transaction.
 */
export interface MessageUpsert {
  kind: 'message';
  record: MessageRecord;
}

/**
 * A receipt. Applied only forward; when the message is not stored yet, the store keeps the receipt
 * and applies it when the message arrives.
 */
export interface StatusUpdate {
  kind: 'status';
  accountId: string;
  /** Canonical chat JID, when known: Firestore needs it to find the document. */
  clientJid: string | null;
  messageId: string;
  status: MessageStatus;
  at: number;
}

export interface MessageEdit {
  kind: 'edit';
  accountId: string;
  clientJid: string | null;
  messageId: string;
  body: string;
  editedAt: number;
}

export interface MessageRevoke {
  kind: 'revoke';
  accountId: string;
  clientJid: string | null;
  messageId: string;
  revokedAt: number;
}

/** Creates the thread if it does not exist; sets `displayName` when the source ranks at least as high. */
export interface ThreadNameUpdate {
  kind: 'thread';
  accountId: string;
  clientJid: string;
  displayName: string;
  source: DisplayNameSource;
}

/**
 * A LID ↔ phone-number pairing. The store records it and merges an existing `{lid}` thread into the
 * `{pn}` thread (messages move, summaries combine, the LID stays on the thread as `lidJid`).
 */
export interface JidMapping {
  kind: 'jid-mapping';
  accountId: string;
  lid: string;
  pn: string;
}

/**
 * A group's whole roster as WhatsApp states it: replaces the thread's `participants` (creating the
 * thread if needed). A history chunk's roster is a snapshot taken when the phone built the sync, which
 * can be older than a live change: it only fills a roster not known yet.
 */
export interface GroupRosterUpdate {
  kind: 'group-roster';
  accountId: string;
  clientJid: string;
  /** `metadata`: the group's own metadata (groups.upsert, a metadata fetch), always current. */
  source: 'metadata' | 'history';
  participants: GroupParticipant[];
  /** Null when the source does not say (the stored mode is kept). */
  addressingMode: GroupAddressingMode | null;
}

/**
 * Members added, removed, promoted or demoted (`group-participants.update`). Applied to a known roster
 * only: on a group whose roster is unknown it changes nothing (a partial list would be wrong).
 */
export interface GroupParticipantsUpdate {
  kind: 'group-participants';
  accountId: string;
  clientJid: string;
  action: 'add' | 'remove' | 'promote' | 'demote';
  participants: GroupParticipant[];
}

/**
 * Queue a stored message's media for the archive (docs/media-archive.md) in the same write as the
 * message, so a crash can never leave a stored media message without its job. Applied after the batch's
 * messages, only for a message the store then holds; idempotent (a job that exists is left as it is,
 * done or not). The fields are the queue's `MediaJobInput` (src/store/media-queue.ts).
 */
export interface MediaJobEnqueue {
  kind: 'media-job';
  accountId: string;
  messageId: string;
  clientJid: string | null;
  /** `live` (realtime, sends) before `history` (history sync, backfill). */
  priority: 'live' | 'history';
  /** The message's `createdAt`: orders jobs of one priority. */
  messageAt: number;
}

/** The kinds of mutation the batch writer coalesces within a batch (`coalescingKey`). */
export type CoalescedKind = 'message' | 'thread' | 'jid-mapping';

/**
 * Identity of a mutation for in-batch coalescing, so that the same one never reaches the store twice
 * in a batch: a message by its id, a thread by its chat JID, a LID mapping by its LID, each keyed by the
 * record's own string (no new key string per mutation: a history sync queues tens of thousands).
 * Null for the rest, which the batch writer keeps in arrival order (a roster and the updates after it;
 * receipts, edits and revokes, which the store applies in order).
 */
export function coalescingKey(m: Mutation): { kind: CoalescedKind; id: string } | null {
  switch (m.kind) {
    case 'message':
      return { kind: 'message', id: m.record.id };
    case 'thread':
      return { kind: 'thread', id: m.clientJid };
    case 'jid-mapping':
      return { kind: 'jid-mapping', id: m.lid };
    default:
      return null;
  }
}
