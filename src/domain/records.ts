/**
 * The records wasync keeps, in the shape the operator runbook defines (README, Data model).
 * Field names are a public contract: extend, never rename.
 *
 * Every instant is held as epoch milliseconds inside the process; each store backend converts to its
 * native type (SQLite INTEGER, Firestore Timestamp) and the HTTP layer renders ISO 8601.
 */

export type Direction = 'inbound' | 'outbound';

/** Runbook: `'queued' | 'sent' | 'delivered' | 'read'`. Ordered: status only ever moves forward. */
export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'read';
export const MESSAGE_STATUS_ORDER: readonly MessageStatus[] = ['queued', 'sent', 'delivered', 'read'];
export function statusRank(status: MessageStatus): number {
  return MESSAGE_STATUS_ORDER.indexOf(status);
}
export function maxStatus(a: MessageStatus, b: MessageStatus): MessageStatus {
  return statusRank(a) >= statusRank(b) ? a : b;
}

/**
 * Runbook: `'text' | 'image' | 'video' | 'audio' | 'document'`. The documented extensions cover the
 * other kinds of content WhatsApp carries; `other` is anything we store but do not classify further
 * (`contentType` then holds the raw proto field name).
 */
export const MESSAGE_TYPES = [
  'text',
  'image',
  'video',
  'audio',
  'document',
  'sticker',
  'location',
  'contact',
  'poll',
  'reaction',
  'other',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
/** The message types that carry a media file (the media archive keeps copies of theirs). */
export const MEDIA_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set(['image', 'video', 'audio', 'document', 'sticker']);

/**
 * Runbook: `'history_sync' | 'realtime'`. Extensions: `backfill` (on-demand history fetched by the
 * backfill loop) and `outbound_api` (a message sent through `POST /api/whatsapp/send`).
 */
export const SYNC_SOURCES = ['history_sync', 'realtime', 'backfill', 'outbound_api'] as const;
export type SyncSource = (typeof SYNC_SOURCES)[number];

/** What a later download needs: the encrypted media reference WhatsApp hands out. */
export interface MediaRef {
  directPath: string | null;
  url: string | null;
  mediaKey: string | null; // base64
  fileEncSha256: string | null; // base64
  fileSha256: string | null; // base64
  fileLength: number | null;
}

export interface MessageRecord {
  /** Document id: the WhatsApp message id. */
  id: string;
  accountId: string;
  clientJid: string;
  direction: Direction;
  body: string;
  waMessageId: string;
  status: MessageStatus;
  messageType: MessageType;
  mediaType: string | null;
  mediaUrl: string | null;
  mediaMimetype: string | null;
  mediaFilename: string | null;
  /** The message's WhatsApp time as ISO 8601 (same instant as `createdAt`). */
  tsClient: string;
  /** When wasync first stored the message. */
  tsServer: number;
  /** The message's own WhatsApp time: message lists are ordered by it. */
  createdAt: number;
  /** When the message was stored from a history sync or backfill; null for realtime. */
  syncedAt: number | null;
  syncSource: SyncSource;
  deliveredAt: number | null;
  readAt: number | null;

  // Documented extensions.
  /** The raw proto content field (`conversation`, `imageMessage`, …) after unwrapping. */
  contentType: string;
  fromMe: boolean;
  /** Group sender (canonical JID), null in 1:1 chats. */
  participant: string | null;
  /** Sender's pushName as WhatsApp delivered it. */
  pushName: string | null;
  /** `proto.HistorySync.HistorySyncType` name for history-sourced messages. */
  syncType: string | null;
  mediaSize: number | null;
  media: MediaRef | null;
  /** Id of the message this one quotes, reacts to, or otherwise refers to. */
  refMessageId: string | null;
  editedAt: number | null;
  revokedAt: number | null;
  /** Set when a send through the API failed; cleared by a later successful send of the same id. */
  sendError: string | null;
  /** Encoded `proto.Message` kept for messages Baileys may need again (own sends for retries, media). */
  rawMessage: Uint8Array | null;
}

// Kept importable from here too: many modules and tests name it next to the records.
export { threadIdOf } from './thread-id.js';

/** Precedence of the sources a thread's `displayName` can come from: higher wins. */
export const DISPLAY_NAME_RANK = {
  pushName: 1,
  verifiedName: 2,
  chatName: 3,
  contactName: 4,
} as const;
export type DisplayNameSource = keyof typeof DISPLAY_NAME_RANK;

export interface ThreadRecord {
  /** `{accountId}__{clientJid}` */
  id: string;
  accountId: string;
  clientJid: string;
  displayName: string | null;
  lastMessageAt: number | null;
  lastMessagePreview: string | null;
  lastBackfillAt: number | null;

  // Documented extensions.
  /** Id of the message the summary was taken from: breaks ties on equal `lastMessageAt`. */
  lastMessageId: string | null;
  /** The LID form of a person whose canonical `clientJid` is the phone-number JID. */
  lidJid: string | null;
  displayNameSource: DisplayNameSource | null;
  isGroup: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface HistorySyncResult {
  saved: number;
  skipped: number;
  errors: number;
  total: number;
  dryRun: boolean;
}

export interface BackfillResult {
  threads: number;
  messages: number;
  errors: number;
  threadResults: Array<{ threadId: string; messages: number; error?: string }>;
}

/** Connection states an account moves through (issue 4's list), plus supervisor-level states. */
export type ConnectionStatus =
  | 'created'
  | 'connecting'
  | 'qr'
  | 'open'
  | 'reconnecting'
  | 'logged_out'
  | 'forbidden'
  | 'replaced'
  | 'stopped'
  | 'failed';

export type AutoBackfillStatus = 'running' | 'ok' | 'error';

/**
 * `accounts/{accountId}`. Everything but `id` is optional so that writers patch only what they own;
 * backends merge patches field by field.
 */
export interface AccountRecord {
  id: string;
  createdAt?: number;
  updatedAt?: number;
  status?: ConnectionStatus;
  statusReason?: string | null;
  statusAt?: number;
  phoneNumber?: string | null;
  displayName?: string | null;
  connector?: string;
  reconnectAttempts?: number;
  lastConnectedAt?: number | null;

  lastHistorySyncAt?: number | null;
  historySyncCount?: number;
  lastHistorySyncResult?: HistorySyncResult | null;

  lastBackfillAt?: number | null;
  lastBackfillResult?: BackfillResult | null;

  lastAutoBackfillStatus?: AutoBackfillStatus | null;
  lastAutoBackfillAt?: number | null;
  lastAutoBackfillAttemptAt?: number | null;
  lastAutoBackfillSuccessAt?: number | null;
  lastAutoBackfillResult?: (BackfillResult & { durationMs: number; error?: string }) | null;
  autoBackfillLeaseUntil?: number | null;
  autoBackfillLeaseHolder?: string | null;
  autoBackfillLeaseAcquiredAt?: number | null;
  /** Fencing epoch of the lease (every lease name has one): +1 on every acquisition, kept across releases. */
  autoBackfillLeaseEpoch?: number;

  recentSyncLeaseUntil?: number | null;
  recentSyncLeaseHolder?: string | null;
  recentSyncLeaseAcquiredAt?: number | null;
  recentSyncLeaseEpoch?: number;
  /** Which instance runs the account's actor (several instances on one Firestore project). */
  ownerLeaseUntil?: number | null;
  ownerLeaseHolder?: string | null;
  ownerLeaseAcquiredAt?: number | null;
  /**
   * The owner lease's fencing epoch: +1 on every acquisition (kept across releases), so the session
   * writes of an actor started under an older epoch are refused once another one holds the account.
   */
  ownerLeaseEpoch?: number;

  lastRecentSyncAt?: number | null;
  lastRecentSyncResult?: BackfillResult | null;

  lastRealtimeIngestAt?: number | null;
  lastRealtimeMessageAt?: number | null;
  lastRealtimeError?: string | null;

  /**
   * WhatsApp delivered everything it held for the device while it was offline
   * (`receivedPendingNotifications`); reset to false on every new connection.
   */
  caughtUp?: boolean;
  caughtUpAt?: number | null;
}

/**
 * Every account field that holds an instant: Firestore stores them as Timestamps, the API renders
 * them as ISO 8601. A new `…At`/`…Until` field fails to compile until it is listed here.
 */
export const ACCOUNT_INSTANT_FIELDS = [
  'createdAt',
  'updatedAt',
  'statusAt',
  'lastConnectedAt',
  'caughtUpAt',
  'lastHistorySyncAt',
  'lastBackfillAt',
  'lastAutoBackfillAt',
  'lastAutoBackfillAttemptAt',
  'lastAutoBackfillSuccessAt',
  'autoBackfillLeaseUntil',
  'autoBackfillLeaseAcquiredAt',
  'recentSyncLeaseUntil',
  'recentSyncLeaseAcquiredAt',
  'ownerLeaseUntil',
  'ownerLeaseAcquiredAt',
  'lastRecentSyncAt',
  'lastRealtimeIngestAt',
  'lastRealtimeMessageAt',
] as const satisfies ReadonlyArray<keyof AccountRecord>;
export type AccountInstantField = (typeof ACCOUNT_INSTANT_FIELDS)[number];

type InstantKeys = Extract<keyof AccountRecord, `${string}At` | `${string}Until`>;
type Unlisted = Exclude<InstantKeys, AccountInstantField>;
const allInstantsListed: [Unlisted] extends [never] ? true : Unlisted = true;
void allInstantsListed;

export type AccountPatch = Partial<Omit<AccountRecord, 'id'>>;
