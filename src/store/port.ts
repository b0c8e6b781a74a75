import type { AccountPatch, AccountRecord, HistorySyncResult, MediaArchiveFields, MessageRecord, ThreadRecord } from '../domain/records.js';
import type { ChangeEvent } from '../domain/change-events.js';
import type { Mutation } from '../domain/mutations.js';
import type { ChangeLogStore } from './change-log.js';
import type { InstanceRegistryStore } from './instances.js';
import type { MediaQueueStore } from './media-queue.js';
import type { SettingsStore } from './settings.js';
import type { WebhookStore } from './webhooks.js';

/**
 * The storage port: everything above it (ingest, actors, HTTP, backfill) is backend-agnostic.
 * SQLite (embedded default) and Firestore (several instances) implement it; `test/store/contract.ts`
 * is the executable definition and runs against both.
 */

export type SortOrder = 'asc' | 'desc';

export interface ListOptions {
  /** 1..500 */
  limit: number;
  /** Opaque keyset cursor from a previous page's `nextCursor`. */
  cursor?: string | null;
  /** Threads default to `desc` (newest first), messages too. */
  order?: SortOrder;
  /**
   * Messages only. `'api'`: the caller needs only the fields the API returns (`serializeMessage`), so a
   * backend may leave out `rawMessage` and `media` (they come back null): SQLite then does not read
   * the encoded proto and the media reference of every row of the page. Default `'full'`.
   */
  fields?: 'full' | 'api';
}

export interface Page<T> {
  items: T[];
  /** Present when more rows may follow; pass back as `cursor`. */
  nextCursor: string | null;
}

export interface ApplyResult {
  /** Message upserts that inserted a new row. */
  inserted: number;
  /** Message upserts that merged into an existing row. */
  merged: number;
  /** Receipts applied to a stored message. */
  statusesApplied: number;
  /** Receipts kept for a message not stored yet (applied when it arrives). */
  statusesDeferred: number;
  edits: number;
  revokes: number;
  /** LID threads merged into their phone-number thread. */
  threadsMerged: number;
  /**
   * Ids of the messages this call inserted (`inserted` of them): what was new to the store, as
   * opposed to a replay or a second sighting. Lets the caller count, per submitter, what it added.
   */
  insertedIds: string[];
  /** Media-archive jobs this call added (`media-job` mutations for messages that had none). */
  mediaJobsEnqueued: number;
}

export function emptyApplyResult(): ApplyResult {
  return {
    inserted: 0,
    merged: 0,
    statusesApplied: 0,
    statusesDeferred: 0,
    edits: 0,
    revokes: 0,
    threadsMerged: 0,
    insertedIds: [],
    mediaJobsEnqueued: 0,
  };
}

/** A position in `scanMessages`' order (thread id, `createdAt`, id): the last message of a page. */
export interface MessageScanKey {
  threadId: string;
  ts: number;
  id: string;
}

export interface MessageScanOptions {
  /** Only this thread (one of the account's); else every thread of the account. */
  threadId?: string | null;
  /** Only messages whose `createdAt` (epoch ms) is at or after this instant. */
  since?: number | null;
  /** The previous page's `next`; null or absent for the first page. */
  after?: MessageScanKey | null;
  /** 1..500 */
  limit: number;
}

export interface ScannedMessage {
  /** The thread the message is stored under. */
  threadId: string;
  message: MessageRecord;
}

export interface MessageScanPage {
  items: ScannedMessage[];
  /** Pass back as `after`; null when no message follows. */
  next: MessageScanKey | null;
}

export type LeaseName = 'autoBackfill' | 'recentSync' | 'owner';

export interface Lease {
  accountId: string;
  name: LeaseName;
  holder: string;
  acquiredAt: number;
  until: number;
  /**
   * Fencing epoch (`{name}LeaseEpoch` on the account): +1 on every acquisition, kept across releases,
   * so it increases on every change of holder. Renewals keep it.
   */
  epoch: number;
}

