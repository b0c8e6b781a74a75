import { DisconnectReason, proto, jidNormalizedUser, type BaileysEventMap } from '@whiskeysockets/baileys';
import type { Config } from '../config/index.js';
import { WasyncError, isErrorCode, serializeError } from '../domain/errors.js';
import type { Mutation } from '../domain/mutations.js';
import type {
  AccountPatch,
  AccountRecord,
  BackfillResult,
  ConnectionStatus,
  HistorySyncResult,
  MediaRef,
  SyncSource,
} from '../domain/records.js';
import {
  applyJidMappings,
  mapChats,
  mapContacts,
  mapGroupParticipants,
  mapGroupsUpdate,
  mapGroupsUpsert,
  mapHistorySet,
  mapLidMapping,
  mapMessagesUpdate,
  mapMessagesUpsert,
  mapReceipts,
  mapResolver,
  type IngestBatch,
  type IngestContext,
} from '../ingest/index.js';
import type { Logger } from '../logging/logger.js';
import { withFence } from '../store/fenced-store.js';
import type { LeaseFence, Store } from '../store/port.js';
import type { Connector, WaSocket } from '../connectors/types.js';
import { BackfillRunner } from './backfill-runner.js';
import { BatchWriter, type SubmitOutcome, type WriteState } from './batch-writer.js';
import { decideOnDisconnect, statusCodeOf } from './disconnect-policy.js';
import {
  summarizeMessages,
  type ActorEvent,
  type ActorStatus,
  type BackfillCommand,
  type SendCommand,
  type SendOutcome,
  type StopOptions,
} from './protocol.js';
import { MEDIA_REUPLOAD_TIMEOUT_MS, requestMediaReupload } from './media-reupload.js';
import { OutboundSender } from './outbound-sender.js';
import { HistorySyncTracker } from './history-sync-tracker.js';
import { archivePolicyOf, withMediaJobs } from './media-jobs.js';
import type { ArchivePolicy } from '../media-archive/archiver.js';
import { ThrottledPatch } from './throttled-patch.js';
import { historyChunkEvent, historyStatusEvent } from './feed-events.js';

const ON_DEMAND = proto.HistorySync.HistorySyncType.ON_DEMAND;
/** Group metadata is fetched again on a connection at most this often (6 h). */
const GROUPS_REFRESH_MS = 6 * 3600_000;

export interface AccountActorDeps {
  accountId: string;
  store: Store;
  connector: Connector;
  config: Config;
  logger: Logger;
  emit: (event: ActorEvent) => void;
  /**
   * The owner lease the actor runs under (several instances on one store): session writes and status
   * patches carry it, and a 440 is checked against it. Null or absent: unfenced (one process, tests).
   */
  fence?: LeaseFence | null;
  now?: () => number;
  /** How long a media re-upload request may wait for the phone (tests shorten it). */
  mediaReuploadTimeoutMs?: number;
}

/**
 * One WhatsApp account: its connection (connect, reconnect policy, status), its ingest pipeline and
 * its batch writer, with the commands that need the live socket in their own units: `OutboundSender`
 * (sends), `BackfillRunner` (history requests) and `requestMediaReupload`. Runs inside the account's
 * worker thread (see worker-main.ts) but has no thread-specific code, so it is tested in-process too.
 * Events are mapped synchronously in arrival order and handed to the writer, which keeps that order;
 * the follow-up work (events to the supervisor, account fields) waits for the commit without holding
 * up the next event.
 */
export class AccountActor {
  private readonly d: AccountActorDeps;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly writer: BatchWriter;
  /** LID → phone-number JID pairs learned so far (from the store at start, then from ingest). */
  private readonly lidToPn = new Map<string, string>();
  private readonly resolver = mapResolver(this.lidToPn);
  private readonly sender: OutboundSender;
  private readonly backfills: BackfillRunner;
  private readonly realtimeDiag: ThrottledPatch;
  private readonly historySync: HistorySyncTracker;
  /** What the media archive keeps; null when it is off (no jobs are written). */
  private readonly archivePolicy: ArchivePolicy | null;
  private readonly fence: LeaseFence | null;
  /** The store as the connector's session code sees it: its writes carry the fence. */
  private readonly session: Store;
  /** Another instance owns the account now: nothing more is written in its name. */
  private leaseLost = false;
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
  /** When `refreshGroups` last succeeded (null: not yet, or a new pairing since). */
  private groupsFetchedAt: number | null = null;
  private groupsFetching = false;
  private accountWrites: Promise<void> = Promise.resolve();
  /** History chunks being recorded: a `messaging-history.status` is logged after the chunks before it. */
  private historyWrites: Promise<unknown> = Promise.resolve();
  private historyResults: Promise<void> = Promise.resolve();

