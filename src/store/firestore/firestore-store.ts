import { performance } from 'node:perf_hooks';
import {
  FieldPath,
  FieldValue,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
  type QuerySnapshot,
} from 'firebase-admin/firestore';
import { accountChangeEvent, changedMessageFields, loggedMessage, type ChangeEvent } from '../../domain/change-events.js';
import { BadRequestError, ConflictError, LeaseLostError, NotFoundError, StoreError } from '../../domain/errors.js';
import type { Mutation } from '../../domain/mutations.js';
import type {
  AccountPatch,
  AccountRecord,
  HistorySyncResult,
  MediaArchiveFields,
  MessageRecord,
  ThreadRecord,
} from '../../domain/records.js';
import { isThreadOf, threadIdOf } from '../../domain/thread-id.js';
import type { Logger } from '../../logging/logger.js';
import type { CursorKey } from '../cursor.js';
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
  ScannedMessage,
  SortOrder,
  Store,
  StoreHealth,
} from '../port.js';
import { acquiredLease, canAcquire, canRelease, canRenew, fenceRefusal, releasedState, type LeaseState } from '../lease-rules.js';
import { assertInstanceId, assertInstanceRecord, type InstanceRecord } from '../instances.js';
import { applyMutationsFirestore } from './apply-mutations.js';
import { Committer, type CommitterOptions, type WriteGroup, type WriteOp } from './batching.js';
import {
  accountFieldsToDoc,
  bytesOrNull,
  docToAccount,
  docToMessage,
  docToThread,
  mediaArchiveFieldsToDoc,
  sortKey,
  toTimestamp,
} from './documents.js';
import { compareAndSet } from './compare-and-set.js';
import { GRPC_ALREADY_EXISTS, GRPC_NOT_FOUND, grpcCodeOf, storeClosedError, toStoreError } from './errors.js';
import { leaseFields, readLease } from './leases.js';
import { FirestoreInstances } from './instances.js';
import { COLLECTIONS, isValidDocId } from './paths.js';
import { Refs, getAllByPath } from './refs.js';
import { FirestoreMediaQueue } from './media-queue.js';
import { FirestoreSettings } from './settings.js';
import { FirestoreChangeLog } from './change-log.js';
import { FirestoreWebhooks } from './webhooks.js';
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

export interface FirestoreStoreOptions {
  firestore: Firestore;
  logger?: Logger;
  /** Clock for bookkeeping timestamps (`updatedAt`, thread `createdAt`…); tests pin it. */
  now?: () => number;
  /** Batch cutting, pacing and retry; every part has a production default. */
  batching?: Partial<CommitterOptions>;
  /** Runs once on `close()`: `openFirestoreStore` deletes the firebase-admin App it created. */
  onClose?: () => Promise<void>;
  /** `false` writes no change log (benchmarks measure what it costs); wasync itself always keeps it. */
  changeLog?: boolean;
}

/** Purges and auth-state clears read documents to delete in pages of this size. */
const DELETE_PAGE = 500;
/** A batch holds at most 500 writes; a fenced one also stamps the fence. */
const FENCED_WRITES_PER_BATCH = 499;

/**
 * The Cloud Firestore backend of the store port, on the runbook's collections (README, Data model; docs/firestore.md):
 * `accounts/{accountId}`, `threads/{accountId}__{clientJid}`, `threads/{threadId}/messages/{messageId}`,
 * `inboundDedupe/{accountId}__{messageId}`, plus server-only `outboundIndex`, `wasyncAuth` and
 * `wasyncPrivate`.
 */
export class FirestoreStore implements Store {
  readonly backend = 'firestore' as const;
  readonly db: Firestore;
  private readonly refs: Refs;
  private readonly committer: Committer;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private readonly onClose: (() => Promise<void>) | undefined;
  private readonly settings: FirestoreSettings;
  private readonly media: FirestoreMediaQueue;
  private readonly log: FirestoreChangeLog;
  private readonly webhooks: FirestoreWebhooks;
  private readonly logging: boolean;
  private readonly committed = new CommitListeners();
  private readonly instances: FirestoreInstances;
  private closed = false;

  constructor(options: FirestoreStoreOptions) {
    this.db = options.firestore;
    this.refs = new Refs(this.db);
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.onClose = options.onClose;
    this.settings = new FirestoreSettings(this.db);
    this.media = new FirestoreMediaQueue(this.db);
    this.logging = options.changeLog ?? true;
    this.log = new FirestoreChangeLog(this.db, this.now, options.logger, (accountId) => this.committed.emit([accountId]));
    this.webhooks = new FirestoreWebhooks(this.db);
    this.instances = new FirestoreInstances(this.db);
    this.committer = new Committer(this.db, { now: this.now, ...(options.logger ? { logger: options.logger } : {}), ...options.batching });
  }

  /** Nothing to migrate: a read proves the project is reachable and the credentials work. */
  async init(): Promise<void> {
    await this.guard('init', () => this.refs.healthProbe().get());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.log.close();
    await this.onClose?.();
  }