/**
 * What a fenced write carries: the owner lease (holder and epoch) its writer runs under. The store
 * refuses the write with `LeaseLostError` when a newer epoch holds (or held) the account's owner lease.
 */
export interface LeaseFence {
  holder: string;
  epoch: number;
}

export interface AcquireLeaseOptions {
  /**
   * Take the lease even while another holder's is valid. Only for a holder that knows every other one
   * is dead: a SQLite instance behind its data-directory lock (a crashed predecessor's owner leases).
   */
  steal?: boolean;
}

export interface StoreHealth {
  /** `degraded`: reachable, but writes wait (SQLite: another connection or process holds the write lock). */
  status: 'ok' | 'degraded' | 'error';
  backend: 'sqlite' | 'firestore';
  latencyMs: number;
  detail?: string;
}

export type AuthKeyWrite = { type: string; id: string; value: Uint8Array | null };

/**
 * Settings (src/store/settings.ts), the media-archive queue (src/store/media-queue.ts), the change log
 * (src/store/change-log.ts), webhook endpoints (src/store/webhooks.ts) and the instance registry
 * (src/store/instances.ts) are part of the port.
 */
export interface Store extends SettingsStore, MediaQueueStore, ChangeLogStore, WebhookStore, InstanceRegistryStore {
  readonly backend: 'sqlite' | 'firestore';

  /** Runs migrations / checks connectivity. Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;
  health(): Promise<StoreHealth>;
  /**
   * Optional capability: a token that differs after anything was committed to the store by anyone
   * (any connection, thread or process), so that a reader can tell "nothing changed since I looked"
   * without reading again (the HTTP layer's response cache, src/http/read-cache.ts). Equal tokens from
   * two calls on this instance mean no commit landed in between; the value means nothing else.
   * Synchronous and cheap: called once per cached read. Backends that cannot tell (Firestore) leave it
   * out, and their readers read every time. SQLite: `PRAGMA data_version` (src/store/sqlite/data-version.ts).
   */
  changeToken?(): number;

  /**
   * Applies mutations as one unit (SQLite: one `BEGIN IMMEDIATE` transaction; Firestore: batched
   * commits of ≤500 operations). Order inside the unit: thread names, group rosters and participant
   * updates (in arrival order), messages, media-archive jobs, receipts, edits, revokes, JID mappings; thread summaries move
   * forward from the messages, once per thread. A group message from someone else gets its
   * `senderName` from the sender's thread as it stands then (`withSenderName`).
   * What it changed goes to the change log in the same transaction / commits: `message.created`,
   * `message.updated`, `thread.updated` (src/domain/change-events.ts).
   * Throws `TransientStoreError` for failures worth retrying, `StoreError` otherwise.
   */
  applyMutations(accountId: string, mutations: readonly Mutation[]): Promise<ApplyResult>;

  /**
   * `clientJid` is a hint for backends that address messages by thread (Firestore): pass it when known
   * (receipts, retries and edits carry the chat JID). Backends must still find the message without it.
   */
  getMessage(accountId: string, messageId: string, clientJid?: string | null): Promise<MessageRecord | null>;
  /** Messages of a thread by (`createdAt`, `id`). Unknown thread: empty page. */
  listMessages(accountId: string, threadId: string, opts: ListOptions): Promise<Page<MessageRecord>>;
  countMessages(accountId: string): Promise<number>;
  /**
   * Every message of the account (or of one thread) in keyset pages ordered by (thread id, `createdAt`,
   * id): one thread after another, each oldest first. For exports: a caller holds one page at a time
   * however large the account, and each page costs the same however deep. Messages written during a
   * scan appear if they sort after the current position. Another account's or an unknown thread: no rows.
   */
  scanMessages(accountId: string, opts: MessageScanOptions): Promise<MessageScanPage>;
  /**
   * The media archive's result on a message (`mediaArchivedAt`, `mediaSha256`, `mediaArchiveKey`,
   * `mediaArchiveError`): only these fields are written, so it never races ingest's writes of the rest.
   * False when the message is not stored. `clientJid` is a hint, as for `getMessage`.
   */
  recordMediaArchive(accountId: string, messageId: string, clientJid: string | null, fields: MediaArchiveFields): Promise<boolean>;

