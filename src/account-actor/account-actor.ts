import { proto, generateMessageIDV2, jidNormalizedUser, type BaileysEventMap, type WAMessageKey } from '@whiskeysockets/baileys';
import type { Config } from '../config/index.js';
import { NotFoundError, WasyncError, isErrorCode, serializeError } from '../domain/errors.js';
import type { Mutation } from '../domain/mutations.js';
import {
  threadIdOf,
  type AccountPatch,
  type BackfillResult,
  type ConnectionStatus,
  type HistorySyncResult,
  type MediaRef,
  type MessageRecord,
  type SyncSource,
} from '../domain/records.js';
import {
  mapChats,
  mapContacts,
  mapHistorySet,
  mapLidMapping,
  mapMessagesUpdate,
  mapMessagesUpsert,
  mapReceipts,
  type IngestBatch,
  type IngestContext,
} from '../ingest/index.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import type { Connector, WaSocket } from '../connectors/types.js';
import { hasDownloadableMedia, isMediaCapable, mediaRefOf, storedMediaMessage } from '../connectors/baileys/media.js';
import { BatchWriter, type SubmitOutcome } from './batch-writer.js';
import { decideOnDisconnect, statusCodeOf } from './disconnect-policy.js';
import type {
  ActorEvent,
  ActorStatus,
  BackfillAnchor,
  BackfillCommand,
  MessageEventRecord,
  SendCommand,
  SendOutcome,
} from './protocol.js';
import { ThrottledPatch } from './throttled-patch.js';
import { resolveRecipient } from './recipient.js';

const ON_DEMAND = proto.HistorySync.HistorySyncType.ON_DEMAND;
const BACKFILL_RESPONSE_TIMEOUT_MS = 30_000;
/**
 * Baileys' `updateMediaMessage` waits for the phone's answer without a deadline (it gives up only when
 * the connection closes): an HTTP download waiting on it must not hang for that long.
 */
const MEDIA_REUPLOAD_TIMEOUT_MS = 30_000;

export interface AccountActorDeps {
  accountId: string;
  store: Store;
  connector: Connector;
  config: Config;
  logger: Logger;
  emit: (event: ActorEvent) => void;
  now?: () => number;
  /** How long a media re-upload request may wait for the phone (tests shorten it). */
  mediaReuploadTimeoutMs?: number;
}

interface BackfillWaiter {
  chatJid: string;
  resolve: (saved: number) => void;
  timer: NodeJS.Timeout;
}

/**
 * One WhatsApp account: its socket, its ingest pipeline and its batch writer. Runs inside the
 * account's worker thread (see worker-main.ts) but has no thread-specific code, so it is tested
 * in-process too. Events are mapped synchronously in arrival order and handed to the writer, which
 * keeps that order; the follow-up work (events to the supervisor, account fields) waits for the
 * commit without holding up the next event.
 */
export class AccountActor {
  private readonly d: AccountActorDeps;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly writer: BatchWriter;
  private readonly lidToPn = new Map<string, string>();
  private readonly realtimeDiag: ThrottledPatch;
  private socket: WaSocket | null = null;
  private connection: ConnectionStatus = 'created';
  private reason: string | null = null;
  private qr: string | null = null;
  private me: string | null = null;
  /** Our own PN and LID: ingest refuses LID pairings that would link someone else to them. */
  private ownJids: ReadonlySet<string> = new Set();
  private reconnectAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** A repair-and-retry was used in this connection streak (see retryAfterRepair); cleared when a connection opens. */
  private repairUsed = false;
  private stopped = false;
  private readonly backfillWaiters = new Map<string, BackfillWaiter>();
  /** Backfill runs waiting or running, by kind (`anchor/record`). */
  private readonly backfills = new Map<string, Promise<BackfillResult>>();
  private backfillTail: Promise<void> = Promise.resolve();
  private accountWrites: Promise<void> = Promise.resolve();

