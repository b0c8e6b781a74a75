import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { ConflictError, NotFoundError, StoreError } from '../../domain/errors.js';
import type { Mutation } from '../../domain/mutations.js';
import { isThreadOf } from '../../domain/thread-id.js';
import type {
  AccountPatch,
  AccountRecord,
  HistorySyncResult,
  MediaArchiveFields,
  MessageRecord,
  ThreadRecord,
} from '../../domain/records.js';
import { pageRequest, toPage } from '../paging.js';
import type { ApplyResult, AuthKeyWrite, Lease, LeaseName, ListOptions, Page, Store, StoreHealth } from '../port.js';
import { applyMutationsInTxn } from './apply-mutations.js';
import { storeClosedError, toStoreError } from './errors.js';
import { canAcquire, canRenew, leasePatch, readLease } from './leases.js';
import { apiRowToMessage, parseAccount, rowToMessage, rowToThread, toUint8Array } from './row-mapping.js';
import { migrate } from './schema.js';
import { prepareStatements, type Statements } from './statements.js';
import { SqliteMediaQueue } from './media-queue.js';
import { SqliteSettings } from './settings.js';
import { assertSettingKey, encodeSettingValue, type JsonValue, type SettingEntry } from '../settings.js';
import {
  assertClaimOptions,
  assertJobInput,
  type ClaimMediaJobsOptions,
  type MediaJob,
  type MediaJobCounts,
  type MediaJobInput,
  type MediaJobLease,
  type MediaJobResult,
} from '../media-queue.js';

