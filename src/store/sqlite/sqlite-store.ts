import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { accountChangeEvent, changedMessageFields, loggedMessage, type ChangeEvent } from '../../domain/change-events.js';
import { ConflictError, LeaseLostError, NotFoundError, StoreError, TransientStoreError } from '../../domain/errors.js';
import type { Mutation } from '../../domain/mutations.js';
import { isThreadOf, THREAD_ID_SEPARATOR } from '../../domain/thread-id.js';
import { DataVersionProbe } from './data-version.js';
import type {
  AccountPatch,
  AccountRecord,
  HistorySyncResult,
  MediaArchiveFields,
  MessageRecord,
  ThreadRecord,
} from '../../domain/records.js';
import { pageRequest, scanRequest, toPage } from '../paging.js';
import type {
  AcquireLeaseOptions,
  ApplyResult,
  AuthKeyWrite,
  Lease,
  LeaseFence,
  LeaseName,
  ListOptions,
  MessageScanOptions,
  MessageScanPage,
  Page,
  Store,
  StoreHealth,
} from '../port.js';
import { acquiredLease, canAcquire, canRelease, canRenew, fenceRefusal, releasedState } from '../lease-rules.js';
import { assertInstanceId, assertInstanceRecord, type InstanceRecord } from '../instances.js';
import { SqliteInstances } from './instances.js';
import { applyMutationsInTxn } from './apply-mutations.js';
import { storeClosedError, toStoreError } from './errors.js';
import { leasePatch, readLease } from './leases.js';
import { apiRowToMessage, parseAccount, rowToMessage, rowToThread, toUint8Array, type MessageRow } from './row-mapping.js';
import { migrate } from './schema.js';
import { prepareStatements, type Statements } from './statements.js';
import { SqliteMediaQueue } from './media-queue.js';
import { SqliteSettings } from './settings.js';
import { SqliteChangeLog, type LoggedEvent } from './change-log.js';
import { SqliteWebhooks } from './webhooks.js';
import { CommitListeners, assertChangePage, assertOnceKey, type ChangePage, type FROM_OLDEST } from '../change-log.js';
import { assertWebhookId, type WebhookEndpoint, type WebhookPatch, type WebhookUpdateGuard } from '../webhooks.js';
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
  /**
   * How long one attempt waits (synchronously, inside SQLite) for another connection's write lock
   * before SQLITE_BUSY. Kept to a few milliseconds: better-sqlite3 blocks the calling thread for that
   * long, and the caller is an actor whose event loop owns a live socket. Longer waits happen between
   * attempts, asynchronously (`busyRetryMs`).
   */
  busyTimeoutMs?: number;
  /**
   * How long a write keeps retrying a busy database (asynchronously, with backoff) before it fails
   * with `TransientStoreError`. The batch writer retries those again, so this only bounds one call.
   */
  busyRetryMs?: number;
  /** Every asynchronous retry of a busy write (the store-health bookkeeping listens). */
  onBusyRetry?: (operation: string) => void;
  /** Clock for thread/account bookkeeping timestamps (tests pin it). */
  now?: () => number;
  /**
   * `false` writes no change log (benchmarks measure what the log costs: `npm run bench`). Every
   * process wasync runs keeps it on: the feed and the webhooks read nothing else.
   */
  changeLog?: boolean;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5;