  async health(): Promise<StoreHealth> {
    const started = performance.now();
    try {
      await this.guard('health', () => this.refs.healthProbe().get());
      return { status: 'ok', backend: 'firestore', latencyMs: performance.now() - started };
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      return { status: 'error', backend: 'firestore', latencyMs: performance.now() - started, detail };
    }
  }

  // ------------------------------------------------------------------ mutations

  async applyMutations(accountId: string, mutations: readonly Mutation[]): Promise<ApplyResult> {
    return this.guard('applyMutations', () =>
      applyMutationsFirestore(
        {
          db: this.db,
          refs: this.refs,
          committer: this.committer,
          log: this.logging ? this.log : null,
          now: this.now(),
          ...(this.logger ? { logger: this.logger } : {}),
        },
        accountId,
        mutations,
      ),
    );
  }

  // ------------------------------------------------------------------ messages

  /**
   * Messages live under their thread, so the id alone does not address one. Lookup order: the chat
   * JID hint, then the index entry (`inboundDedupe` / `outboundIndex`) every message we write has,
   * then a collection-group query for documents written by another writer without an index entry.
   * The hint and both index entries are read in one round trip.
   */
  async getMessage(accountId: string, messageId: string, clientJid?: string | null): Promise<MessageRecord | null> {
    return this.guard('getMessage', async () => {
      const snap = await this.findMessage(accountId, messageId, clientJid ?? null);
      return snap ? docToMessage(messageId, snap.data() ?? {}) : null;
    });
  }

  /**
   * Only the archive's fields, as a field update of the message document: ingest's writes (a merge of
   * the whole record read before) and this one never overwrite each other's fields. A message moved
   * by a LID merge between the lookup and the update is looked up once more.
   */
  async recordMediaArchive(accountId: string, messageId: string, clientJid: string | null, f: MediaArchiveFields): Promise<boolean> {
    return this.guard('recordMediaArchive', async () => {
      for (let attempt = 0; attempt < 2; attempt++) {
        const snap = await this.findMessage(accountId, messageId, clientJid);
        if (!snap) return false;
        try {
          const previous = docToMessage(messageId, snap.data() ?? {});
          const message: MessageRecord = { ...previous, ...f };
          const changes = changedMessageFields(previous, message);
          const threadId = snap.ref.parent.parent?.id;
          if (!this.logging || changes.length === 0 || threadId === undefined) {
            await snap.ref.update(mediaArchiveFieldsToDoc(f));
            return true;
          }
          // The archive's result is a `message.updated`, in the same commit as the fields.
          await this.committer.commitLogged(
            'recordMediaArchive',
            [
              {
                ops: [{ type: 'update', ref: snap.ref, data: mediaArchiveFieldsToDoc(f) }],
                events: [{ type: 'message.updated', data: { threadId, message: loggedMessage(message), changes } }],
              },
            ],
            { accountId, writer: this.log },
          );
          return true;
        } catch (err) {
          const cause = err instanceof Error ? err.cause : undefined;
          if (grpcCodeOf(err) !== GRPC_NOT_FOUND && grpcCodeOf(cause) !== GRPC_NOT_FOUND) throw err;
        }
      }
      return false;
    });
  }

  /**
   * Messages live under their thread, so the id alone does not address one. Lookup order: the chat
   * JID hint, then the index entry (`inboundDedupe` / `outboundIndex`) every message we write has,
   * then a collection-group query for documents written by another writer without an index entry.
   * The hint and both index entries are read in one round trip.
   */
  private async findMessage(accountId: string, messageId: string, clientJid: string | null): Promise<DocumentSnapshot | null> {
    if (!isValidDocId(accountId) || !isValidDocId(messageId)) return null;
    const hinted =
      clientJid && isValidDocId(threadIdOf(accountId, clientJid)) ? this.refs.message(threadIdOf(accountId, clientJid), messageId) : null;
    const inbound = this.refs.inboundDedupe(accountId, messageId);
    const outbound = this.refs.outboundIndex(accountId, messageId);
    const snaps = await getAllByPath(this.db, hinted ? [hinted, inbound, outbound] : [inbound, outbound]);
    const hit = hinted ? snaps.get(hinted.path) : undefined;
    if (hit?.exists) return hit;

    for (const index of [snaps.get(inbound.path), snaps.get(outbound.path)]) {
      const threadId = index?.exists ? index.get('threadId') : undefined;
      if (typeof threadId !== 'string' || !isValidDocId(threadId) || threadId === hinted?.parent.parent?.id) continue;
      const snap = await this.refs.message(threadId, messageId).get();
      if (snap.exists) return snap;
    }

    // Needs the collection-group index in firestore.indexes.json.
    const group = await this.db
      .collectionGroup(COLLECTIONS.messages)
      .where('accountId', '==', accountId)
      .where('waMessageId', '==', messageId)
      .limit(10)
      .get();
    return group.docs.find((d) => d.id === messageId) ?? null;
  }