export interface SqliteStoreOptions {
  /** Database file; its directory is created if missing. */
  file: string;
  /** How long a connection waits for another connection's write lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** Clock for thread/account bookkeeping timestamps (tests pin it). */
  now?: () => number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

/**
 * The embedded backend of the store port: one SQLite file in WAL mode, one connection per store
 * instance (each account worker thread opens its own).
 *
 * better-sqlite3 is synchronous; the port is async so Firestore fits behind it. Calls run to
 * completion on the calling thread, which is the account's worker, so blocking is per account.
 *
 * Every write goes through `write()`, i.e. `BEGIN IMMEDIATE`: the write lock is taken before the
 * first read, so a read-modify-write never finds its snapshot stale at commit time. With a deferred
 * BEGIN, two connections that both read and then write fail with SQLITE_BUSY (busy_timeout cannot
 * help: the snapshot is already outdated), which `test/store/sqlite-concurrency.test.ts` demonstrates.
 */
export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly file: string;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private stmts: Statements | null = null;
  private extras: { settings: SqliteSettings; media: SqliteMediaQueue } | null = null;
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    this.now = options.now ?? Date.now;
    try {
      mkdirSync(dirname(options.file), { recursive: true });
      this.db = new Database(options.file);
      // busy_timeout first: switching to WAL needs a lock that another thread may hold at start-up.
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new StoreError(`could not switch ${options.file} to WAL (journal_mode=${String(mode)})`);
      // NORMAL in WAL: a power loss may drop the last commits but never corrupts; ingest replays them.
      this.db.pragma('synchronous = NORMAL');
      // No foreign keys today; ON so that any a later migration declares are enforced.
      this.db.pragma('foreign_keys = ON');
    } catch (err) {
      throw toStoreError(err, 'open');
    }
  }

  async init(): Promise<void> {
    this.guard('init', () => {
      migrate(this.db, undefined, this.now());
      this.stmts ??= prepareStatements(this.db);
      this.extras ??= { settings: new SqliteSettings(this.db), media: new SqliteMediaQueue(this.db) };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stmts = null;
    this.extras = null;
    this.db.close();
  }

  async health(): Promise<StoreHealth> {
    const started = performance.now();
    try {
      this.guard('health', () => this.s().ping.get());
      return { status: 'ok', backend: 'sqlite', latencyMs: performance.now() - started };
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      return { status: 'error', backend: 'sqlite', latencyMs: performance.now() - started, detail };
    }
  }

  // ------------------------------------------------------------------ mutations

  async applyMutations(accountId: string, mutations: readonly Mutation[]): Promise<ApplyResult> {
    return this.write('applyMutations', (s) => applyMutationsInTxn(s, this.x().media, accountId, mutations, this.now()));
  }

  // ------------------------------------------------------------------ messages

  /** The chat JID hint is not needed here: the primary key (account_id, id) finds the row directly. */
  async getMessage(accountId: string, messageId: string, _clientJid?: string | null): Promise<MessageRecord | null> {
    return this.guard('getMessage', () => {
      const row = this.s().getMessage.get(accountId, messageId);
      return row ? rowToMessage(row) : null;
    });
  }

  async listMessages(accountId: string, threadId: string, opts: ListOptions): Promise<Page<MessageRecord>> {
    return this.guard('listMessages', () => {
      const { limit, order, after } = pageRequest(opts);
      // A thread id embeds its account: another account's thread is simply not there for this one.
      if (!isThreadOf(accountId, threadId)) return { items: [], nextCursor: null };
      const s = this.s();
      const fetch = limit + 1;
      const key = (m: MessageRecord) => ({ ts: m.createdAt, id: m.id });
      if (opts.fields === 'api') {
        const rows =
          order === 'desc'
            ? after
              ? s.listApiMessagesDescAfter.all(threadId, accountId, after.ts, after.id, fetch)
              : s.listApiMessagesDescFirst.all(threadId, accountId, fetch)
            : after
              ? s.listApiMessagesAscAfter.all(threadId, accountId, after.ts, after.id, fetch)
              : s.listApiMessagesAscFirst.all(threadId, accountId, fetch);
        return toPage(rows.map(apiRowToMessage), limit, key);
      }
      const rows =
        order === 'desc'
          ? after
            ? s.listMessagesDescAfter.all(threadId, accountId, after.ts, after.id, fetch)
            : s.listMessagesDescFirst.all(threadId, accountId, fetch)
          : after
            ? s.listMessagesAscAfter.all(threadId, accountId, after.ts, after.id, fetch)
            : s.listMessagesAscFirst.all(threadId, accountId, fetch);
      return toPage(rows.map(rowToMessage), limit, key);
    });
  }

  async recordMediaArchive(accountId: string, messageId: string, _clientJid: string | null, f: MediaArchiveFields): Promise<boolean> {
    return this.write(
      'recordMediaArchive',
      (s) =>
        s.recordMediaArchive.run(f.mediaArchivedAt, f.mediaSha256, f.mediaArchiveKey, f.mediaArchiveError, accountId, messageId).changes >
        0,
    );
  }

  async countMessages(accountId: string): Promise<number> {
    return this.guard('countMessages', () => this.s().countMessages.get(accountId) ?? 0);
  }

  // ------------------------------------------------------------------ threads

  async getThread(accountId: string, threadId: string): Promise<ThreadRecord | null> {
    return this.guard('getThread', () => {
      const row = this.s().getAccountThread.get(threadId, accountId);
      return row ? rowToThread(row) : null;
    });
  }

  async listThreads(accountId: string, opts: ListOptions): Promise<Page<ThreadRecord>> {
    return this.guard('listThreads', () => {
      const { limit, order, after } = pageRequest(opts);
      const s = this.s();
      const fetch = limit + 1;
      const rows =
        order === 'desc'
          ? after
            ? s.listThreadsDescAfter.all(accountId, after.ts, after.id, fetch)
            : s.listThreadsDescFirst.all(accountId, fetch)
          : after
            ? s.listThreadsAscAfter.all(accountId, after.ts, after.id, fetch)
            : s.listThreadsAscFirst.all(accountId, fetch);
      // The query excludes NULL last_message_at, so the fallback never produces a cursor.
      return toPage(rows.map(rowToThread), limit, (t) => ({ ts: t.lastMessageAt ?? 0, id: t.id }));
    });
  }

  async setThreadBackfilledAt(accountId: string, threadId: string, at: number): Promise<void> {
    await this.write('setThreadBackfilledAt', (s) => {
      s.setThreadBackfilledAt.run(at, this.now(), threadId, accountId);
    });
  }

  async listJidMappings(accountId: string): Promise<Array<{ lid: string; pn: string }>> {
    return this.guard('listJidMappings', () => this.s().listJidMappings.all(accountId));
  }

  // ------------------------------------------------------------------ accounts

  async createAccount(account: AccountRecord): Promise<AccountRecord> {
    return this.write('createAccount', (s) => {
      const now = this.now();
      const record: AccountRecord = { ...account, createdAt: account.createdAt ?? now, updatedAt: account.updatedAt ?? now };
      if (s.insertAccount.run(record.id, JSON.stringify(record)).changes === 0) {
        throw new ConflictError(`account ${account.id} already exists`);
      }
      return record;
    });
  }

  async getAccount(accountId: string): Promise<AccountRecord | null> {
    return this.guard('getAccount', () => {
      const data = this.s().getAccount.get(accountId);
      return data === undefined ? null : parseAccount(data);
    });
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return this.guard('listAccounts', () => this.s().listAccounts.all().map(parseAccount));
  }

  async patchAccount(accountId: string, patch: AccountPatch): Promise<void> {
    await this.write('patchAccount', (s) => {
      this.updateAccountIn(s, accountId, () => patch);
    });
  }

  async recordHistorySync(accountId: string, result: HistorySyncResult, at: number): Promise<void> {
    await this.write('recordHistorySync', (s) => {
      this.updateAccountIn(s, accountId, (current) => ({
        historySyncCount: (current.historySyncCount ?? 0) + result.saved,
        lastHistorySyncAt: at,
        lastHistorySyncResult: result,
      }));
    });
  }

  async deleteAccount(accountId: string, opts: { purge: boolean }): Promise<void> {
    await this.write('deleteAccount', (s) => {
      s.deleteAccount.run(accountId);
      s.deleteAuthCreds.run(accountId);
      s.deleteAccountAuthKeys.run(accountId);
      s.deleteAccountPendingReceipts.run(accountId);
      s.deleteAccountJidMappings.run(accountId);
      this.x().media.deleteAccountJobs(accountId);
      if (opts.purge) {
        s.deleteAccountMessages.run(accountId);
        s.deleteAccountThreads.run(accountId);
      }
    });
  }

  /**
   * Read-modify-write of the account document in JS rather than `json_patch`: JSON merge patch
   * deletes a key whose patch value is null, but for us `null` is a value ("no lease holder").
   * An `undefined` value means "not patched" and must not clear the stored field.
   */
  private updateAccountIn(s: Statements, accountId: string, makePatch: (current: AccountRecord) => AccountPatch): AccountRecord {
    const data = s.getAccount.get(accountId);
    if (data === undefined) throw new NotFoundError(`account ${accountId} not found`);
    const current = parseAccount(data);
    const patch = makePatch(current);
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    const next: AccountRecord = { ...current, ...defined, id: current.id, updatedAt: patch.updatedAt ?? this.now() };
    s.updateAccount.run(JSON.stringify(next), accountId);
    return next;
  }

  // ------------------------------------------------------------------ auth state

  async readAuthCreds(accountId: string): Promise<Uint8Array | null> {
    return this.guard('readAuthCreds', () => toUint8Array(this.s().getAuthCreds.get(accountId) ?? null));
  }

  async writeAuthCreds(accountId: string, data: Uint8Array): Promise<void> {
    await this.write('writeAuthCreds', (s) => {
      s.putAuthCreds.run(accountId, data);
    });
  }

  async readAuthKeys(accountId: string, type: string, ids: readonly string[]): Promise<Map<string, Uint8Array>> {
    return this.guard('readAuthKeys', () => {
      const s = this.s();
      const out = new Map<string, Uint8Array>();
      // Point lookups on the primary key: Baileys asks for a handful of ids at a time.
      for (const id of ids) {
        const value = toUint8Array(s.getAuthKey.get(accountId, type, id) ?? null);
        if (value !== null) out.set(id, value);
      }
      return out;
    });
  }

  async writeAuthKeys(accountId: string, writes: readonly AuthKeyWrite[]): Promise<void> {
    await this.write('writeAuthKeys', (s) => {
      for (const w of writes) {
        if (w.value === null) s.deleteAuthKey.run(accountId, w.type, w.id);
        else s.putAuthKey.run(accountId, w.type, w.id, w.value);
      }
    });
  }

  async clearAuthState(accountId: string): Promise<void> {
    await this.write('clearAuthState', (s) => {
      s.deleteAuthCreds.run(accountId);
      s.deleteAccountAuthKeys.run(accountId);
    });
  }

  // ------------------------------------------------------------------ leases

  async acquireLease(accountId: string, name: LeaseName, holder: string, ttlMs: number, now: number): Promise<Lease | null> {
    return this.write('acquireLease', (s) => {
      const data = s.getAccount.get(accountId);
      if (data === undefined) throw new NotFoundError(`account ${accountId} not found`);
      if (!canAcquire(readLease(parseAccount(data), name), holder, now)) return null;
      const lease: Lease = { accountId, name, holder, acquiredAt: now, until: now + ttlMs };
      this.updateAccountIn(s, accountId, () => leasePatch(name, lease));
      return lease;
    });
  }

  async renewLease(lease: Lease, ttlMs: number, now: number): Promise<Lease | null> {
    return this.write('renewLease', (s) => {
      const data = s.getAccount.get(lease.accountId);
      if (data === undefined) return null;
      const current = readLease(parseAccount(data), lease.name);
      if (!canRenew(current, lease)) return null;
      const renewed: Lease = { ...lease, acquiredAt: current.acquiredAt ?? lease.acquiredAt, until: now + ttlMs };
      this.updateAccountIn(s, lease.accountId, () => leasePatch(lease.name, renewed));
      return renewed;
    });
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.write('releaseLease', (s) => {
      const data = s.getAccount.get(lease.accountId);
      if (data === undefined) return;
      if (readLease(parseAccount(data), lease.name).holder !== lease.holder) return;
      this.updateAccountIn(s, lease.accountId, () => leasePatch(lease.name, { holder: null, until: null, acquiredAt: null }));
    });
  }

  // ------------------------------------------------------------------ settings (src/store/settings.ts)

  async getSetting(key: string): Promise<SettingEntry | null> {
    assertSettingKey(key);
    return this.guard('getSetting', () => this.x().settings.get(key));
  }

  async putSetting(key: string, value: JsonValue): Promise<SettingEntry> {
    assertSettingKey(key);
    const json = encodeSettingValue(value);
    return this.write('putSetting', () => this.x().settings.put(key, json, this.now()));
  }

  async deleteSetting(key: string): Promise<void> {
    assertSettingKey(key);
    await this.write('deleteSetting', () => this.x().settings.delete(key));
  }

  // ------------------------------------------------------------------ media queue (src/store/media-queue.ts)

  async enqueueMediaJobs(jobs: readonly MediaJobInput[], now: number): Promise<number> {
    jobs.forEach(assertJobInput);
    if (jobs.length === 0) return 0;
    return this.write('enqueueMediaJobs', () => this.x().media.enqueue(jobs, now));
  }

  async claimMediaJobs(accountId: string, opts: ClaimMediaJobsOptions): Promise<MediaJob[]> {
    assertClaimOptions(opts);
    return this.write('claimMediaJobs', () => this.x().media.claim(accountId, opts));
  }

  async renewMediaJob(lease: MediaJobLease, leaseMs: number, now: number): Promise<boolean> {
    return this.write('renewMediaJob', () => this.x().media.renewLease(lease, leaseMs, now));
  }

  async completeMediaJob(lease: MediaJobLease, result: MediaJobResult, now: number): Promise<boolean> {
    return this.write('completeMediaJob', () => this.x().media.complete(lease, result, now));
  }

  async retryMediaJob(lease: MediaJobLease, error: string, retryAt: number, now: number): Promise<boolean> {
    return this.write('retryMediaJob', () => this.x().media.retry(lease, error, retryAt, now));
  }

  async failMediaJob(lease: MediaJobLease, error: string, now: number): Promise<boolean> {
    return this.write('failMediaJob', () => this.x().media.fail(lease, error, now));
  }

  async getMediaJob(accountId: string, messageId: string): Promise<MediaJob | null> {
    return this.guard('getMediaJob', () => this.x().media.find(accountId, messageId));
  }

  async countMediaJobs(accountId: string): Promise<MediaJobCounts> {
    return this.guard('countMediaJobs', () => this.x().media.count(accountId));
  }

  // ------------------------------------------------------------------ plumbing

  private x(): { settings: SqliteSettings; media: SqliteMediaQueue } {
    this.s();
    return this.extras!;
  }

  private s(): Statements {
    if (this.closed) throw storeClosedError();
    if (this.stmts === null) throw new StoreError('sqlite store used before init()');
    return this.stmts;
  }

  private guard<T>(operation: string, fn: () => T): T {
    if (this.closed) throw storeClosedError();
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err, operation);
    }
  }

  /** One `BEGIN IMMEDIATE` transaction; better-sqlite3 rolls back if `fn` throws. */
  private write<T>(operation: string, fn: (s: Statements) => T): T {
    return this.guard(operation, () => {
      const s = this.s();
      return this.db.transaction(() => fn(s)).immediate();
    });
  }
}
