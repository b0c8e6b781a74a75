import type { AccountPatch, AccountRecord, HistorySyncResult, MessageRecord, ThreadRecord } from '../domain/records.js';
import type { Mutation } from '../domain/mutations.js';
import type { InstanceRegistryStore } from './instances.js';
import type { MediaQueueStore } from './media-queue.js';
import type { SettingsStore } from './settings.js';

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
}

export function emptyApplyResult(): ApplyResult {
  return { inserted: 0, merged: 0, statusesApplied: 0, statusesDeferred: 0, edits: 0, revokes: 0, threadsMerged: 0 };
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
  status: 'ok' | 'error';
  backend: 'sqlite' | 'firestore';
  latencyMs: number;
  detail?: string;
}

export type AuthKeyWrite = { type: string; id: string; value: Uint8Array | null };

/**
 * Settings (src/store/settings.ts), the media-archive queue (src/store/media-queue.ts) and the
 * instance registry (src/store/instances.ts) are part of the port.
 */
export interface Store extends SettingsStore, MediaQueueStore, InstanceRegistryStore {
  readonly backend: 'sqlite' | 'firestore';

  /** Runs migrations / checks connectivity. Idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;
  health(): Promise<StoreHealth>;

  /**
   * Applies mutations as one unit (SQLite: one `BEGIN IMMEDIATE` transaction; Firestore: batched
   * commits of ≤500 operations). Order inside the unit: thread names, messages, receipts, edits,
   * revokes, JID mappings; thread summaries move forward from the messages, once per thread.
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
   * Field-level merge; `NotFoundError` when the account does not exist. With a `fence` (an actor's
   * connection status) it is refused with `LeaseLostError` once a newer owner epoch holds the account.
   */
  patchAccount(accountId: string, patch: AccountPatch, fence?: LeaseFence): Promise<void>;
  /** Atomically: `historySyncCount += result.saved`, `lastHistorySyncAt = at`, `lastHistorySyncResult = result`. */
  recordHistorySync(accountId: string, result: HistorySyncResult, at: number): Promise<void>;
  /** Removes the account record, its auth state and media-archive jobs; with `purge`, its threads and messages too. */
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