  constructor(deps: AccountActorDeps) {
    this.d = deps;
    this.log = deps.logger;
    this.now = deps.now ?? Date.now;
    this.fence = deps.fence ?? null;
    this.session = this.fence
      ? withFence(deps.store, this.fence, (err) => this.onLeaseLost(`a session write was refused: ${err.message}`))
      : deps.store;
    this.writer = new BatchWriter({
      store: deps.store,
      accountId: deps.accountId,
      maxOps: deps.config.BATCH_MAX_OPS,
      flushMs: deps.config.BATCH_FLUSH_MS,
      dryRun: deps.config.WHATSAPP_HISTORY_SYNC_DRY_RUN,
      logger: deps.logger,
      onFlush: (s) => deps.emit({ type: 'flush', accountId: deps.accountId, ops: s.ops, durationMs: s.durationMs, failed: s.failed }),
    });
    const pnForLid = (lid: string): string | undefined => this.lidToPn.get(lid);
    this.sender = new OutboundSender({
      accountId: deps.accountId,
      store: deps.store,
      submit: (mutations) => this.writer.submit(mutations, { history: false }),
      socket: () => this.requireSocket(),
      connection: () => this.connection,
      me: () => this.me,
      pnForLid,
      onQueued: (outcome) => this.emitMessages('outbound_api', outcome),
      now: this.now,
      storeTimeoutMs: deps.config.SEND_STORE_TIMEOUT_MS,
    });
    this.backfills = new BackfillRunner({
      accountId: deps.accountId,
      store: deps.store,
      logger: deps.logger,
      now: this.now,
      socket: () => this.requireSocket(),
      emit: deps.emit,
      pnForLid,
    });
    this.archivePolicy = archivePolicyOf(deps.config);
    const fence = this.fence;
    this.historySync = new HistorySyncTracker({
      accountId: deps.accountId,
      // The sync state on the account is the owner's to write: fenced like the connection status.
      store: {
        getAccount: (id) => deps.store.getAccount(id),
        patchAccount: (id, patch, events) =>
          deps.store.patchAccount(id, patch, events, fence ?? undefined).catch((err: unknown) => {
            if (isErrorCode(err, 'LEASE_LOST')) this.onLeaseLost(`a history-sync status write was refused: ${(err as Error).message}`);
            throw err;
          }),
      },
      logger: deps.logger,
      stallMs: deps.config.HISTORY_SYNC_STALL_MS,
      now: this.now,
      onChange: (state) => deps.emit({ type: 'history-sync-status', accountId: deps.accountId, state }),
      onError: (err, context) => this.reportError(err, context),
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

  /** The batch writer's state (pending writes, retries), reported with the actor's health. */
  writeState(): WriteState {
    return this.writer.state();
  }

  async start(): Promise<ActorStatus> {
    for (const { lid, pn } of await this.d.store.listJidMappings(this.d.accountId)) this.lidToPn.set(lid, pn);
    await this.historySync.load();
    this.stopped = false;
    await this.connectOrRetry();
    return this.status();
  }

  async stop(opts: StopOptions): Promise<{ flushed: boolean }> {
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
    await this.historySync.stop();
    if (opts.logout && !this.leaseLost) await this.wipeSession();
    // Handed over (or taken over): the next owner writes the account's status, not us.
    const persist = !opts.handover && !this.leaseLost;
    await this.setConnection(opts.logout ? 'logged_out' : 'stopped', opts.logout ? 'logged out by the operator' : null, {}, persist);
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

  /** See `requestMediaReupload`: the re-upload request runs here, the download on the HTTP side. */
  updateMediaMessage(messageId: string): Promise<MediaRef> {
    return requestMediaReupload(
      {
        accountId: this.d.accountId,
        store: this.d.store,
        connector: this.d.connector,
        socket: () => this.requireSocket(),
        connection: () => this.connection,
        timeoutMs: this.d.mediaReuploadTimeoutMs ?? MEDIA_REUPLOAD_TIMEOUT_MS,
      },
      messageId,
    );
  }

  /** See `OutboundSender`. */
  send(cmd: SendCommand): Promise<SendOutcome> {
    return this.sender.send(cmd);
  }

  /** See `BackfillRunner`. */
  backfill(cmd: BackfillCommand): Promise<BackfillResult> {
    return this.backfills.run(cmd);
  }

  /** A creds write still in flight must not land after the wipe and bring a dead session back. */
  private async wipeSession(): Promise<void> {
    await this.d.connector.settled?.(this.d.accountId);
    await this.session.clearAuthState(this.d.accountId);
  }

  /**
   * Another wasync instance owns the account now (the store refused a fenced write, or WhatsApp
   * replaced the connection for the new owner): drop the socket and write nothing more, quietly.
   * The supervisor hears it as `lease-lost` and removes this actor.
   */
  private onLeaseLost(reason: string): void {
    if (this.leaseLost) return;
    this.leaseLost = true;
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const sock = this.socket;
    this.socket = null;
    if (sock) void Promise.resolve(sock.end(undefined)).catch(() => undefined);
    this.log.warn({ reason }, 'the account belongs to another instance now; stepping aside');
    this.d.emit({ type: 'lease-lost', accountId: this.d.accountId, reason });
  }

  /**
   * A 440 under a fence: WhatsApp replaced the connection. If the owner lease has moved on, a newer
   * wasync owner connected (the lease is always taken before connecting): step aside without a word.
   * If it is still ours, someone outside the fleet took the session: `replaced`, as with one process.
   * An unreadable lease is not worth a fight either: step aside, the lease keeper decides the rest.
   */
  private async onReplaced(fence: LeaseFence, why: string): Promise<void> {
    let moved: string | null;
    try {
      moved = ownerMoved(await this.d.store.getAccount(this.d.accountId), fence);
    } catch (err) {
      moved = `the owner lease could not be read (${err instanceof Error ? err.message : String(err)})`;
    }
    if (moved) {
      this.onLeaseLost(`WhatsApp replaced the connection (${why}): ${moved}`);
      return;
    }
    this.log.warn({ code: DisconnectReason.connectionReplaced }, 'connection replaced by a client outside the fleet');
    await this.setConnection('replaced', why);
  }

  private requireSocket(): WaSocket {
    if (!this.socket) throw new WasyncError('NOT_CONNECTED', `account is ${this.connection}, not connected`);
    return this.socket;
  }

  private async connect(): Promise<void> {
    // Not awaited: status writes keep their order on their own chain, and a slow store must not
    // delay the connection (a takeover reconnects sooner).
    void this.setConnection('connecting', null);
    const sock = await this.d.connector.connect({ accountId: this.d.accountId, store: this.session, logger: this.log });
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
    const on = <E extends keyof BaileysEventMap>(event: E, handle: (data: BaileysEventMap[E]) => void): void => {
      sock.ev.on(event, (data) => {
        if (this.socket !== sock) return; // a replaced socket's late events must not land
        try {
          handle(data);
        } catch (err) {
          this.reportError(err, event);
        }
      });
    };
    const live = (): IngestContext => this.ctx('realtime');
    on('connection.update', (u) => this.onConnectionUpdate(sock, u));
    on('messaging-history.set', (d) => this.onHistorySet(d));
    on('messaging-history.status', (d) => this.onHistoryStatus(d));
    on('messages.upsert', (d) => this.ingest(mapMessagesUpsert(d, live()), 'realtime'));
    on('messages.update', (d) => this.ingest(mapMessagesUpdate(d, live()), 'realtime'));
    on('message-receipt.update', (d) => this.ingest(mapReceipts(d, live()), 'realtime'));
    on('contacts.upsert', (d) => this.ingest(mapContacts(d, live()), 'meta'));
    on('contacts.update', (d) => this.ingest(mapContacts(d, live()), 'meta'));
    on('chats.upsert', (d) => this.ingest(mapChats(d, live()), 'meta'));
    on('chats.update', (d) => this.ingest(mapChats(d, live()), 'meta'));
    on('lid-mapping.update', (d) => this.ingest(mapLidMapping(d, live()), 'meta'));
    on('groups.upsert', (d) => this.ingest(mapGroupsUpsert(d, live()), 'meta'));
    on('groups.update', (d) => this.ingest(mapGroupsUpdate(d, live()), 'meta'));
    on('group-participants.update', (d) => this.ingest(mapGroupParticipants(d, live()), 'meta'));
  }

  private ctx(source: SyncSource, syncType?: number | null): IngestContext {
    return {
      accountId: this.d.accountId,
      now: this.now(),
      source,
      syncType: syncType ?? null,
      resolver: this.resolver,
      ownJids: this.ownJids,
    };
  }

  /** Mapping is synchronous so the writer sees events in arrival order. */
  private learnMappings(mutations: readonly Mutation[]): void {
    applyJidMappings(this.lidToPn, mutations);
  }

  private ingest(batch: IngestBatch, kind: 'realtime' | 'meta'): void {
    this.learnMappings(batch.mutations);
    if (batch.mutations.length === 0) return;
    const pending = this.writer.submit(withMediaJobs(batch.mutations, this.archivePolicy), { history: false });
    void pending.then((outcome) => {
      this.emitMessages('realtime', outcome);
      this.emitStatuses(outcome);
      if (kind !== 'realtime') return;
      const patch: AccountPatch = { lastRealtimeIngestAt: this.now() };
      const newest = newestMessageAt(outcome.committed);
      if (newest !== null) patch.lastRealtimeMessageAt = newest;
      patch.lastRealtimeError = outcome.errors > 0 ? (outcome.firstError ?? 'write failed') : null;
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
    const pending = this.writer.submit(withMediaJobs(batch.mutations, this.archivePolicy), { history: !onDemand });
    const recorded = pending.then(async (outcome) => {
      const result = historySyncResult(batch.total, outcome);
      this.emitMessages(source, outcome);
      if (outcome.errors === 0) {
        this.d.connector.onHistoryCommitted?.(data).catch((err: unknown) => this.reportError(err, 'history journal'));
      }
      if (onDemand) {
        this.backfills.onAnswer(data, outcome.saved);
        return;
      }
      this.historySync.onChunk({ syncType: syncTypeName(syncType), progress: data.progress ?? null, saved: result.saved });
      // The chunk's history-sync.progress goes to the change log with the counts it reports.
      const progressEvent = [historyChunkEvent(syncType, data.progress ?? null, result)];
      // One after another, in chunk order: two writes in flight at once may land in either order,
      // and `lastHistorySyncResult` must end as the last chunk's (and the log keeps chunk order).
      const at = this.now();
      this.historyResults = this.historyResults
        .then(() =>
          outcome.dryRun
            ? this.d.store.patchAccount(this.d.accountId, { lastHistorySyncAt: at, lastHistorySyncResult: result }, progressEvent)
            : this.d.store.recordHistorySync(this.d.accountId, result, at, progressEvent),
        )
        .catch((err: unknown) => this.reportError(err, 'history sync result'));
      await this.historyResults;
      this.log.info({ ...result }, `History sync complete: ${result.saved} saved`);
      this.d.emit({
        type: 'history-sync',
        accountId: this.d.accountId,
        syncType: syncType === null ? null : syncTypeName(syncType),
        progress: data.progress ?? null,
        result,
      });
    });
    this.historyWrites = Promise.all([this.historyWrites, recorded]);
  }

  /** Baileys' history-sync milestone: logged once the chunks received before it are. */
  private onHistoryStatus(data: BaileysEventMap['messaging-history.status']): void {
    this.log.info({ syncType: data.syncType, status: data.status, explicit: data.explicit }, 'messaging-history.status');
    this.historySync.onPhaseStatus({
      syncType: proto.HistorySync.HistorySyncType[data.syncType] ?? String(data.syncType),
      status: data.status,
    });
    const event = historyStatusEvent(data.syncType, data.status, data.explicit);
    this.historyWrites = this.historyWrites
      .then(() => this.d.store.appendChanges(this.d.accountId, [event]))
      .catch((err: unknown) => this.reportError(err, 'history sync status'));
  }

  private onConnectionUpdate(sock: WaSocket, u: BaileysEventMap['connection.update']): void {
    // Baileys says so on the connection that paired (which then restarts with 515): a new history follows.
    if (u.isNewLogin) {
      this.historySync.onNewLogin();
      this.groupsFetchedAt = null;
    }
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
      this.historySync.onConnected();
    }
    if (u.receivedPendingNotifications) {
      // Everything WhatsApp queued for this device while it was away has been delivered.
      this.log.info('caught up with pending notifications');
      void this.patchAccountInOrder({ caughtUp: true, caughtUpAt: this.now() }, 'caught-up flag');
      this.d.emit({ type: 'caught-up', accountId: this.d.accountId });
      this.refreshGroups(sock);
    }
    if (u.connection === 'close') {
      this.onClose(u.lastDisconnect?.error);
    }
  }

  /**
   * Once caught up (at most every GROUPS_REFRESH_MS, and again after a new pairing): asks WhatsApp for
   * every group the account is in. Baileys emits the answer as `groups.update` with whole metadata, so
   * every roster and subject lands in the store, where the real socket's `cachedGroupMetadata` reads it
   * on each send to a group (Baileys' recommendation: no metadata query per send). Changes in between
   * come as participant updates; the periodic re-fetch repairs any that were missed.
   */
  private refreshGroups(sock: WaSocket): void {
    if (this.groupsFetching || typeof sock.groupFetchAllParticipating !== 'function') return;
    if (this.groupsFetchedAt !== null && this.now() - this.groupsFetchedAt < GROUPS_REFRESH_MS) return;
    this.groupsFetching = true;
    sock
      .groupFetchAllParticipating()
      .then(
        (groups) => {
          this.groupsFetchedAt = this.now();
          this.log.info({ groups: Object.keys(groups).length }, 'group metadata fetched');
        },
        (err: unknown) => {
          const why = err instanceof Error ? err.message : String(err);
          this.log.warn({ err: why }, 'could not fetch group metadata; sends fetch it as needed');
        },
      )
      .finally(() => {
        this.groupsFetching = false;
      });
  }

  private onClose(error: unknown): void {
    this.socket = null;
    this.historySync.onDisconnected();
    if (this.stopped) return;
    if (this.retryAfterRepair(error)) return;
    const code = statusCodeOf(error);
    const decision = decideOnDisconnect(code, this.reconnectAttempts + 1);
    const why = closeReason(error);
    if (decision.action === 'stop' && decision.status === 'replaced' && this.fence) {
      this.stopped = true;
      void this.onReplaced(this.fence, why);
      return;
    }
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
    const repair = this.d.connector.repairBeforeRetry?.({ accountId: this.d.accountId, store: this.session, logger: this.log }, error);
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

  private async setConnection(status: ConnectionStatus, reason: string | null, extra: AccountPatch = {}, persist = true): Promise<void> {
    this.connection = status;
    this.reason = reason;
    this.d.emit({ type: 'connection', accountId: this.d.accountId, status: this.status() });
    if (persist) await this.patchAccountInOrder({ status, statusReason: reason, statusAt: this.now(), ...extra }, 'account status');
  }

  /**
   * Status patches are written one after another, so a later state never lands before an earlier one,
   * and carry the fence: a superseded owner cannot overwrite the new owner's status.
   */
  private patchAccountInOrder(patch: AccountPatch, context: string): Promise<void> {
    this.accountWrites = this.accountWrites
      .then(() => {
        if (this.leaseLost) return;
        return this.d.store.patchAccount(this.d.accountId, patch, [], this.fence ?? undefined);
      })
      .catch((err: unknown) => {
        if (isErrorCode(err, 'LEASE_LOST')) this.onLeaseLost(`a status write was refused: ${(err as Error).message}`);
        else this.reportError(err, context);
      });
    return this.accountWrites;
  }

  private emitMessages(source: SyncSource, outcome: SubmitOutcome): void {
    const records = (function* () {
      for (const m of outcome.committed) if (m.kind === 'message') yield m.record;
    })();
    const summary = summarizeMessages(source, records, outcome.inserted);
    if (summary.count > 0) this.d.emit({ type: 'messages', accountId: this.d.accountId, ...summary });
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

/**
 * What a history chunk added (README, Data model): `saved` counts the messages the store did not hold
 * yet (in a dry run, the ones that would have been written), so replays and messages first seen live
 * add nothing to `historySyncCount`; `skipped` is the rest of the chunk that did not fail: what ingest
 * does not store (deleted stubs, protocol messages) and what was already stored.
 */
export function historySyncResult(total: number, outcome: SubmitOutcome): HistorySyncResult {
  const saved = outcome.dryRun ? outcome.saved : outcome.inserted;
  return { saved, skipped: Math.max(0, total - saved - outcome.errors), errors: outcome.errors, total, dryRun: outcome.dryRun };
}

/** A chunk's sync type as its `proto.HistorySync.HistorySyncType` name (the messages' `syncType`); unknown numbers as digits. */
function syncTypeName(syncType: number | null): string {
  if (syncType === null) return 'UNKNOWN';
  return proto.HistorySync.HistorySyncType[syncType] ?? String(syncType);
}

/** Why the account's owner lease is no longer `fence`'s, or null while it still is. */
function ownerMoved(account: AccountRecord | null, fence: LeaseFence): string | null {
  if (!account) return 'the account was deleted';
  const epoch = account.ownerLeaseEpoch ?? 0;
  if (account.ownerLeaseHolder === fence.holder && epoch === fence.epoch) return null;
  return `instance ${account.ownerLeaseHolder ?? '(none)'} holds its owner lease (epoch ${epoch}, ours ${fence.epoch})`;
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