  async listMessages(accountId: string, threadId: string, opts: ListOptions): Promise<Page<MessageRecord>> {
    return this.guard('listMessages', async () => {
      const { limit, order, after } = pageRequest(opts);
      // A thread id embeds its account: another account's thread is simply not there for this one.
      if (!isThreadOf(accountId, threadId) || !isValidDocId(threadId)) return { items: [], nextCursor: null };
      const query = keysetQuery(this.refs.messages(threadId), 'sortKey', order, after, limit + 1);
      const snap = await query.get();
      const items = snap.docs.map((d) => docToMessage(d.id, d.data())).filter((m) => m.accountId === accountId);
      return toPage(items, limit, (m) => ({ ts: m.createdAt, id: m.id }));
    });
  }

  /**
   * The account's threads by document id (the `accountId` equality and the implicit `__name__` order
   * need no composite index), and each thread's messages by `sortKey`, as `listMessages` reads them.
   * A page may span threads: it reads on until it holds `limit + 1` messages or the threads run out.
   */
  async scanMessages(accountId: string, opts: MessageScanOptions): Promise<MessageScanPage> {
    return this.guard('scanMessages', async () => {
      const { limit, threadId, since, after } = scanRequest(opts);
      const fetch = limit + 1;
      const items: ScannedMessage[] = [];
      const sinceKey = since === Number.MIN_SAFE_INTEGER ? null : sortKey(since, '');
      const readThread = async (tid: string, from: { ts: number; id: string } | null): Promise<void> => {
        let q: Query = this.refs.messages(tid);
        const fromKey = from ? sortKey(from.ts, from.id) : null;
        if (fromKey !== null && (sinceKey === null || fromKey >= sinceKey)) q = q.where('sortKey', '>', fromKey);
        else if (sinceKey !== null) q = q.where('sortKey', '>=', sinceKey);
        else q = q.where('sortKey', '>', '');
        const snap = await q
          .orderBy('sortKey')
          .limit(fetch - items.length)
          .get();
        for (const d of snap.docs) {
          const message = docToMessage(d.id, d.data());
          if (message.accountId === accountId) items.push({ threadId: tid, message });
        }
      };
      if (threadId !== null) {
        if (!isThreadOf(accountId, threadId) || !isValidDocId(threadId) || (after && after.threadId > threadId)) {
          return { items: [], next: null };
        }
        await readThread(threadId, after?.threadId === threadId ? after : null);
      } else {
        let current: string | null = null;
        if (after && isThreadOf(accountId, after.threadId) && isValidDocId(after.threadId)) {
          await readThread(after.threadId, after);
          current = after.threadId;
        }
        while (items.length < fetch) {
          let q: Query = this.refs.threads().where('accountId', '==', accountId).orderBy(FieldPath.documentId());
          if (current !== null) q = q.startAfter(current);
          const threads = await q.select().limit(100).get();
          if (threads.empty) break;
          for (const t of threads.docs) {
            current = t.id;
            await readThread(t.id, null);
            if (items.length >= fetch) break;
          }
        }
      }
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      const next = items.length > limit && last ? { threadId: last.threadId, ts: last.message.createdAt, id: last.message.id } : null;
      return { items: page, next };
    });
  }

  /**
   * Every message we write has exactly one index entry (`inboundDedupe` for inbound, `outboundIndex`
   * for outbound), written in the same commit: two count aggregations instead of a collection-group
   * count, which would also count other writers' messages that `listMessages` does not list.
   */
  async countMessages(accountId: string): Promise<number> {
    return this.guard('countMessages', async () => {
      const [inbound, outbound] = await Promise.all([
        this.db.collection(COLLECTIONS.inboundDedupe).where('accountId', '==', accountId).count().get(),
        this.db.collection(COLLECTIONS.outboundIndex).where('accountId', '==', accountId).count().get(),
      ]);
      return inbound.data().count + outbound.data().count;
    });
  }

  // ------------------------------------------------------------------ threads

  async getThread(accountId: string, threadId: string): Promise<ThreadRecord | null> {
    return this.guard('getThread', async () => {
      if (!isValidDocId(threadId)) return null;
      const snap = await this.refs.thread(threadId).get();
      if (!snap.exists) return null;
      const thread = docToThread(threadId, snap.data() ?? {});
      return thread.accountId === accountId ? thread : null;
    });
  }

  async listThreads(accountId: string, opts: ListOptions): Promise<Page<ThreadRecord>> {
    return this.guard('listThreads', async () => {
      const { limit, order, after } = pageRequest(opts);
      const base = this.refs.threads().where('accountId', '==', accountId);
      const snap = await keysetQuery(base, 'lastMessageSortKey', order, after, limit + 1).get();
      const items = snap.docs.map((d) => docToThread(d.id, d.data()));
      return toPage(items, limit, (t) => ({ ts: t.lastMessageAt ?? 0, id: t.id }));
    });
  }