  constructor(deps: AccountActorDeps) {
    this.d = deps;
    this.log = deps.logger;
    this.now = deps.now ?? Date.now;
    this.writer = new BatchWriter({
      store: deps.store,
      accountId: deps.accountId,
      maxOps: deps.config.BATCH_MAX_OPS,
      flushMs: deps.config.BATCH_FLUSH_MS,
      dryRun: deps.config.WHATSAPP_HISTORY_SYNC_DRY_RUN,
      logger: deps.logger,
      onFlush: (s) => deps.emit({ type: 'flush', accountId: deps.accountId, ops: s.ops, durationMs: s.durationMs, failed: s.failed }),
    });
    this.realtimeDiag = new ThrottledPatch(
      (p) => deps.store.patchAccount(deps.accountId, p),
      1_000,
      (err) => this.reportError(err, 'realtime diagnostics'),
    );
  }

  status(): ActorStatus {
    return {
      accountId: this.d.accountId,
      connection: this.connection,
      reason: this.reason,
      qr: this.qr,
      me: this.me,
      pendingWrites: this.writer.pending,
      reconnectAttempts: this.reconnectAttempts,
    };
  }

  async start(): Promise<ActorStatus> {
    for (const { lid, pn } of await this.d.store.listJidMappings(this.d.accountId)) this.lidToPn.set(lid, pn);
    this.stopped = false;
    await this.connectOrRetry();
    return this.status();
  }

