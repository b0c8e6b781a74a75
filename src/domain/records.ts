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
  /**
   * Group messages from others: the sender as the account knows them when the message is stored: the
   * saved contact name, else the message's push name, else any name known for the sender. Null otherwise.
   */
  senderName: string | null;

  // The media archive (docs/media-archive.md), written by the archive runner, never by ingest.
  /** When the media file was verified and stored in the archive; null while it is not. */
  mediaArchivedAt: number | null;
  /** Hex SHA-256 of the archived file: its content address. */
  mediaSha256: string | null;
  /** Where the archive keeps it (fs: path under `DATA_DIR/media`; s3: object key). */
  mediaArchiveKey: string | null;
  /** Why the media could not be archived, once the archive gave up on it (retries exhausted or hopeless). */
  mediaArchiveError: string | null;
}

/** The message fields only the media archive writes (`Store.recordMediaArchive`). */
export const MEDIA_ARCHIVE_FIELDS = [
  'mediaArchivedAt',
  'mediaSha256',
  'mediaArchiveKey',
  'mediaArchiveError',
] as const satisfies ReadonlyArray<keyof MessageRecord>;
export type MediaArchiveFields = Pick<MessageRecord, (typeof MEDIA_ARCHIVE_FIELDS)[number]>;

/** A message as ingest creates it: nothing archived yet. */
export const NOT_ARCHIVED: Readonly<MediaArchiveFields> = Object.freeze({
  mediaArchivedAt: null,
  mediaSha256: null,
  mediaArchiveKey: null,
  mediaArchiveError: null,
});

// Kept importable from here too: many modules and tests name it next to the records.
export { threadIdOf } from './thread-id.js';

/** Precedence of the sources a thread's `displayName` can come from: higher wins. */
export const DISPLAY_NAME_RANK = {
  pushName: 1,
  verifiedName: 2,
  chatName: 3,
  contactName: 4,
  /**
   * A group's subject from the group's own metadata (`groups.upsert`/`groups.update`): above the chat
   * name a history chunk carries, so a chunk delivered after a live rename cannot bring the old one back.
   */
  groupSubject: 5,
} as const;
export type DisplayNameSource = keyof typeof DISPLAY_NAME_RANK;

/** A group member's role; null for a regular member. */
export type GroupAdminRole = 'admin' | 'superadmin';

/** How a group addresses its members (and messages to it): by LID or by phone number. */
export type GroupAddressingMode = 'lid' | 'pn';

/** One member of a group thread (`ThreadRecord.participants`). */
export interface GroupParticipant {
  /** As the group addresses the member: a LID (`…@lid`) in LID-addressed groups, else the phone-number JID. */
  jid: string;
  /** The member's phone-number JID when known (for a phone-number member, `jid` itself). */
  phoneNumber: string | null;
  /** The member's LID when known (for a LID member, `jid` itself). */
  lid: string | null;
  admin: GroupAdminRole | null;
}

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
  /**
   * Groups: every member with their role, as WhatsApp last stated the whole roster (group metadata, the
   * history sync) and changed by participant updates since. Null for 1:1 chats and for groups whose
   * roster is not known yet (a partial list would make a send skip members).
   */
  participants: GroupParticipant[] | null;
  /** Groups: LID or phone-number addressing, when known. */
  groupAddressingMode: GroupAddressingMode | null;
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

/** History-sync statuses (transitions in src/domain/history-sync.ts). */
export const HISTORY_SYNC_STATUSES = ['waiting', 'running', 'paused', 'complete'] as const;
export type HistorySyncStatus = (typeof HISTORY_SYNC_STATUSES)[number];

/** Percent per phase that reports progress, by `proto.HistorySync.HistorySyncType` name; null before its first chunk. */
export interface HistorySyncProgress {
  RECENT: number | null;
  FULL: number | null;
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

  /** The current history sync (src/domain/history-sync.ts; README, Data model). */
  historySyncStatus?: HistorySyncStatus;
  historySyncProgress?: HistorySyncProgress;
  historySyncChunks?: Record<string, number>;
  historySyncMessagesSaved?: number;
  historySyncStartedAt?: number | null;
  historySyncUpdatedAt?: number | null;
  historySyncLastChunkAt?: number | null;
  historySyncCompletedAt?: number | null;
  /** No chunk for HISTORY_SYNC_STALL_MS while connected and not complete; cleared by the next chunk. */
  historySyncStalled?: boolean;
  historySyncStalledAt?: number | null;

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
  'historySyncStartedAt',
  'historySyncUpdatedAt',
  'historySyncLastChunkAt',
  'historySyncCompletedAt',
  'historySyncStalledAt',
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