  async setThreadBackfilledAt(accountId: string, threadId: string, at: number): Promise<void> {
    await this.guard('setThreadBackfilledAt', async () => {
      if (!isThreadOf(accountId, threadId) || !isValidDocId(threadId)) return;
      try {
        await this.refs.thread(threadId).update({ lastBackfillAt: toTimestamp(at), updatedAt: toTimestamp(this.now()) });
      } catch (err) {
        if (grpcCodeOf(err) !== GRPC_NOT_FOUND) throw err;
      }
    });
  }

  async listJidMappings(accountId: string): Promise<Array<{ lid: string; pn: string }>> {
    return this.guard('listJidMappings', async () => {
      if (!isValidDocId(accountId)) return [];
      const snap = await this.refs.lidMappings(accountId).get();
      return snap.docs
        .map((d) => ({ lid: String(d.get('lid') ?? d.id), pn: String(d.get('pn') ?? '') }))
        .sort((a, b) => (a.lid < b.lid ? -1 : a.lid > b.lid ? 1 : 0));
    });
  }

  // ------------------------------------------------------------------ accounts

  async createAccount(account: AccountRecord): Promise<AccountRecord> {
    return this.guard('createAccount', async () => {
      assertAccountId(account.id);
      const now = this.now();
      const record: AccountRecord = {
        ...stripUndefined(account),
        createdAt: account.createdAt ?? now,
        updatedAt: account.updatedAt ?? now,
      };
      try {
        await this.refs.account(account.id).create(accountFieldsToDoc(record));
      } catch (err) {
        if (grpcCodeOf(err) === GRPC_ALREADY_EXISTS) throw new ConflictError(`account ${account.id} already exists`);
        throw err;
      }
      return record;
    });
  }

  async getAccount(accountId: string): Promise<AccountRecord | null> {
    return this.guard('getAccount', async () => {
      if (!isValidDocId(accountId)) return null;
      const snap = await this.refs.account(accountId).get();
      return snap.exists ? docToAccount(accountId, snap.data() ?? {}) : null;
    });
  }

  /** All accounts (a deployment has dozens), ordered as SQLite orders them: createdAt, then id. */
  async listAccounts(): Promise<AccountRecord[]> {
    return this.guard('listAccounts', async () => {
      const snap = await this.refs.accounts().get();
      return snap.docs
        .map((d) => docToAccount(d.id, d.data()))
        .sort((a, b) => {
          const at = a.createdAt ?? Number.NEGATIVE_INFINITY;
          const bt = b.createdAt ?? Number.NEGATIVE_INFINITY;
          if (at !== bt) return at < bt ? -1 : 1;
          return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
        });
    });
  }

  /**
   * `update()` rather than a merge: it fails on a missing document, which is the NotFoundError. A
   * fenced patch is checked against the account's fence in the same commit (`fencedCommit`), its
   * change-log entries included.
   */
  async patchAccount(accountId: string, patch: AccountPatch, events: readonly ChangeEvent[] = [], fence?: LeaseFence): Promise<void> {
    await this.guard('patchAccount', async () => {
      assertAccountId(accountId);
      const fields = accountFieldsToDoc(patch);
      fields.updatedAt = toTimestamp(patch.updatedAt ?? this.now());
      const derived = accountChangeEvent(patch);
      const logged = derived ? [derived, ...events] : events;
      if (!fence) {
        await this.updateAccount('patchAccount', accountId, fields, logged);
        return;
      }
      await this.fencedCommit(accountId, fence, [{ type: 'update', ref: this.refs.account(accountId), data: fields }], logged);
    });
  }

  async recordHistorySync(accountId: string, result: HistorySyncResult, at: number, events: readonly ChangeEvent[] = []): Promise<void> {
    await this.guard('recordHistorySync', async () => {
      assertAccountId(accountId);
      await this.updateAccount(
        'recordHistorySync',
        accountId,
        {
          historySyncCount: FieldValue.increment(result.saved),
          lastHistorySyncAt: toTimestamp(at),
          lastHistorySyncResult: { ...result },
          updatedAt: toTimestamp(this.now()),
        },
        events,
      );
    });
  }

  /** An account update, with the change-log batch it causes in the same commit. */
  private async updateAccount(
    operation: string,
    accountId: string,
    fields: Record<string, unknown>,
    events: readonly ChangeEvent[],
  ): Promise<void> {
    try {
      if (events.length === 0 || !this.logging) {
        await this.refs.account(accountId).update(fields);
        return;
      }
      await this.committer.commitLogged(
        operation,
        [{ ops: [{ type: 'update', ref: this.refs.account(accountId), data: fields }], events }],
        {
          accountId,
          writer: this.log,
        },
      );
    } catch (err) {
      const cause = err instanceof Error ? err.cause : undefined;
      if (grpcCodeOf(err) === GRPC_NOT_FOUND || grpcCodeOf(cause) === GRPC_NOT_FOUND) {
        throw new NotFoundError(`account ${accountId} not found`);
      }
      throw err;
    }
  }