  async stop(opts: { logout: boolean; timeoutMs: number }): Promise<{ flushed: boolean }> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const sock = this.socket;
    this.socket = null;
    if (sock) {
      if (opts.logout) {
        await sock.logout().catch((err: unknown) => this.log.warn({ err: serializeError(err) }, 'logout failed'));
      }
      await Promise.resolve(sock.end(undefined)).catch(() => undefined);
    }
    const res = await this.writer.close(opts.timeoutMs);
    await this.realtimeDiag.flush();
    if (opts.logout) await this.wipeSession();
    await this.setConnection(opts.logout ? 'logged_out' : 'stopped', opts.logout ? 'logged out by the operator' : null);
    if (!res.flushed) this.log.error({ pending: res.pending }, 'shutdown flush timed out; unflushed writes are lost');
    return { flushed: res.flushed };
  }

  async regenerateQr(): Promise<ActorStatus> {
    // A fresh socket without creds asks WhatsApp for a new pairing reference, hence a new QR.
    if (this.socket) await Promise.resolve(this.socket.end(undefined)).catch(() => undefined);
    this.socket = null;
    await this.wipeSession();
    this.qr = null;
    this.stopped = false;
    await this.connectOrRetry();
    return this.status();
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    const sock = this.requireSocket();
    return sock.requestPairingCode(phoneNumber.replace(/\D/g, ''));
  }

  /**
   * Asks the phone to re-upload the media of a stored message (WhatsApp's CDN dropped it) and answers
   * with the new reference as plain data, for the download running on the HTTP side. The reference is
   * not stored: Baileys announces it as a `messages.update`, which ingest skips as a re-upload.
   */
  async updateMediaMessage(messageId: string): Promise<MediaRef> {
    const record = await this.d.store.getMessage(this.d.accountId, messageId);
    if (!record) throw new NotFoundError(`message ${messageId} not found`);
    if (!hasDownloadableMedia(record)) throw new WasyncError('MEDIA_UNAVAILABLE', `message ${messageId} has no downloadable media`);
    const sock = this.requireSocket();
    if (!isMediaCapable(sock)) {
      throw new WasyncError('MEDIA_UNAVAILABLE', `the ${this.d.connector.kind} connector cannot ask a phone to re-upload media`);
    }
    if (this.connection !== 'open') throw new WasyncError('NOT_CONNECTED', `account is ${this.connection}, not connected`);
    const timeoutMs = this.d.mediaReuploadTimeoutMs ?? MEDIA_REUPLOAD_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new WasyncError('ACTOR_TIMEOUT', `the phone did not answer the media re-upload request within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const updated = await Promise.race([sock.updateMediaMessage(storedMediaMessage(record)), deadline]);
      return mediaRefOf(updated);
    } catch (err) {
      if (err instanceof WasyncError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      // Baileys' wording for a phone that answered "no" (file deleted there, decryption error, …).
      if (/re-upload/i.test(message)) throw new WasyncError('MEDIA_UNAVAILABLE', `the phone could not re-upload the media: ${message}`);
      if (this.connection !== 'open') throw new WasyncError('NOT_CONNECTED', `the connection closed during the media re-upload request: ${message}`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stored as `queued` under the id it will be sent with before the connector sees it: a crash
   * between the two leaves a queued row that a retry with the same id completes, never a lost send.
   */
  async send(cmd: SendCommand): Promise<SendOutcome> {
    const sock = this.requireSocket();
    if (this.connection !== 'open') throw new WasyncError('NOT_CONNECTED', `account is ${this.connection}, not connected`);
    const clientJid = resolveRecipient(cmd.to, (lid) => this.lidToPn.get(lid));
    const messageId = cmd.messageId ?? generateMessageIDV2(this.me ?? undefined);
    const threadId = threadIdOf(this.d.accountId, clientJid);

    const existing = await this.d.store.getMessage(this.d.accountId, messageId);
    if (existing) {
      if (existing.direction !== 'outbound' || existing.clientJid !== clientJid) {
        throw new WasyncError('CONFLICT', `message id ${messageId} already belongs to another message`);
      }
      if (existing.status !== 'queued') {
        return { messageId, threadId, clientJid, status: existing.status };
      }
    }

    const now = this.now();
    const record = outboundRecord(this.d.accountId, clientJid, messageId, cmd.text, now);
    const queued = await this.writer.submit([{ kind: 'message', record }], { history: false });
    if (queued.errors > 0) throw new WasyncError('STORE_FAILED', `could not store the outbound message: ${queued.firstError ?? ''}`);
    this.emitMessages('outbound_api', queued);

    try {
      await sock.sendMessage(clientJid, { text: cmd.text }, { messageId });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await this.writer.submit([{ kind: 'message', record: { ...record, sendError: message } }], { history: false });
      throw new WasyncError('SEND_FAILED', `send failed (retry with messageId ${messageId}): ${message}`);
    }
    const stored = await this.d.store.getMessage(this.d.accountId, messageId);
    return { messageId, threadId, clientJid, status: stored?.status ?? 'queued' };
  }

  /**
   * Best-effort backfill of recent threads, one thread at a time (the phone answers slowly and
   * Firestore likes it calm). Anchored at each thread's oldest stored message it deepens the history
   * (manual and auto backfill); at its newest it re-fetches the recent window (recent sync).
   *
   * Runs never overlap: the phone's answers are matched to requests by chat when WhatsApp does not
   * echo the request id, so two runs asking about the same chat at once could swap answers. A request
   * of the kind already waiting or running shares that run instead of queueing a copy.
   */
  backfill(cmd: BackfillCommand): Promise<BackfillResult> {
    const anchor = cmd.anchor ?? 'oldest';
    const record = cmd.record ?? 'backfill';
    const kind = `${anchor}/${record}`;
    const pending = this.backfills.get(kind);
    if (pending) return pending;
    const run = this.backfillTail.then(() => this.runBackfill({ ...cmd, anchor, record }));
    const tracked = run.finally(() => {
      if (this.backfills.get(kind) === tracked) this.backfills.delete(kind);
    });
    this.backfills.set(kind, tracked);
    this.backfillTail = tracked.then(
      () => undefined,
      () => undefined,
    );
    return tracked;
  }

  private async runBackfill(cmd: Required<BackfillCommand>): Promise<BackfillResult> {
    const sock = this.requireSocket();
    this.log.info({ reason: cmd.reason, anchor: cmd.anchor }, 'Starting backfill for recent threads');
    const result: BackfillResult = { threads: 0, messages: 0, errors: 0, threadResults: [] };
    const page = await this.d.store.listThreads(this.d.accountId, { limit: cmd.threads, order: 'desc' });
    for (const thread of page.items) {
      try {
        const anchor = await this.anchorOf(thread.id, cmd.anchor);
        if (!anchor) continue;
        const key: WAMessageKey = { remoteJid: thread.clientJid, id: anchor.id, fromMe: anchor.fromMe };
        if (thread.lidJid) key.remoteJidAlt = thread.lidJid;
        const saved = await this.awaitOnDemand(thread.clientJid, () =>
          sock.fetchMessageHistory(cmd.count, key, Math.floor(anchor.createdAt / 1000)),
        );
        if (cmd.record === 'backfill') await this.d.store.setThreadBackfilledAt(this.d.accountId, thread.id, this.now());
        result.threads += 1;
        result.messages += saved;
        result.threadResults.push({ threadId: thread.id, messages: saved });
      } catch (err) {
        result.errors += 1;
        result.threadResults.push({ threadId: thread.id, messages: 0, error: err instanceof Error ? err.message : String(err) });
      }
    }
    const at = this.now();
    await this.d.store.patchAccount(
      this.d.accountId,
      cmd.record === 'backfill' ? { lastBackfillAt: at, lastBackfillResult: result } : { lastRecentSyncAt: at, lastRecentSyncResult: result },
    );
    this.log.info({ reason: cmd.reason, threads: result.threads, messages: result.messages, errors: result.errors }, 'Backfill complete');
    this.d.emit({ type: 'backfill', accountId: this.d.accountId, reason: cmd.reason, record: cmd.record, result });
    return result;
  }

  /**
   * The newest end skips our own sends still queued or failed: the phone may never have seen them,
   * and an id it does not know is a poor anchor for its history.
   */
  private async anchorOf(threadId: string, end: BackfillAnchor): Promise<MessageRecord | undefined> {
    if (end === 'oldest') return (await this.d.store.listMessages(this.d.accountId, threadId, { limit: 1, order: 'asc' })).items[0];
    const newest = await this.d.store.listMessages(this.d.accountId, threadId, { limit: 10, order: 'desc' });
    return newest.items.find((m) => !(m.syncSource === 'outbound_api' && (m.status === 'queued' || m.sendError !== null))) ?? newest.items[0];
  }

  private async awaitOnDemand(chatJid: string, request: () => Promise<string>): Promise<number> {
    const requestId = await request();
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.backfillWaiters.delete(requestId);
        reject(new WasyncError('ACTOR_TIMEOUT', 'the phone did not answer the history request in time'));
      }, BACKFILL_RESPONSE_TIMEOUT_MS);
      timer.unref?.();
      this.backfillWaiters.set(requestId, { chatJid, resolve, timer });
    });
  }

  /** A creds write still in flight must not land after the wipe and bring a dead session back. */
  private async wipeSession(): Promise<void> {
    await this.d.connector.settled?.(this.d.accountId);
    await this.d.store.clearAuthState(this.d.accountId);
  }

  private requireSocket(): WaSocket {
    if (!this.socket) throw new WasyncError('NOT_CONNECTED', `account is ${this.connection}, not connected`);
    return this.socket;
  }

  private async connect(): Promise<void> {
    await this.setConnection('connecting', null);
    const sock = await this.d.connector.connect({ accountId: this.d.accountId, store: this.d.store, logger: this.log });
    this.socket = sock;
    this.wire(sock);
  }

  /** A failed connection attempt goes through the same policy as a closed socket. */
  private async connectOrRetry(): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      this.reportError(err, 'connect');
      if (!this.failOnFatal(err)) this.onClose(err);
    }
  }

  /** A wrong AUTH_STATE_KEY cannot heal by retrying: stop and say so instead of looping. */
  private failOnFatal(err: unknown): boolean {
    if (!isErrorCode(err, 'AUTH_STATE_KEY_INVALID')) return false;
    this.stopped = true;
    void this.setConnection('failed', err instanceof Error ? err.message : String(err));
    return true;
  }

  private wire(sock: WaSocket): void {
    const ev = sock.ev;
    const guard =
      <T>(name: string, fn: (data: T) => void) =>
      (data: T) => {
        if (this.socket !== sock) return; // a replaced socket's late events must not land
        try {
          fn(data);
        } catch (err) {
          this.reportError(err, name);
        }
      };
    ev.on('connection.update', guard('connection.update', (u) => this.onConnectionUpdate(sock, u)));
    ev.on('messaging-history.set', guard('messaging-history.set', (d) => this.onHistorySet(d)));
    ev.on('messages.upsert', guard('messages.upsert', (d) => this.ingest(mapMessagesUpsert(d, this.ctx('realtime')), 'realtime')));
    ev.on('messages.update', guard('messages.update', (d) => this.ingest(mapMessagesUpdate(d, this.ctx('realtime')), 'realtime')));
    ev.on('message-receipt.update', guard('message-receipt.update', (d) => this.ingest(mapReceipts(d, this.ctx('realtime')), 'realtime')));
    ev.on('contacts.upsert', guard('contacts.upsert', (d) => this.ingest(mapContacts(d, this.ctx('realtime')), 'meta')));
    ev.on('contacts.update', guard('contacts.update', (d) => this.ingest(mapContacts(d, this.ctx('realtime')), 'meta')));
    ev.on('chats.upsert', guard('chats.upsert', (d) => this.ingest(mapChats(d, this.ctx('realtime')), 'meta')));
    ev.on('chats.update', guard('chats.update', (d) => this.ingest(mapChats(d, this.ctx('realtime')), 'meta')));
    ev.on('lid-mapping.update', guard('lid-mapping.update', (d) => this.ingest(mapLidMapping(d, this.ctx('realtime')), 'meta')));
  }

  private ctx(source: SyncSource, syncType?: number | null): IngestContext {
    return {
      accountId: this.d.accountId,
      now: this.now(),
      source,
      syncType: syncType ?? null,
      resolver: { pnForLid: (lid: string) => this.lidToPn.get(lid) },
      ownJids: this.ownJids,
    };
  }

  /** Mapping is synchronous so the writer sees events in arrival order. */
  private learnMappings(mutations: readonly Mutation[]): void {
    for (const m of mutations) if (m.kind === 'jid-mapping') this.lidToPn.set(m.lid, m.pn);
  }

  private ingest(batch: IngestBatch, kind: 'realtime' | 'meta'): void {
    this.learnMappings(batch.mutations);
    if (batch.mutations.length === 0) return;
    const pending = this.writer.submit(batch.mutations, { history: false });
    void pending.then((outcome) => {
      this.emitMessages('realtime', outcome);
      this.emitStatuses(outcome);
      if (kind !== 'realtime') return;
      const patch: AccountPatch = { lastRealtimeIngestAt: this.now() };
      const newest = newestMessageAt(outcome.committed);
      if (newest !== null) patch.lastRealtimeMessageAt = newest;
      patch.lastRealtimeError = outcome.errors > 0 ? outcome.firstError ?? 'write failed' : null;
      this.realtimeDiag.patch(patch);
    });
  }

  private onHistorySet(data: BaileysEventMap['messaging-history.set']): void {
    const syncType = data.syncType ?? null;
    const onDemand = syncType === ON_DEMAND;
    const source: SyncSource = onDemand ? 'backfill' : 'history_sync';
    this.log.info(
      { messages: data.messages.length, chats: data.chats.length, syncType, progress: data.progress ?? null },
      'messaging-history.set event received',
    );
    const batch = mapHistorySet(data, this.ctx(source, syncType));
    this.learnMappings(batch.mutations);
    // On-demand answers are backfill, not history sync: the dry-run switch covers history sync only.
    const pending = this.writer.submit(batch.mutations, { history: !onDemand });
    void pending.then(async (outcome) => {
      const result: HistorySyncResult = {
        saved: outcome.saved,
        skipped: batch.skipped + outcome.duplicates,
        errors: outcome.errors,
        total: batch.total,
        dryRun: outcome.dryRun,
      };
      this.emitMessages(source, outcome);
      if (outcome.errors === 0) {
        this.d.connector.onHistoryCommitted?.(data).catch((err: unknown) => this.reportError(err, 'history journal'));
      }
      if (onDemand) {
        this.settleBackfillWaiter(data, outcome.saved);
        return;
      }
      try {
        if (outcome.dryRun) {
          await this.d.store.patchAccount(this.d.accountId, { lastHistorySyncAt: this.now(), lastHistorySyncResult: result });
        } else {
          await this.d.store.recordHistorySync(this.d.accountId, result, this.now());
        }
      } catch (err) {
        this.reportError(err, 'history sync result');
      }
      this.log.info({ ...result }, `History sync complete: ${result.saved} saved`);
      this.d.emit({
        type: 'history-sync',
        accountId: this.d.accountId,
        syncType: syncType === null ? null : proto.HistorySync.HistorySyncType[syncType] ?? String(syncType),
        progress: data.progress ?? null,
        result,
      });
    });
  }

  private settleBackfillWaiter(data: BaileysEventMap['messaging-history.set'], saved: number): void {
    let waiter = data.peerDataRequestSessionId ? this.backfillWaiters.get(data.peerDataRequestSessionId) : undefined;
    let key = data.peerDataRequestSessionId ?? undefined;
    if (!waiter) {
      // WhatsApp does not always echo the request id: fall back to the waiter for the same chat.
      const chat = data.messages[0]?.key?.remoteJid;
      for (const [k, w] of this.backfillWaiters) {
        if (chat && (w.chatJid === chat || this.lidToPn.get(chat) === w.chatJid)) {
          waiter = w;
          key = k;
          break;
        }
      }
    }
    if (!waiter || key === undefined) return;
    clearTimeout(waiter.timer);
    this.backfillWaiters.delete(key);
    waiter.resolve(saved);
  }

  private onConnectionUpdate(sock: WaSocket, u: BaileysEventMap['connection.update']): void {
    if (u.qr) {
      this.qr = u.qr;
      void this.setConnection('qr', null);
      this.d.emit({ type: 'qr', accountId: this.d.accountId, qr: u.qr });
    }
    if (u.connection === 'open') {
      this.qr = null;
      this.reconnectAttempts = 0;
      this.repairUsed = false;
      this.me = sock.user?.id ? jidNormalizedUser(sock.user.id) : null;
      this.ownJids = new Set([this.me, sock.user?.lid ? jidNormalizedUser(sock.user.lid) : null].filter((j): j is string => j !== null));
      void this.setConnection('open', null, { lastConnectedAt: this.now(), phoneNumber: this.me, reconnectAttempts: 0, caughtUp: false });
    }
    if (u.receivedPendingNotifications) {
      // Everything WhatsApp queued for this device while it was away has been delivered.
      this.log.info('caught up with pending notifications');
      void this.patchAccountInOrder({ caughtUp: true, caughtUpAt: this.now() }, 'caught-up flag');
      this.d.emit({ type: 'caught-up', accountId: this.d.accountId });
    }
    if (u.connection === 'close') {
      this.onClose(u.lastDisconnect?.error);
    }
  }

  private onClose(error: unknown): void {
    this.socket = null;
    if (this.stopped) return;
    if (this.retryAfterRepair(error)) return;
    const code = statusCodeOf(error);
    const decision = decideOnDisconnect(code, this.reconnectAttempts + 1);
    const why = closeReason(error);
    if (decision.action === 'stop') {
      this.stopped = true;
      this.log.warn({ code, status: decision.status }, 'connection closed for good');
      void (async () => {
        if (decision.wipeSession) await this.wipeSession().catch((err: unknown) => this.reportError(err, 'wipe session'));
        await this.setConnection(decision.status, why);
      })();
      return;
    }
    this.reconnectAttempts += 1;
    this.log.warn({ code, attempt: this.reconnectAttempts, delayMs: decision.delayMs }, 'connection closed, reconnecting');
    void this.setConnection('reconnecting', why, { reconnectAttempts: this.reconnectAttempts });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopped) return;
      void this.connectOrRetry();
    }, decision.delayMs);
  }

  /**
   * Kept apart from the backoff policy on purpose (issue 11): a close the connector can repair
   * (WhatsApp refusing the client version: the connector refetches it) gets one repair and one
   * immediate retry per connection streak; if that fails too, the close goes through the policy.
   */
  private retryAfterRepair(error: unknown): boolean {
    if (this.repairUsed) return false;
    const repair = this.d.connector.repairBeforeRetry?.({ accountId: this.d.accountId, store: this.d.store, logger: this.log }, error);
    if (!repair) return false;
    this.repairUsed = true;
    this.log.warn({ code: statusCodeOf(error) }, 'connection refused; repairing and retrying once');
    void this.setConnection('reconnecting', closeReason(error));
    void repair
      .catch((err: unknown) => this.reportError(err, 'repair before retry'))
      .then(() => {
        if (!this.stopped) void this.connectOrRetry();
      });
    return true;
  }

  private async setConnection(status: ConnectionStatus, reason: string | null, extra: AccountPatch = {}): Promise<void> {
    this.connection = status;
    this.reason = reason;
    this.d.emit({ type: 'connection', accountId: this.d.accountId, status: this.status() });
    await this.patchAccountInOrder({ status, statusReason: reason, statusAt: this.now(), ...extra }, 'account status');
  }

  /** Status patches are written one after another, so a later state never lands before an earlier one. */
  private patchAccountInOrder(patch: AccountPatch, context: string): Promise<void> {
    this.accountWrites = this.accountWrites
      .then(() => this.d.store.patchAccount(this.d.accountId, patch))
      .catch((err: unknown) => this.reportError(err, context));
    return this.accountWrites;
  }

  private emitMessages(source: SyncSource, outcome: SubmitOutcome): void {
    const messages: MessageEventRecord[] = [];
    for (const m of outcome.committed) {
      if (m.kind !== 'message') continue;
      const { rawMessage: _raw, ...rest } = m.record;
      messages.push(rest);
    }
    if (messages.length > 0) this.d.emit({ type: 'messages', accountId: this.d.accountId, source, messages });
  }

  private emitStatuses(outcome: SubmitOutcome): void {
    const updates = [];
    for (const m of outcome.committed) {
      if (m.kind === 'status') updates.push({ messageId: m.messageId, clientJid: m.clientJid, status: m.status, at: m.at });
    }
    if (updates.length > 0) this.d.emit({ type: 'statuses', accountId: this.d.accountId, updates });
  }

  private reportError(err: unknown, context: string): void {
    // The raw error for the log (pino keeps its stack); the serialized one for the supervisor.
    this.log.error({ err, context }, 'actor error');
    this.d.emit({ type: 'error', accountId: this.d.accountId, error: serializeError(err), context });
  }
}

function closeReason(error: unknown): string {
  return `${statusCodeOf(error) ?? 'network'}: ${error instanceof Error ? error.message : 'connection closed'}`;
}

function newestMessageAt(mutations: readonly Mutation[]): number | null {
  let newest: number | null = null;
  for (const m of mutations) {
    if (m.kind === 'message' && (newest === null || m.record.createdAt > newest)) newest = m.record.createdAt;
  }
  return newest;
}

function outboundRecord(accountId: string, clientJid: string, id: string, text: string, now: number): MessageRecord {
  return {
    id,
    accountId,
    clientJid,
    direction: 'outbound',
    body: text,
    waMessageId: id,
    status: 'queued',
    messageType: 'text',
    mediaType: null,
    mediaUrl: null,
    mediaMimetype: null,
    mediaFilename: null,
    tsClient: new Date(now).toISOString(),
    tsServer: now,
    createdAt: now,
    syncedAt: null,
    syncSource: 'outbound_api',
    deliveredAt: null,
    readAt: null,
    contentType: 'conversation',
    fromMe: true,
    participant: null,
    pushName: null,
    syncType: null,
    mediaSize: null,
    media: null,
    refMessageId: null,
    editedAt: null,
    revokedAt: null,
    sendError: null,
    // Kept so Baileys' getMessage can answer a retry receipt for this message.
    rawMessage: proto.Message.encode({ conversation: text }).finish(),
  };
}