const DEFAULT_BUSY_RETRY_MS = 5_000;
/** Write-lock probes of a health check, 50 ms apart: an ordinary commit holds the lock for far less. */
const HEALTH_WRITE_PROBES = 5;
/** Opening and migrating happen before the actor has a socket: a longer synchronous wait is harmless there. */
const OPEN_BUSY_TIMEOUT_MS = 5_000;

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
  private extras: Extras | null = null;
  private closed = false;
  private readonly busyTimeoutMs: number;
  private readonly busyRetryMs: number;
  private readonly onBusyRetry: ((operation: string) => void) | undefined;
  private readonly logging: boolean;
  private readonly committed = new CommitListeners();
  /** Accounts whose log the running write transaction appended to: announced once it commits. */
  private appended: string[] = [];
  /** `changeToken`'s own read-only connection (opened by the first call, on the calling thread). */
  private readonly dataVersion: DataVersionProbe;

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    this.now = options.now ?? Date.now;
    this.busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
    this.busyRetryMs = Math.max(0, options.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS);
    this.onBusyRetry = options.onBusyRetry;
    this.logging = options.changeLog ?? true;
    this.dataVersion = new DataVersionProbe(options.file);
    try {
      // The database holds Baileys credentials and Signal keys: nobody but the service user may read it.
      // SQLite creates `-wal` and `-shm` with the database file's permissions, so creating it 0600 covers all three.
      mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
      if (!existsSync(options.file)) {
        closeSync(openSync(options.file, 'a', 0o600));
        chmodSync(options.file, 0o600); // the process umask may have taken bits away, never added: this is exact
      }
      this.db = new Database(options.file);
      // busy_timeout first: switching to WAL needs a lock that another thread may hold at start-up.
      this.db.pragma(`busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
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
      this.db.pragma(`busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
      migrate(this.db, undefined, this.now());
      this.stmts ??= prepareStatements(this.db);
      this.extras ??= {
        settings: new SqliteSettings(this.db),
        media: new SqliteMediaQueue(this.db),
        log: new SqliteChangeLog(this.db),
        webhooks: new SqliteWebhooks(this.db),
        instances: new SqliteInstances(this.db),
      };
      // From here on the connection serves a live actor: short synchronous waits, retries off the loop.
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stmts = null;
    this.extras = null;
    this.dataVersion.close();
    this.db.close();
  }

  changeToken(): number {
    if (this.closed) throw storeClosedError();
    return this.dataVersion.current();
  }

  /**
   * A read, then a write probe: reads never wait in WAL mode, so only taking the write lock (and
   * letting go at once) tells whether writes can commit. A lock held through a few short tries means
   * writes are waiting: `degraded`.
   */
  async health(): Promise<StoreHealth> {
    const started = performance.now();
    const took = (): number => performance.now() - started;
    try {
      this.guard('health', () => this.s().ping.get());
    } catch (err) {
      return { status: 'error', backend: 'sqlite', latencyMs: took(), detail: err instanceof Error ? err.message : String(err) };
    }
    for (let attempt = 1; ; attempt++) {
      try {
        this.guard('health', () => {
          this.db.exec('BEGIN IMMEDIATE');
          this.db.exec('ROLLBACK');
        });
        return { status: 'ok', backend: 'sqlite', latencyMs: took() };
      } catch (err) {
        if (!(err instanceof TransientStoreError)) {
          return { status: 'error', backend: 'sqlite', latencyMs: took(), detail: err instanceof Error ? err.message : String(err) };
        }
        if (attempt >= HEALTH_WRITE_PROBES) {
          return {
            status: 'degraded',
            backend: 'sqlite',
            latencyMs: took(),
            detail: 'the database is locked for writing by another connection',
          };
        }
        await sleep(50);
      }
    }
  }

  // ------------------------------------------------------------------ mutations

  async applyMutations(accountId: string, mutations: readonly Mutation[]): Promise<ApplyResult> {
    return this.write('applyMutations', (s) => {
      const now = this.now();
      const { result, events } = applyMutationsInTxn(s, this.x().media, accountId, mutations, now);
      this.log(accountId, events, now);
      return result;
    });
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
      // The statement of this order, first page or after the cursor: the API's columns or every column.
      const rowsOf = <R>(
        first: { all(...p: [string, string, number]): R[] },
        later: { all(...p: [string, string, number, string, number]): R[] },
      ) => (after ? later.all(threadId, accountId, after.ts, after.id, fetch) : first.all(threadId, accountId, fetch));
      const desc = order === 'desc';
      if (opts.fields === 'api') {
        const rows = desc
          ? rowsOf(s.listApiMessagesDescFirst, s.listApiMessagesDescAfter)
          : rowsOf(s.listApiMessagesAscFirst, s.listApiMessagesAscAfter);
        return toPage(rows.map(apiRowToMessage), limit, key);
      }
      const rows = desc ? rowsOf(s.listMessagesDescFirst, s.listMessagesDescAfter) : rowsOf(s.listMessagesAscFirst, s.listMessagesAscAfter);
      return toPage(rows.map(rowToMessage), limit, key);
    });
  }

  async scanMessages(accountId: string, opts: MessageScanOptions): Promise<MessageScanPage> {
    return this.guard('scanMessages', () => {
      const { limit, threadId, since, after } = scanRequest(opts);
      const s = this.s();
      const fetch = limit + 1;
      let rows: MessageRow[];
      if (threadId !== null) {
        if (!isThreadOf(accountId, threadId) || (after && after.threadId > threadId)) return { items: [], next: null };
        const from = after && after.threadId === threadId ? after : { ts: since, id: '' };
        rows = s.scanThreadMessages.all(threadId, from.ts, from.id, accountId, since, fetch);
      } else {
        const prefix = `${accountId}${THREAD_ID_SEPARATOR}`;
        // The prefix itself is no thread id (a client JID is never empty): every thread sorts after it.
        const from = after ?? { threadId: prefix, ts: Number.MIN_SAFE_INTEGER, id: '' };
        rows = s.scanAccountMessages.all(from.threadId, from.ts, from.id, `${accountId}_\``, accountId, since, fetch);
      }
      const items = rows.slice(0, limit).map((row) => ({ threadId: String(row.thread_id), message: rowToMessage(row) }));
      const last = items[items.length - 1];
      const next = rows.length > limit && last ? { threadId: last.threadId, ts: last.message.createdAt, id: last.message.id } : null;
      return { items, next };
    });
  }

  async recordMediaArchive(accountId: string, messageId: string, _clientJid: string | null, f: MediaArchiveFields): Promise<boolean> {
    return this.write('recordMediaArchive', (s) => {
      const before = s.getMessage.get(accountId, messageId);
      if (!before) return false;
      s.recordMediaArchive.run(f.mediaArchivedAt, f.mediaSha256, f.mediaArchiveKey, f.mediaArchiveError, accountId, messageId);
      // The archive's result is a `message.updated` in the same transaction (an inbox shows "archived").
      const previous = rowToMessage(before);
      const message: MessageRecord = { ...previous, ...f };
      const changes = changedMessageFields(previous, message);
      if (changes.length > 0) {
        const now = this.now();
        this.log(
          accountId,
          [{ type: 'message.updated', data: { threadId: String(before.thread_id), message: loggedMessage(message), changes } }],
          now,
        );
      }
      return true;
    });
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

  async patchAccount(accountId: string, patch: AccountPatch, events: readonly ChangeEvent[] = [], fence?: LeaseFence): Promise<void> {
    await this.write('patchAccount', (s) => {
      if (fence) this.checkFence(s, accountId, fence);
      this.updateAccountIn(s, accountId, () => patch);
      const derived = accountChangeEvent(patch);
      this.log(accountId, derived ? [derived, ...events] : events, this.now());
    });
  }

  async recordHistorySync(accountId: string, result: HistorySyncResult, at: number, events: readonly ChangeEvent[] = []): Promise<void> {
    await this.write('recordHistorySync', (s) => {
      this.updateAccountIn(s, accountId, (current) => ({
        historySyncCount: (current.historySyncCount ?? 0) + result.saved,
        lastHistorySyncAt: at,
        lastHistorySyncResult: result,
      }));
      this.log(accountId, events, this.now());
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
        this.x().log.deleteAccount(accountId);
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

  async writeAuthCreds(accountId: string, data: Uint8Array, fence?: LeaseFence): Promise<void> {
    await this.write('writeAuthCreds', (s) => {
      if (fence) this.checkFence(s, accountId, fence);
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

  async writeAuthKeys(accountId: string, writes: readonly AuthKeyWrite[], fence?: LeaseFence): Promise<void> {
    await this.write('writeAuthKeys', (s) => {
      if (fence) this.checkFence(s, accountId, fence);
      for (const w of writes) {
        if (w.value === null) s.deleteAuthKey.run(accountId, w.type, w.id);
        else s.putAuthKey.run(accountId, w.type, w.id, w.value);
      }
    });
  }

  async clearAuthState(accountId: string, fence?: LeaseFence): Promise<void> {
    await this.write('clearAuthState', (s) => {
      if (fence) this.checkFence(s, accountId, fence);
      s.deleteAuthCreds.run(accountId);
      s.deleteAccountAuthKeys.run(accountId);
    });
  }

  // ------------------------------------------------------------------ leases

  async acquireLease(
    accountId: string,
    name: LeaseName,
    holder: string,
    ttlMs: number,
    now: number,
    opts: AcquireLeaseOptions = {},
  ): Promise<Lease | null> {
    return this.write('acquireLease', (s) => {
      const data = s.getAccount.get(accountId);
      if (data === undefined) throw new NotFoundError(`account ${accountId} not found`);
      const current = readLease(parseAccount(data), name);
      if (!canAcquire(current, holder, now, opts.steal)) return null;
      const lease = acquiredLease(accountId, name, holder, ttlMs, now, current);
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
      const current = readLease(parseAccount(data), lease.name);
      if (!canRelease(current, lease)) return;
      this.updateAccountIn(s, lease.accountId, () => leasePatch(lease.name, releasedState(current)));
    });
  }

  /** Inside the write transaction of the fenced write, so no acquisition can slip in between. */
  private checkFence(s: Statements, accountId: string, fence: LeaseFence): void {
    const data = s.getAccount.get(accountId);
    const refusal = fenceRefusal(accountId, data === undefined ? null : readLease(parseAccount(data), 'owner'), fence);
    if (refusal) throw new LeaseLostError(refusal);
  }

  // ------------------------------------------------------------------ instance registry (src/store/instances.ts)

  async putInstance(record: InstanceRecord): Promise<void> {
    assertInstanceRecord(record);
    await this.write('putInstance', () => this.x().instances.put(record));
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return this.guard('listInstances', () => this.x().instances.list());
  }

  async deleteInstance(instanceId: string): Promise<void> {
    assertInstanceId(instanceId);
    await this.write('deleteInstance', () => this.x().instances.delete(instanceId));
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

  // ------------------------------------------------------------------ change log (src/store/change-log.ts)

  async changeLogEpoch(): Promise<string> {
    return this.guard('changeLogEpoch', () => this.x().log.epoch());
  }

  /** A deferred read transaction: the head and the page come from one snapshot. */
  async readChanges(accountId: string, afterSeq: number | typeof FROM_OLDEST, limit: number): Promise<ChangePage> {
    assertChangePage(afterSeq, limit);
    return this.guard('readChanges', () => {
      const log = this.x().log;
      return this.db.transaction(() => log.read(accountId, afterSeq, limit)).deferred();
    });
  }

  async changeLogHead(accountId: string): Promise<number> {
    return this.guard('changeLogHead', () => this.x().log.head(accountId));
  }

  async changeLogHeads(): Promise<Map<string, number>> {
    return this.guard('changeLogHeads', () => this.x().log.allHeads());
  }

  async appendChanges(accountId: string, events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.write('appendChanges', (s) => {
      if (s.getAccount.get(accountId) === undefined) throw new NotFoundError(`account ${accountId} not found`);
      this.log(accountId, events, this.now());
    });
  }

  async pruneChanges(before: number): Promise<number> {
    return this.write('pruneChanges', () => this.x().log.pruneBefore(before, this.now()));
  }

  onChangesCommitted(listener: (accountIds: readonly string[]) => void): () => void {
    return this.committed.add(listener);
  }

  /** One process writes a SQLite file: its own commits are announced by `onChangesCommitted`. */
  watchChanges(): () => void {
    return () => undefined;
  }

  async useOnce(key: string, expiresAt: number): Promise<boolean> {
    assertOnceKey(key);
    return this.write('useOnce', () => this.x().log.useOnce(key, expiresAt));
  }

  // ------------------------------------------------------------------ webhooks (src/store/webhooks.ts)

  async createWebhook(endpoint: WebhookEndpoint): Promise<WebhookEndpoint> {
    assertWebhookId(endpoint.id);
    return this.write('createWebhook', () => this.x().webhooks.create(endpoint));
  }

  async getWebhook(id: string): Promise<WebhookEndpoint | null> {
    return this.guard('getWebhook', () => this.x().webhooks.find(id));
  }

  async listWebhooks(): Promise<WebhookEndpoint[]> {
    return this.guard('listWebhooks', () => this.x().webhooks.list());
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.write('deleteWebhook', () => this.x().webhooks.delete(id));
  }

  async updateWebhook(id: string, patch: WebhookPatch, opts: WebhookUpdateGuard): Promise<WebhookEndpoint | null> {
    return this.write('updateWebhook', () => this.x().webhooks.update(id, patch, opts));
  }

  async acquireWebhookLease(id: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    return this.write('acquireWebhookLease', () => this.x().webhooks.acquire(id, holder, ttlMs, now));
  }

  async releaseWebhookLease(id: string, holder: string): Promise<void> {
    await this.write('releaseWebhookLease', () => this.x().webhooks.release(id, holder));
  }

  // ------------------------------------------------------------------ plumbing

  /** Inside a write transaction: appends a batch to the account's log, announced after the commit. */
  private log(accountId: string, events: readonly LoggedEvent[], now: number): void {
    if (!this.logging || events.length === 0) return;
    this.x().log.append(accountId, events, now);
    if (!this.appended.includes(accountId)) this.appended.push(accountId);
  }

  private x(): Extras {
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

  /**
   * One `BEGIN IMMEDIATE` transaction; better-sqlite3 rolls back if `fn` throws. A busy database
   * (another connection or process holds the write lock) is retried asynchronously with backoff for
   * up to `busyRetryMs`: each attempt blocks the thread for at most `busyTimeoutMs`, the waits in
   * between yield the event loop. Reads need no such care: in WAL mode they never wait for a writer.
   * The accounts whose log the transaction appended to are announced to `onChangesCommitted`
   * listeners once it has committed.
   */
  private async write<T>(operation: string, fn: (s: Statements) => T): Promise<T> {
    const deadline = performance.now() + this.busyRetryMs;
    let delayMs = 2;
    for (;;) {
      this.appended = [];
      try {
        const value = this.guard(operation, () => {
          const s = this.s();
          return this.db.transaction(() => fn(s)).immediate();
        });
        const appended = this.appended;
        this.appended = [];
        this.committed.emit(appended);
        return value;
      } catch (err) {
        this.appended = [];
        const left = deadline - performance.now();
        if (!(err instanceof TransientStoreError) || left <= 0 || this.closed) throw err;
        this.onBusyRetry?.(operation);
        await sleep(Math.min(delayMs, left));
        delayMs = Math.min(delayMs * 2, 100);
      }
    }
  }
}

interface Extras {
  settings: SqliteSettings;
  media: SqliteMediaQueue;
  log: SqliteChangeLog;
  webhooks: SqliteWebhooks;
  instances: SqliteInstances;
}