  /**
   * Removes the account document, its auth state and its private data (JID mappings, kept
   * receipts); with `purge`, its threads, their messages and the messages' index entries too.
   * Deletes go through the batching committer (≤500 per commit, paced).
   */
  async deleteAccount(accountId: string, opts: { purge: boolean }): Promise<void> {
    await this.guard('deleteAccount', async () => {
      if (!isValidDocId(accountId)) return;
      await this.deleteAll('deleteAccount', this.refs.lidMappings(accountId));
      await this.deleteAll('deleteAccount', this.refs.pendingReceipts(accountId));
      await this.deleteAll('deleteAccount', this.media.accountJobs(accountId));
      await this.clearAuth(accountId);
      await this.refs.fence(accountId).delete();
      if (opts.purge) {
        await this.log.purge(accountId, (refs) => this.deleteRefs('deleteAccount', refs));
        const threads = await this.refs.threads().where('accountId', '==', accountId).get();
        for (const thread of threads.docs) {
          await this.deleteAll('deleteAccount', this.refs.messages(thread.id));
        }
        await this.deleteDocs('deleteAccount', threads);
        // Index entries last, each with the message it names: that also reaches a message whose
        // thread document is gone (a LID merge interrupted between its commits).
        for (const index of [COLLECTIONS.inboundDedupe, COLLECTIONS.outboundIndex]) {
          await this.deleteAll('deleteAccount', this.db.collection(index).where('accountId', '==', accountId), (d) => {
            const threadId = d.get('threadId');
            const messageId = d.get('messageId');
            return typeof threadId === 'string' && typeof messageId === 'string' && isValidDocId(threadId) && isValidDocId(messageId)
              ? [this.refs.message(threadId, messageId)]
              : [];
          });
        }
      }
      await this.refs.account(accountId).delete();
    });
  }

  // ------------------------------------------------------------------ auth state

  async readAuthCreds(accountId: string): Promise<Uint8Array | null> {
    return this.guard('readAuthCreds', async () => {
      if (!isValidDocId(accountId)) return null;
      const snap = await this.refs.authCreds(accountId).get();
      return snap.exists ? bytesOrNull(snap.get('creds')) : null;
    });
  }

  async writeAuthCreds(accountId: string, data: Uint8Array, fence?: LeaseFence): Promise<void> {
    await this.guard('writeAuthCreds', async () => {
      assertAccountId(accountId);
      const ref = this.refs.authCreds(accountId);
      const doc = { accountId, creds: data, updatedAt: toTimestamp(this.now()) };
      if (fence) await this.fencedCommit(accountId, fence, [{ type: 'set', ref, data: doc, merge: false }]);
      else await ref.set(doc);
    });
  }

  async readAuthKeys(accountId: string, type: string, ids: readonly string[]): Promise<Map<string, Uint8Array>> {
    return this.guard('readAuthKeys', async () => {
      const out = new Map<string, Uint8Array>();
      if (ids.length === 0 || !isValidDocId(accountId)) return out;
      const snaps = await getAllByPath(
        this.db,
        ids.map((id) => this.refs.authKey(accountId, type, id)),
      );
      for (const id of ids) {
        const snap = snaps.get(this.refs.authKey(accountId, type, id).path);
        const value = snap?.exists ? bytesOrNull(snap.get('value')) : null;
        if (value !== null) out.set(id, value);
      }
      return out;
    });
  }

  /**
   * All-or-nothing up to 500 keys (one commit; 499 when fenced). Baileys writes more only
   * when it generates its initial pre-keys; those go in several commits, and a failure part-way is
   * retried whole.
   */
  async writeAuthKeys(accountId: string, writes: readonly AuthKeyWrite[], fence?: LeaseFence): Promise<void> {
    await this.guard('writeAuthKeys', async () => {
      assertAccountId(accountId);
      const ops: WriteOp[] = writes.map((w) => {
        const ref = this.refs.authKey(accountId, w.type, w.id);
        return w.value === null
          ? { type: 'delete', ref }
          : { type: 'set', ref, data: { type: w.type, id: w.id, value: w.value }, merge: false };
      });
      if (fence) await this.fencedCommit(accountId, fence, ops);
      else
        await this.committer.commit(
          'writeAuthKeys',
          ops.map((op) => [op]),
        );
    });
  }

  async clearAuthState(accountId: string, fence?: LeaseFence): Promise<void> {
    await this.guard('clearAuthState', async () => {
      if (!isValidDocId(accountId)) return;
      await this.clearAuth(accountId, fence);
    });
  }