  getThread(accountId: string, threadId: string): Promise<ThreadRecord | null>;
  /** Threads that hold at least one message, by (`lastMessageAt`, `id`). */
  listThreads(accountId: string, opts: ListOptions): Promise<Page<ThreadRecord>>;
  setThreadBackfilledAt(accountId: string, threadId: string, at: number): Promise<void>;
  /** Every LID ↔ phone-number pairing recorded for the account. */
  listJidMappings(accountId: string): Promise<Array<{ lid: string; pn: string }>>;

  /** Throws `ConflictError` when the id exists. */
  createAccount(account: AccountRecord): Promise<AccountRecord>;
  getAccount(accountId: string): Promise<AccountRecord | null>;
  listAccounts(): Promise<AccountRecord[]>;
  /**
   * Field-level merge; `NotFoundError` when the account does not exist. In the same transaction /
   * commit: `account.updated` when the patch sets a field clients follow (`accountChangeEvent`), then
   * `events` (e.g. `backfill.completed` with the backfill result it records). With a `fence` (an
   * actor's connection status) it is refused with `LeaseLostError` once a newer owner epoch holds the
   * account, and then neither the patch nor its events are written.
   */
  patchAccount(accountId: string, patch: AccountPatch, events?: readonly ChangeEvent[], fence?: LeaseFence): Promise<void>;
  /**
   * Atomically: `historySyncCount += result.saved`, `lastHistorySyncAt = at`, `lastHistorySyncResult =
   * result`, and `events` appended to the change log (the chunk's `history-sync.progress`).
   */
  recordHistorySync(accountId: string, result: HistorySyncResult, at: number, events?: readonly ChangeEvent[]): Promise<void>;
  /**
   * Removes the account record, its auth state and media-archive jobs; with `purge`, its threads,
   * messages and change log too (the log holds message bodies).
   */
  deleteAccount(accountId: string, opts: { purge: boolean }): Promise<void>;

  /**
   * Baileys auth state, as opaque bytes (serialisation and encryption happen above the port). The
   * writes take the writer's `fence`: two owners overlapping on one session would corrupt it (Signal
   * ratchets, the history journal), so a write from an owner whose epoch has been superseded is
   * refused with `LeaseLostError`, atomically with the check. Without a fence they are unconditional.
   */
  readAuthCreds(accountId: string): Promise<Uint8Array | null>;
  writeAuthCreds(accountId: string, data: Uint8Array, fence?: LeaseFence): Promise<void>;
  readAuthKeys(accountId: string, type: string, ids: readonly string[]): Promise<Map<string, Uint8Array>>;
  /** All-or-nothing (per 499 keys on Firestore); a `null` value deletes the key. */
  writeAuthKeys(accountId: string, writes: readonly AuthKeyWrite[], fence?: LeaseFence): Promise<void>;
  clearAuthState(accountId: string, fence?: LeaseFence): Promise<void>;

  /**
   * Leases live on the account (`{name}LeaseUntil`, `{name}LeaseHolder`, `{name}LeaseAcquiredAt`, as the
   * auto-backfill summary names them, and the fencing epoch `{name}LeaseEpoch`), read and written in
   * one atomic step. Acquire succeeds when the lease is free, expired, or already ours, and moves the
   * epoch on each time.
   */
  acquireLease(
    accountId: string,
    name: LeaseName,
    holder: string,
    ttlMs: number,
    now: number,
    opts?: AcquireLeaseOptions,
  ): Promise<Lease | null>;
  /** Extends this acquisition (same holder and epoch); null when it was lost (taken, released, or acquired again). */
  renewLease(lease: Lease, ttlMs: number, now: number): Promise<Lease | null>;
  /** Releases only this acquisition (same holder and epoch); the epoch stays. */
  releaseLease(lease: Lease): Promise<void>;
}