  /** Page by page; fenced, each page is deleted in one batch checked against the fence (`fencedCommit`). */
  private async clearAuth(accountId: string, fence?: LeaseFence): Promise<void> {
    if (!fence) {
      await this.deleteAll('clearAuthState', this.refs.authKeys(accountId));
      await this.refs.authCreds(accountId).delete();
      return;
    }
    for (;;) {
      const page = await this.refs.authKeys(accountId).limit(FENCED_WRITES_PER_BATCH).get();
      const last = page.size < FENCED_WRITES_PER_BATCH;
      const ops: WriteOp[] = page.docs.map((d) => ({ type: 'delete', ref: d.ref }));
      if (last) ops.push({ type: 'delete', ref: this.refs.authCreds(accountId) });
      await this.fencedCommit(accountId, fence, ops);
      if (last) return;
    }
  }

  /**
   * Writes `ops` in batches of at most 499 writes, each checked against the account's fence
   * (`wasyncFences/{accountId}`: the owner lease's holder and epoch, written by every acquisition)
   * and refused with `LeaseLostError` when a newer epoch holds it. The check and the writes are one
   * compare-and-set on the fence document (`compareAndSet`): each batch also stamps the fence,
   * guarded by the update time read with the epoch, so an acquisition landing in between fails the
   * batch, which is then read again and refused. The fence is a document of its own so that fenced
   * writes race only with changes of owner, not with the account document's renewals and patches.
   */
  private async fencedCommit(
    accountId: string,
    fence: LeaseFence,
    ops: readonly WriteOp[],
    events: readonly ChangeEvent[] = [],
  ): Promise<void> {
    if (events.length > 0 && this.logging) {
      // The change-log documents go in the fenced batch: a refused patch logs nothing, an accepted
      // one is announced (one batch: the patches that carry events are a single update).
      if (ops.length + 1 > FENCED_WRITES_PER_BATCH) throw new StoreError('a fenced write with events must fit one batch');
      await this.log.append(accountId, events, (feedOps) => this.fencedBatch(accountId, fence, [...ops, ...feedOps]));
      return;
    }
    for (let i = 0; i === 0 || i < ops.length; i += FENCED_WRITES_PER_BATCH) {
      await this.fencedBatch(accountId, fence, ops.slice(i, i + FENCED_WRITES_PER_BATCH));
    }
  }

  private async fencedBatch(accountId: string, fence: LeaseFence, chunk: readonly WriteOp[]): Promise<void> {
    const ref = this.refs.fence(accountId);
    await compareAndSet(this.db, ref, (snap) => {
      const current = snap.exists ? fenceState(snap.get('holder'), snap.get('epoch')) : null;
      const refusal = fenceRefusal(accountId, current, fence);
      if (refusal) throw new LeaseLostError(refusal);
      return {
        result: undefined,
        writes: (batch, guard) => {
          for (const op of chunk) {
            if (op.type === 'set') batch.set(op.ref, op.data, { merge: op.merge });
            else if (op.type === 'create') batch.create(op.ref, op.data);
            else if (op.type === 'update') batch.update(op.ref, op.data);
            else batch.delete(op.ref);
          }
          batch.update(ref, { checkedAt: toTimestamp(this.now()) }, guard);
        },
      };
    });
  }

  // ------------------------------------------------------------------ leases

  /**
   * Read-check-write as one compare-and-set on the account document (`compareAndSet`: no lock held,
   * so an instance killed mid-renewal blocks nobody's takeover): of concurrent acquisitions exactly
   * one commits, the others read again and find the holder (proven on Google's emulator, see
   * docs/firestore.md, Leases). The owner lease also writes its fence in the same batch.
   */
  async acquireLease(
    accountId: string,
    name: LeaseName,
    holder: string,
    ttlMs: number,
    now: number,
    opts: AcquireLeaseOptions = {},
  ): Promise<Lease | null> {
    return this.guard('acquireLease', async () => {
      if (!isValidDocId(accountId)) throw new NotFoundError(`account ${accountId} not found`);
      const ref = this.refs.account(accountId);
      return compareAndSet(this.db, ref, (snap) => {
        if (!snap.exists) throw new NotFoundError(`account ${accountId} not found`);
        const current = readLease(snap.data() ?? {}, name);
        if (!canAcquire(current, holder, now, opts.steal)) return { result: null };
        const lease = acquiredLease(accountId, name, holder, ttlMs, now, current);
        return {
          result: lease,
          writes: (batch, guard) => {
            batch.update(ref, { ...leaseFields(name, lease), updatedAt: toTimestamp(this.now()) }, guard);
            if (name === 'owner') {
              batch.set(this.refs.fence(accountId), { accountId, holder, epoch: lease.epoch, updatedAt: toTimestamp(this.now()) });
            }
          },
        };
      });
    });
  }

  async renewLease(lease: Lease, ttlMs: number, now: number): Promise<Lease | null> {
    return this.guard('renewLease', async () => {
      if (!isValidDocId(lease.accountId)) return null;
      const ref = this.refs.account(lease.accountId);
      return compareAndSet(this.db, ref, (snap) => {
        if (!snap.exists) return { result: null };
        const current = readLease(snap.data() ?? {}, lease.name);
        if (!canRenew(current, lease)) return { result: null };
        const renewed: Lease = { ...lease, acquiredAt: current.acquiredAt ?? lease.acquiredAt, until: now + ttlMs };
        return {
          result: renewed,
          writes: (batch, guard) => batch.update(ref, { ...leaseFields(lease.name, renewed), updatedAt: toTimestamp(this.now()) }, guard),
        };
      });
    });
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.guard('releaseLease', async () => {
      if (!isValidDocId(lease.accountId)) return;
      const ref = this.refs.account(lease.accountId);
      await compareAndSet(this.db, ref, (snap) => {
        if (!snap.exists) return { result: undefined };
        const current = readLease(snap.data() ?? {}, lease.name);
        if (!canRelease(current, lease)) return { result: undefined };
        return {
          result: undefined,
          writes: (batch, guard) =>
            batch.update(ref, { ...leaseFields(lease.name, releasedState(current)), updatedAt: toTimestamp(this.now()) }, guard),
        };
      });
    });
  }

  // ------------------------------------------------------------------ instance registry (src/store/instances.ts)

  async putInstance(record: InstanceRecord): Promise<void> {
    assertInstanceRecord(record);
    await this.guard('putInstance', () => this.instances.put(record));
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return this.guard('listInstances', () => this.instances.list());
  }

  async deleteInstance(instanceId: string): Promise<void> {
    assertInstanceId(instanceId);
    await this.guard('deleteInstance', () => this.instances.delete(instanceId));
  }

  // ------------------------------------------------------------------ settings (src/store/settings.ts)

  async getSetting(key: string): Promise<SettingEntry | null> {
    assertSettingKey(key);
    return this.guard('getSetting', () => this.settings.get(key));
  }

  async putSetting(key: string, value: JsonValue): Promise<SettingEntry> {
    assertSettingKey(key);
    const json = encodeSettingValue(value);
    return this.guard('putSetting', () => this.settings.put(key, json, this.now()));
  }

  async deleteSetting(key: string): Promise<void> {
    assertSettingKey(key);
    await this.guard('deleteSetting', () => this.settings.delete(key));
  }

  // ------------------------------------------------------------------ media queue (src/store/media-queue.ts)

  async enqueueMediaJobs(jobs: readonly MediaJobInput[], now: number): Promise<number> {
    jobs.forEach(assertJobInput);
    if (jobs.length === 0) return 0;
    return this.guard('enqueueMediaJobs', () => this.media.enqueue(jobs, now));
  }

  async claimMediaJobs(accountId: string, opts: ClaimMediaJobsOptions): Promise<MediaJob[]> {
    assertClaimOptions(opts);
    if (!isValidDocId(accountId)) return [];
    return this.guard('claimMediaJobs', () => this.media.claim(accountId, opts));
  }

  async renewMediaJob(lease: MediaJobLease, leaseMs: number, now: number): Promise<boolean> {
    return this.guard('renewMediaJob', () => this.media.renewLease(lease, leaseMs, now));
  }

  async completeMediaJob(lease: MediaJobLease, result: MediaJobResult, now: number): Promise<boolean> {
    return this.guard('completeMediaJob', () => this.media.complete(lease, result, now));
  }

  async retryMediaJob(lease: MediaJobLease, error: string, retryAt: number, now: number): Promise<boolean> {
    return this.guard('retryMediaJob', () => this.media.retry(lease, error, retryAt, now));
  }

  async failMediaJob(lease: MediaJobLease, error: string, now: number): Promise<boolean> {
    return this.guard('failMediaJob', () => this.media.fail(lease, error, now));
  }

  async getMediaJob(accountId: string, messageId: string): Promise<MediaJob | null> {
    if (!isValidDocId(accountId) || !isValidDocId(messageId)) return null;
    return this.guard('getMediaJob', () => this.media.find(accountId, messageId));
  }

  async countMediaJobs(accountId: string): Promise<MediaJobCounts> {
    return this.guard('countMediaJobs', () => this.media.count(accountId));
  }

  // ------------------------------------------------------------------ change log (src/store/change-log.ts)

  async changeLogEpoch(): Promise<string> {
    return this.guard('changeLogEpoch', () => this.log.epochOf());
  }

  async readChanges(accountId: string, afterSeq: number | typeof FROM_OLDEST, limit: number): Promise<ChangePage> {
    assertChangePage(afterSeq, limit);
    if (!isValidDocId(accountId))
      return afterSeq === 0 || afterSeq === 'oldest' ? { status: 'ok', batches: [] } : { status: 'resync', reason: 'ahead' };
    return this.guard('readChanges', () => this.log.read(accountId, afterSeq, limit));
  }

  async changeLogHead(accountId: string): Promise<number> {
    if (!isValidDocId(accountId)) return 0;
    return this.guard('changeLogHead', () => this.log.head(accountId));
  }

  /** Accounts are few (dozens): one head query each, in parallel. */
  async changeLogHeads(): Promise<Map<string, number>> {
    return this.guard('changeLogHeads', async () => {
      const accounts = await this.refs.accounts().get();
      return this.log.heads(accounts.docs.map((d) => d.id));
    });
  }

  async appendChanges(accountId: string, events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.guard('appendChanges', async () => {
      assertAccountId(accountId);
      await this.updateAccount('appendChanges', accountId, { updatedAt: toTimestamp(this.now()) }, events);
    });
  }

  async pruneChanges(before: number): Promise<number> {
    return this.guard('pruneChanges', () => this.log.prune(before, (refs) => this.deleteRefs('pruneChanges', refs)));
  }

  onChangesCommitted(listener: (accountIds: readonly string[]) => void): () => void {
    return this.committed.add(listener);
  }

  watchChanges(onHint: (accountIds: readonly string[]) => void, onError: (err: unknown) => void): () => void {
    return this.log.watch(onHint, onError);
  }

  async useOnce(key: string, expiresAt: number): Promise<boolean> {
    assertOnceKey(key);
    return this.guard('useOnce', () => this.log.useOnce(key, expiresAt));
  }

  // ------------------------------------------------------------------ webhooks (src/store/webhooks.ts)

  async createWebhook(endpoint: WebhookEndpoint): Promise<WebhookEndpoint> {
    assertWebhookId(endpoint.id);
    return this.guard('createWebhook', () => this.webhooks.create(endpoint));
  }

  async getWebhook(id: string): Promise<WebhookEndpoint | null> {
    if (!isValidDocId(id)) return null;
    return this.guard('getWebhook', () => this.webhooks.find(id));
  }

  async listWebhooks(): Promise<WebhookEndpoint[]> {
    return this.guard('listWebhooks', () => this.webhooks.list());
  }

  async deleteWebhook(id: string): Promise<boolean> {
    if (!isValidDocId(id)) return false;
    return this.guard('deleteWebhook', () => this.webhooks.delete(id));
  }

  async updateWebhook(id: string, patch: WebhookPatch, opts: WebhookUpdateGuard): Promise<WebhookEndpoint | null> {
    if (!isValidDocId(id)) return null;
    return this.guard('updateWebhook', () => this.webhooks.update(id, patch, opts));
  }

  async acquireWebhookLease(id: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    if (!isValidDocId(id)) return false;
    return this.guard('acquireWebhookLease', () => this.webhooks.acquire(id, holder, ttlMs, now));
  }

  async releaseWebhookLease(id: string, holder: string): Promise<void> {
    if (!isValidDocId(id)) return;
    await this.guard('releaseWebhookLease', () => this.webhooks.release(id, holder));
  }

  // ------------------------------------------------------------------ plumbing

  private async deleteRefs(operation: string, refs: readonly DocumentReference[]): Promise<void> {
    await this.committer.commit(
      operation,
      refs.map((ref) => [{ type: 'delete' as const, ref }]),
    );
  }

  /**
   * Deletes every document a query returns, a page at a time, through the committer; `alsoDelete`
   * names documents that go in the same commit as each one.
   */
  private async deleteAll(
    operation: string,
    query: Query,
    alsoDelete?: (doc: QueryDocumentSnapshot) => DocumentReference[],
  ): Promise<void> {
    for (;;) {
      const snap = await query.limit(DELETE_PAGE).get();
      if (snap.empty) return;
      await this.deleteDocs(operation, snap, alsoDelete);
      if (snap.size < DELETE_PAGE) return;
    }
  }

  private async deleteDocs(
    operation: string,
    snap: QuerySnapshot,
    alsoDelete?: (doc: QueryDocumentSnapshot) => DocumentReference[],
  ): Promise<void> {
    const groups: WriteGroup[] = snap.docs.map((d) => [
      ...(alsoDelete?.(d) ?? []).map((ref) => ({ type: 'delete' as const, ref })),
      { type: 'delete' as const, ref: d.ref },
    ]);
    await this.committer.commit(operation, groups);
  }

  private async guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw storeClosedError();
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, operation);
    }
  }
}

/** The fence document as the lease rules read a lease (only holder and epoch matter to a fence). */
function fenceState(holder: unknown, epoch: unknown): LeaseState {
  return {
    holder: typeof holder === 'string' ? holder : null,
    epoch: typeof epoch === 'number' ? epoch : 0,
    until: null,
    acquiredAt: null,
  };
}

function assertAccountId(accountId: string): void {
  if (!isValidDocId(accountId))
    throw new BadRequestError(`account id ${JSON.stringify(accountId.slice(0, 80))} cannot be a Firestore document id`);
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Keyset page on a sort-key field: one range filter and one order on the same field. The first
 * page filters `> ''` so that documents without the field (threads with no message yet) are left
 * out on the emulator too, where an order alone would keep them.
 */
function keysetQuery(base: Query, field: string, order: SortOrder, after: CursorKey | null, fetch: number): Query {
  let q = base;
  if (after === null) q = q.where(field, '>', '');
  else q = q.where(field, order === 'asc' ? '>' : '<', sortKey(after.ts, after.id));
  return q.orderBy(field, order).limit(fetch);
}
