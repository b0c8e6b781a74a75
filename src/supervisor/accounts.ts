import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import QRCode from 'qrcode';
import type { ActorEvent, ActorHealth, BackfillCommand } from '../account-actor/protocol.js';
import type { Config } from '../config/index.js';
import { connectorTraits } from '../connectors/index.js';
import { NotFoundError, WasyncError, serializeError } from '../domain/errors.js';
import type { AccountRecord, BackfillResult, ConnectionStatus } from '../domain/records.js';
import { registerAccountId, type Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import { historySyncOf, type HistorySyncSummary } from '../domain/history-sync.js';
import { ActorHandle } from './actor-handle.js';
import { BackfillScheduler, backfillSchedulerSettings } from './backfill-scheduler.js';
import { openStoredMedia } from './media.js';
import { MediaArchiveService } from './media-archive-service.js';
import { type HolderIsGone, recoverInterruptedRuns } from './lease-recovery.js';
import type { MediaArchive } from '../media-archive/port.js';
import { Fleet, type FleetEventKind, type FleetHost, type FleetView } from './fleet/fleet.js';
import type {
  AccountRuntime,
  AccountView,
  AccountsService,
  MediaRange,
  MediaStream,
  QrView,
  SendInput,
  SendResult,
  WriteHealth,
} from './service.js';
import { type Incarnation, Supervisor, forceReserveMs } from './supervisor.js';
import { StartQueue, type StartQueueResult } from './start-queue.js';

/** Connection states of a start still in progress (the start queue holds the account's slot meanwhile). */
const STARTING: ReadonlySet<ConnectionStatus> = new Set(['created', 'connecting', 'reconnecting']);

/** One incarnation of an account's actor, as the generic supervisor runs it. */
interface ActorIncarnation extends Incarnation {
  readonly handle: ActorHandle;
  /** Set before a stop that ends the WhatsApp session too (the account is being removed). */
  logout: boolean;
  /** Set before a stop that hands the account to another instance: no final status from this one. */
  handover: boolean;
}

/** What the accounts layer knows of an account's actor beyond the supervisor's child state. */
interface AccountSlot {
  accountId: string;
  qr: string | null;
  /** From the actor's connection events (and the supervisor's crash reasons). */
  connection: ConnectionStatus;
  reason: string | null;
  me: string | null;
  pendingWrites: number;
  /** The account's history-sync status: stored at start, then from its actor's events (metrics). */
  historySync: HistorySyncSummary | null;
  /** The actor's last health report (`health` events, every second). */
  health: (ActorHealth & { reportedAt: number }) | null;
  /** When this instance took the account (moves prefer the most recent: the least settled). */
  adoptedAt: number;
}

/** Actors report every second: three missed reports mean the actor's loop is stuck (or it is gone). */
const HEALTH_STALE_MS = 3_000;

export interface AccountsOptions {
  config: Config;
  /** Environment handed to every actor (they parse their own configuration from it). */
  env: Record<string, string>;
  store: Store;
  logger: Logger;
  /** The media archive (MEDIA_ARCHIVE), or null/absent when it is off. */
  mediaArchive?: MediaArchive | null;
  /**
   * Whether another lease holder is gone for good (default: the fleet's instance registry, a holder it reports dead); this instance's own
   * id from a previous run always is. See `recoverInterruptedRuns`.
   */
  holderIsGone?: HolderIsGone;
  /** This instance's advertised URL (`INSTANCE_URL`, or from the bound port), once the server listens. */
  url?: () => string | null;
  /**
   * The store is this process's alone (SQLite behind its data-directory lock): owner leases of
   * earlier processes are taken over at once. Default: `STORE=sqlite`.
   */
  exclusiveStore?: boolean;
}

/**
 * The `AccountsService` the HTTP layer calls, over a generic `Supervisor` of account actors (one worker
 * thread each): account lifecycle, pairing, sends and backfills proxied to the actor, media served on
 * this thread, and the backfill scheduler fed by the actors' events. Which accounts run here is the
 * `Fleet`'s call (owner leases, placement); commands for an account another instance owns fail with
 * `OwnedElsewhereError`, which the HTTP layer forwards. Emits every actor event as `actor-event`
 * (metrics listen), each restart as `actor-restart`, and each owner-lease change as `fleet-event`.
 */
export class Accounts extends EventEmitter implements AccountsService, FleetHost {
  private readonly o: AccountsOptions;
  private readonly supervisor: Supervisor<ActorIncarnation>;
  private readonly slots = new Map<string, AccountSlot>();
  /** Auto backfill and recent sync: one per process, fed by the actors' connection events. */
  private readonly scheduler: BackfillScheduler | null;
  /** Archives the media of the accounts running here (null when MEDIA_ARCHIVE=off). */
  readonly mediaArchive: MediaArchiveService | null;
  readonly fleet: Fleet;
  /**
   * Every actor start goes through this queue, whoever asks for it (the first placement tick at
   * start-up, a takeover, a new or re-paired account): ACTOR_START_CONCURRENCY at a time, with jitter,
   * each holding its slot until its connection settles (start-queue.ts).
   */
  private readonly starts: StartQueue;
  /** Commands waiting for a queued account's actor to be spawned (or its start dropped). */
  private readonly spawnWaiters = new Map<string, Array<() => void>>();
  /** Callbacks waiting for an account's start to settle (connection opened, needs a person, or gone). */
  private readonly settleWaiters = new Map<string, Array<() => void>>();
  /** The starts of the accounts placed here at start-up: resolves when every one has settled (tests, benchmarks). */
  startup: Promise<StartQueueResult> = Promise.resolve({ started: 0, timedOut: 0 });

  constructor(opts: AccountsOptions) {
    super();
    this.o = opts;
    const c = opts.config;
    this.fleet = new Fleet({
      store: opts.store,
      logger: opts.logger,
      instanceId: c.INSTANCE_ID,
      mode: c.INSTANCE_MODE,
      url: opts.url ?? (() => null),
      maxAccounts: c.MAX_ACCOUNTS_PER_INSTANCE,
      leaseMs: c.OWNER_LEASE_MS,
      tickMs: c.FLEET_TICK_MS,
      maxMovesPerTick: c.REBALANCE_MAX_MOVES_PER_TICK,
      exclusive: opts.exclusiveStore ?? c.STORE === 'sqlite',
      host: this,
      onEvent: (kind: FleetEventKind, accountId: string) => this.emit('fleet-event', { kind, accountId }),
    });
    this.supervisor = new Supervisor<ActorIncarnation>({
      start: (accountId) => this.startActor(accountId),
      intensity: {
        maxRestarts: c.ACTOR_MAX_RESTARTS,
        windowMs: c.ACTOR_RESTART_WINDOW_MS,
        baseDelayMs: c.ACTOR_BACKOFF_BASE_MS,
        maxDelayMs: c.ACTOR_BACKOFF_MAX_MS,
      },
      hooks: {
        onExit: (accountId) => this.onActorExit(accountId),
        onRestart: (accountId, reason, delayMs, restarts) => {
          this.slotFor(accountId).reason = reason;
          opts.logger.warn({ accountId, reason, delayMs, restarts }, 'actor crashed, restarting');
          this.emit('actor-restart', { accountId, reason });
        },
        onGiveUp: (accountId, why) => this.onGiveUp(accountId, why),
      },
    });
    this.starts = new StartQueue({
      concurrency: c.ACTOR_START_CONCURRENCY,
      jitterMs: c.ACTOR_START_JITTER_MS,
      timeoutMs: c.ACTOR_START_TIMEOUT_MS,
      cancelled: () => this.supervisor.draining,
      start: (accountId) => this.spawnQueued(accountId),
    });
    this.mediaArchive = opts.mediaArchive
      ? new MediaArchiveService({
          archive: opts.mediaArchive,
          store: opts.store,
          config: c,
          logger: opts.logger,
          reupload: async (accountId, messageId) => (await this.runningActor(accountId)).call('updateMediaMessage', messageId),
        })
      : null;
    const settings = backfillSchedulerSettings(c);
    this.scheduler =
      settings.autoBackfill || settings.recentSync
        ? new BackfillScheduler({
            ...settings,
            store: opts.store,
            logger: opts.logger,
            connectedAccounts: () => this.connectedAccounts(),
            mode: () => this.mode,
            run: (accountId, cmd) => this.runBackfill(accountId, cmd),
            onAutoBackfill: (outcome) => this.emit('auto-backfill', outcome),
          })
        : null;
  }

  /**
   * Joins the fleet: registers this instance and runs the first placement tick, which starts an actor
   * for every free account placed here (with one instance: every account not waiting for a person).
   */
  async start(): Promise<void> {
    // Runs a previous process of this instance (or a dead instance of the fleet) left behind: their
    // leases back, their status `error: interrupted`.
    await recoverInterruptedRuns({
      store: this.o.store,
      instanceId: this.o.config.INSTANCE_ID,
      log: this.o.logger.child({ component: 'wa-auto-backfill' }),
      holderIsGone: this.o.holderIsGone ?? ((holder) => this.fleet.holderIsGone(holder)),
    });
    if (this.o.config.WA_DEMO && !(await this.o.store.getAccount('demo'))) {
      await this.o.store.createAccount(this.newAccount('demo'));
    }
    await this.fleet.start();
    this.startup = this.starts.idle();
    this.startup.then(
      (r) => this.o.logger.info({ started: r.started, timedOut: r.timedOut }, 'stored accounts started'),
      () => undefined,
    );
    this.scheduler?.start();
  }

  /** Resolves when the queued account's actor is spawned, its start is dropped, or ACTOR_START_TIMEOUT_MS (30 s if 0) passes. */
  private spawnedOrGone(accountId: string): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.o.config.ACTOR_START_TIMEOUT_MS || 30_000);
      const list = this.spawnWaiters.get(accountId) ?? [];
      list.push(done);
      this.spawnWaiters.set(accountId, list);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Resolves when the account's start settles: its connection opens, waits for a person, or the actor exits. */
  private settled(accountId: string): Promise<void> {
    return new Promise((resolve) => {
      const list = this.settleWaiters.get(accountId) ?? [];
      list.push(resolve);
      this.settleWaiters.set(accountId, list);
    });
  }

  private settle(accountId: string): void {
    const list = this.settleWaiters.get(accountId);
    if (!list) return;
    this.settleWaiters.delete(accountId);
    for (const resolve of list) resolve();
  }

  get draining(): boolean {
    return this.supervisor.draining;
  }

  /**
   * `passive` while draining, and for a standby (`INSTANCE_MODE=passive`) that runs no account: the
   * periodic jobs start nothing (`/ready` reports it; README, Running several instances).
   */
  get mode(): 'active' | 'passive' {
    return this.draining ? 'passive' : this.fleet.mode;
  }

  /**
   * Stops every actor within `budgetMs` in all (graceful flush, then terminate; see `Supervisor`),
   * then releases the owner leases so that the other instances take the accounts over at their next
   * tick. Backfills in flight end with their actor; their outcome and lease release are written in
   * what is left of the budget, while the store is still open.
   */
  async shutdown(budgetMs: number): Promise<void> {
    const deadline = Date.now() + Math.max(0, budgetMs);
    this.scheduler?.stop();
    // Archive downloads in flight get a share of the budget; a job cut short keeps its lease, which
    // expires, and the job runs again after the restart (docs/media-archive.md).
    const archiveStopped = this.mediaArchive ? settleWithin(this.mediaArchive.close(), Math.min(5_000, budgetMs / 4)) : null;
    await this.fleet.drain();
    await this.supervisor.shutdown(Math.max(0, deadline - Date.now()));
    if (archiveStopped && !(await archiveStopped))
      this.o.logger.warn('media archive downloads still running at shutdown; they resume after a restart');
    if (this.scheduler && !(await this.scheduler.settled(Math.max(0, deadline - Date.now())))) {
      this.o.logger.warn('backfill runs still recording their outcome at shutdown; their leases will expire');
    }
    await this.fleet.finish();
  }

  // ---- FleetHost: the fleet decides which accounts run here ------------------------------------

  /**
   * Starts the account's actor through the start queue (ACTOR_START_CONCURRENCY at once, with jitter):
   * a takeover of many accounts (a dead instance's, a cold start) must not boot every worker thread in
   * the same second, which would starve this process's own lease renewals of CPU and reconnect no sooner.
   */
  adopt(accountId: string): void {
    const slot = this.slotFor(accountId, 'connecting');
    slot.adoptedAt = Date.now();
    // The history-sync gauge counts the accounts running here: the stored state until the actor reports.
    if (slot.historySync === null) {
      void this.o.store
        .getAccount(accountId)
        .then((account) => {
          if (account && this.slots.get(accountId) === slot && slot.historySync === null) {
            slot.historySync = historySyncEntry(account);
            this.scheduler?.onHistorySync(accountId, slot.historySync.status);
          }
        })
        .catch(() => undefined);
    }
    this.supervisor.resetIntensity(accountId);
    this.starts.add(accountId);
  }

  /** Takes the account out of the start queue; commands waiting for its actor stop waiting. */
  private dropStart(accountId: string): void {
    this.starts.delete(accountId);
    this.wakeSpawnWaiters(accountId);
  }

  private wakeSpawnWaiters(accountId: string): void {
    const list = this.spawnWaiters.get(accountId);
    this.spawnWaiters.delete(accountId);
    for (const resolve of list ?? []) resolve();
  }

  /** The start queue's turn for `accountId`: its actor, unless it left this instance or runs already. */
  private spawnQueued(accountId: string): Promise<unknown> | null {
    const child = this.fleet.owns(accountId) && !this.supervisor.live(accountId) ? this.supervisor.spawn(accountId) : null;
    this.wakeSpawnWaiters(accountId);
    if (!child) return null;
    // Open, waiting for a person (QR, logged out) or dead: then the next one may start.
    return Promise.race([this.settled(accountId), child.exited]);
  }

  async stopActor(accountId: string, budgetMs: number, mode: 'handover' | 'lost'): Promise<void> {
    this.dropStart(accountId);
    const live = this.supervisor.live(accountId);
    if (live) live.handover = true;
    await this.supervisor.remove(accountId, Date.now() + Math.max(0, budgetMs));
    this.slots.delete(accountId);
    this.scheduler?.onActorGone(accountId);
    await this.mediaArchive?.stopAccount(accountId);
    this.o.logger.info({ accountId, mode }, mode === 'handover' ? 'actor stopped: the account moves on' : 'actor stopped: lease lost');
  }

  movable(held: readonly string[]): string[] {
    // Never one someone is pairing right now (the QR is on this instance); then the least settled first.
    const rank = (id: string): number => (this.slots.get(id)?.connection === 'open' ? 1 : 0);
    return held
      .filter((id) => this.slots.get(id)?.connection !== 'qr')
      .sort((a, b) => rank(a) - rank(b) || (this.slots.get(b)?.adoptedAt ?? 0) - (this.slots.get(a)?.adoptedAt ?? 0));
  }

  /** History-sync status of every account this instance runs (the `wasync_history_sync_accounts` gauge). */
  historySyncStates(): HistorySyncSummary[] {
    return [...this.slots.values()].flatMap((s) => (s.historySync ? [s.historySync] : []));
  }

  runtimes(): AccountRuntime[] {
    return [...this.slots.keys()].map((id) => this.runtimeOf(id)).filter((r): r is AccountRuntime => r !== undefined);
  }

  /** Every account this process runs, with its runtime (the per-account metrics). */
  runtimesById(): Array<[accountId: string, runtime: AccountRuntime]> {
    return [...this.slots.keys()].flatMap((id) => {
      const r = this.runtimeOf(id);
      return r ? [[id, r] as [string, AccountRuntime]] : [];
    });
  }

  runtimeOf(accountId: string): AccountRuntime | undefined {
    const slot = this.slots.get(accountId);
    if (!slot) return undefined;
    const child = this.supervisor.status(accountId);
    return {
      actor: this.starts.has(accountId) ? 'starting' : (child?.state ?? 'stopped'),
      connection: slot.connection,
      reason: slot.reason,
      restarts: child?.restarts ?? 0,
      qrAvailable: slot.qr !== null,
      pendingWrites: slot.health && this.fresh(slot) ? slot.health.writes.pending : slot.pendingWrites,
      me: slot.me,
      health: slot.health && this.fresh(slot) ? slot.health : null,
    };
  }

  private fresh(slot: AccountSlot, now = Date.now()): boolean {
    return slot.health !== null && now - slot.health.reportedAt <= HEALTH_STALE_MS;
  }

  /**
   * The write path across this instance's actors (`/health`, metrics): degraded while any writer is
   * retrying a failed write, holds a write older than `STORE_DEGRADED_AFTER_MS`, or a running actor has
   * stopped reporting (its loop is stuck).
   */
  writeHealth(now = Date.now()): WriteHealth {
    const limit = this.o.config.STORE_DEGRADED_AFTER_MS;
    let pendingWrites = 0;
    let oldest = 0;
    let retrying = 0;
    let silent = 0;
    let late = 0;
    for (const slot of this.slots.values()) {
      const child = this.supervisor.status(slot.accountId);
      if (child?.state !== 'running') continue;
      if (!slot.health || !this.fresh(slot, now)) {
        // A freshly started actor has not reported yet: only one that reported and went quiet counts.
        if (slot.health) silent += 1;
        continue;
      }
      const w = slot.health.writes;
      pendingWrites += w.pending;
      oldest = Math.max(oldest, w.oldestPendingMs);
      if (w.retrying) retrying += 1;
      if (w.oldestPendingMs > limit || w.inFlightMs > limit) late += 1;
    }
    const reasons: string[] = [];
    if (retrying > 0) reasons.push(`store writes are being retried (${retrying} account${retrying === 1 ? '' : 's'})`);
    if (late > 0) reasons.push(`store writes pending for more than ${limit} ms (oldest ${Math.round(oldest)} ms)`);
    if (silent > 0) reasons.push(`${silent} account actor${silent === 1 ? '' : 's'} not reporting (event loop stalled?)`);
    return {
      degraded: reasons.length > 0,
      reasons,
      pendingWrites,
      oldestPendingWriteMs: Math.round(oldest),
      retryingAccounts: retrying,
      silentActors: silent,
    };
  }

  // ---- AccountsService -------------------------------------------------------------------------

  async list(): Promise<AccountView[]> {
    const accounts = await this.o.store.listAccounts();
    return accounts.map((account) => ({ account, runtime: this.runtimeView(account) }));
  }

  instances(): Promise<FleetView> {
    return this.fleet.view();
  }

  async get(accountId: string): Promise<AccountView> {
    const account = await this.requireAccount(accountId);
    return { account, runtime: this.runtimeView(account) };
  }

  async create(input: { accountId?: string }): Promise<AccountView> {
    this.refuseWhenDraining();
    const id = input.accountId ?? `account_${this.o.config.WASYNC_ENV}_${randomBytes(6).toString('hex')}`;
    const account = await this.o.store.createAccount(this.newAccount(id));
    // Started here at once when the placement gives it to this instance, else by its target's next tick.
    await this.fleet.placeNew(id);
    return { account, runtime: this.runtimeView(account) };
  }

  async remove(accountId: string, opts: { purge: boolean }): Promise<void> {
    await this.requireAccount(accountId);
    await this.fleet.locate(accountId);
    const live = this.supervisor.live(accountId);
    if (live) live.logout = true;
    this.dropStart(accountId);
    await this.supervisor.remove(accountId, Date.now() + this.o.config.SHUTDOWN_TIMEOUT_MS);
    this.slots.delete(accountId);
    this.scheduler?.onActorGone(accountId);
    await this.mediaArchive?.stopAccount(accountId);
    await this.fleet.release(accountId);
    await this.o.store.deleteAccount(accountId, opts);
  }

  async regenerateQr(accountId: string): Promise<QrView> {
    this.refuseWhenDraining();
    const account = await this.requireAccount(accountId);
    await this.fleet.claimForCommand(accountId);
    const slot = this.slotFor(accountId, account.status ?? 'created');
    const live = this.supervisor.live(accountId);
    if (live) {
      await live.handle.call('regenerateQr');
    } else {
      // A parked, failed or newly claimed account gets a fresh actor (and a fresh restart budget).
      await this.o.store.clearAuthState(accountId, this.fleet.fence(accountId) ?? undefined);
      this.adopt(accountId);
    }
    return this.qrView(accountId, slot);
  }

  async getQr(accountId: string): Promise<QrView> {
    const account = await this.requireAccount(accountId);
    await this.fleet.locate(accountId);
    return this.qrView(accountId, this.slots.get(accountId) ?? this.detachedSlot(account));
  }

  async requestPairingCode(accountId: string, phoneNumber: string): Promise<{ code: string }> {
    await this.requireAccount(accountId);
    await this.fleet.locate(accountId);
    const code = await (await this.runningActor(accountId)).call('requestPairingCode', phoneNumber);
    return { code };
  }

  async send(input: SendInput): Promise<SendResult> {
    this.refuseWhenDraining();
    // An account whose actor runs here under this instance's lease exists and is ours: no store read
    // to find that out. On Firestore a read hangs while the store is unreachable (a network cut), and a
    // send must answer STORE_UNAVAILABLE within SEND_STORE_TIMEOUT_MS, not wait on a lookup; otherwise
    // the look-ups are bounded by the same limit (test/e2e/store-outage-firestore.test.ts).
    if (!(this.fleet.owns(input.accountId) && this.supervisor.live(input.accountId))) {
      const bound = this.o.config.SEND_STORE_TIMEOUT_MS;
      await storeUnavailableAfter(this.requireAccount(input.accountId), bound);
      await storeUnavailableAfter(this.fleet.locate(input.accountId), bound);
    }
    const cmd =
      input.messageId === undefined ? { to: input.to, text: input.text } : { to: input.to, text: input.text, messageId: input.messageId };
    return (await this.runningActor(input.accountId)).call('send', cmd);
  }

  async startBackfill(accountId: string): Promise<void> {
    this.refuseWhenDraining();
    await this.requireAccount(accountId);
    await this.fleet.locate(accountId);
    const run = (await this.runningActor(accountId)).call('backfill', {
      threads: this.o.config.WHATSAPP_BACKFILL_THREADS,
      count: this.o.config.WHATSAPP_BACKFILL_COUNT,
      reason: 'manual',
    });
    run.catch((err: unknown) => this.o.logger.warn({ accountId, err: serializeError(err) }, 'backfill failed'));
  }

  /**
   * Runs the download here, on the HTTP thread, straight from the CDN to the response; only the
   * re-upload request needs the account's live socket, so only it goes to the actor (which must then
   * be running: ACCOUNT_NOT_RUNNING otherwise). Media still on the CDN downloads without the actor.
   */
  async openMedia(accountId: string, messageId: string, range?: MediaRange): Promise<MediaStream> {
    if ((await this.o.store.getAccount(accountId)) !== null) await this.fleet.locate(accountId);
    return openStoredMedia({
      store: this.o.store,
      logger: this.o.logger,
      accountId,
      messageId,
      range,
      defaultConnector: this.o.config.WA_CONNECTOR,
      reupload: async () => (await this.runningActor(accountId)).call('updateMediaMessage', messageId),
      archive: this.mediaArchive?.archive ?? null,
    });
  }

  /** Test and chaos-drill hook: makes the actor throw on its own event loop. */
  async crashActor(accountId: string, reason: string): Promise<void> {
    await (await this.runningActor(accountId)).call('crash', reason);
  }

  // ---- the actors --------------------------------------------------------------------------------

  private startActor(accountId: string): ActorIncarnation {
    const handle = new ActorHandle({
      accountId,
      env: this.o.env,
      fence: this.fleet.fence(accountId),
      // A runaway actor (a history chunk that explodes in memory) dies alone instead of taking the
      // process; the young generation is kept small, V8's default costs every worker tens of MiB of
      // RSS (both measured: docs/benchmarks.md, Footprint).
      resourceLimits: {
        maxOldGenerationSizeMb: this.o.config.ACTOR_MAX_OLD_GENERATION_MB,
        maxYoungGenerationSizeMb: this.o.config.ACTOR_MAX_YOUNG_GENERATION_MB,
      },
      onEvent: (event) => this.onActorEvent(accountId, event),
    });
    const started = handle.ready
      .then(() => handle.call('start'))
      .then((status) => {
        this.slotFor(accountId).connection = status.connection;
      });
    started.catch((err: unknown) => {
      if (handle.alive) this.o.logger.error({ accountId, err: serializeError(err) }, 'actor failed to start');
    });
    const incarnation: ActorIncarnation = {
      handle,
      logout: false,
      handover: false,
      started,
      exited: handle.exited.then((exit) => (exit.error ? `${exit.error.name}: ${exit.error.message}` : `exit code ${exit.code}`)),
      get alive() {
        return handle.alive;
      },
      // The actor flushes its writes within most of the budget; the rest is for its last status write
      // and closing its store before it answers.
      stop: (budgetMs) =>
        handle.call('stop', {
          logout: incarnation.logout,
          handover: incarnation.handover,
          timeoutMs: Math.max(0, budgetMs - forceReserveMs(budgetMs)),
        }),
      terminate: () => handle.terminate(),
    };
    return incarnation;
  }

  private onActorExit(accountId: string): void {
    this.settle(accountId);
    const slot = this.slots.get(accountId);
    if (slot) {
      slot.qr = null;
      slot.health = null;
    }
    this.scheduler?.onActorGone(accountId);
    void this.mediaArchive?.stopAccount(accountId);
  }

  private onGiveUp(accountId: string, why: string): void {
    const slot = this.slotFor(accountId);
    slot.connection = 'failed';
    slot.reason = why;
    this.o.logger.error({ accountId, reason: why }, 'actor failed, not restarting');
    this.o.store
      .patchAccount(accountId, { status: 'failed', statusReason: why, statusAt: Date.now() }, [], this.fleet.fence(accountId) ?? undefined)
      .catch((err: unknown) => this.o.logger.error({ accountId, err: serializeError(err) }, 'could not record failure'));
    this.emit('actor-event', {
      type: 'error',
      accountId,
      error: { name: 'ActorFailed', code: 'ACCOUNT_FAILED', message: why },
      context: 'supervisor',
    } satisfies ActorEvent);
  }

  private onActorEvent(accountId: string, event: ActorEvent): void {
    const slot = this.slotFor(accountId);
    if (event.type === 'connection') {
      slot.connection = event.status.connection;
      slot.reason = event.status.reason ?? slot.reason;
      slot.me = event.status.me;
      slot.pendingWrites = event.status.pendingWrites;
      if (event.status.connection !== 'qr') slot.qr = null;
      if (event.status.connection === 'open') {
        this.supervisor.resetIntensity(accountId);
        this.mediaArchive?.startAccount(accountId);
      }
      this.scheduler?.onConnection(accountId, event.status.connection);
      if (!STARTING.has(event.status.connection)) this.settle(accountId);
    } else if (event.type === 'messages') {
      // The jobs were written with the messages: wake the runner rather than wait for its idle tick.
      if (event.media) this.mediaArchive?.notify(accountId);
    } else if (event.type === 'health') {
      slot.health = { loopDelay: event.loopDelay, writes: event.writes, reportedAt: Date.now() };
    } else if (event.type === 'history-sync-status') {
      slot.historySync = { status: event.state.status, stalled: event.state.stalled };
      this.scheduler?.onHistorySync(accountId, event.state.status);
    } else if (event.type === 'caught-up') {
      this.scheduler?.onCaughtUp(accountId);
    } else if (event.type === 'qr') {
      slot.qr = event.qr;
      this.printQr(accountId, event.qr);
    } else if (event.type === 'lease-lost') {
      this.o.logger.warn({ accountId, reason: event.reason }, 'another instance owns the account now');
      this.fleet.lost(accountId);
    }
    this.emit('actor-event', event);
  }

  /** With a terminal attached (not a process manager writing stdout to a file), the QR is shown there too. */
  private printQr(accountId: string, qr: string): void {
    if (process.stdout.isTTY !== true) return;
    connectorTraits(this.o.config.WA_CONNECTOR)
      .then((connector) => connector.renderQr(qr))
      .then(
        (art) => process.stdout.write(`\nScan to pair account ${accountId}:\n${art}\n`),
        () => undefined,
      );
  }

  private async runBackfill(accountId: string, cmd: Required<BackfillCommand>): Promise<BackfillResult> {
    return (await this.runningActor(accountId)).call('backfill', cmd);
  }

  private connectedAccounts(): string[] {
    return [...this.slots.values()]
      .filter((s) => s.connection === 'open' && this.supervisor.live(s.accountId) !== null)
      .map((s) => s.accountId);
  }

  // ---- internals -------------------------------------------------------------------------------

  private newAccount(id: string): AccountRecord {
    const now = Date.now();
    return { id, createdAt: now, updatedAt: now, status: 'created', connector: this.o.config.WA_CONNECTOR, historySyncCount: 0 };
  }

  private slotFor(accountId: string, connection: ConnectionStatus = 'created'): AccountSlot {
    let slot = this.slots.get(accountId);
    if (!slot) {
      // From now on this thread's log lines mask the id wherever it appears in their text (error messages too).
      registerAccountId(accountId);
      slot = {
        accountId,
        qr: null,
        connection,
        reason: null,
        me: null,
        pendingWrites: 0,
        historySync: null,
        health: null,
        adoptedAt: Date.now(),
      };
      this.slots.set(accountId, slot);
    }
    return slot;
  }

  /** What a QR view of an account this instance does not run says: no QR here, its stored status. */
  private detachedSlot(account: AccountRecord): AccountSlot {
    return {
      accountId: account.id,
      qr: null,
      health: null,
      connection: account.status ?? 'created',
      reason: null,
      me: null,
      pendingWrites: 0,
      historySync: null,
      adoptedAt: 0,
    };
  }

  private async runningActor(accountId: string): Promise<ActorHandle> {
    // Queued for its start (a new or re-paired account, a takeover): a command waits for its turn
    // rather than failing because the start queue added some jitter or other accounts went first.
    if (this.starts.has(accountId)) await this.spawnedOrGone(accountId);
    const status = this.supervisor.status(accountId);
    if (status?.state === 'failed') {
      throw new WasyncError('ACCOUNT_FAILED', `account ${accountId} failed: ${status.reason ?? 'unknown reason'}`);
    }
    const live = this.supervisor.live(accountId);
    if (!live) throw new WasyncError('ACCOUNT_NOT_RUNNING', `account ${accountId} has no running actor`);
    return live.handle;
  }

  private async requireAccount(accountId: string): Promise<AccountRecord> {
    const account = await this.o.store.getAccount(accountId);
    if (!account) throw new NotFoundError(`account ${accountId} not found`);
    // An account this instance does not run (parked, or owned elsewhere) has no slot: its id is masked
    // in this thread's log lines from here on all the same (an error message may name it).
    registerAccountId(accountId);
    return account;
  }

  private refuseWhenDraining(): void {
    if (this.draining) throw new WasyncError('SHUTTING_DOWN', 'the server is shutting down');
  }

  private runtimeView(account: AccountRecord): AccountRuntime {
    const owner = this.fleet.ownerOf(account);
    const local = this.runtimeOf(account.id);
    if (local) return { ...local, owner };
    return {
      actor: owner?.valid && !owner.self ? 'remote' : 'stopped',
      connection: account.status ?? 'created',
      reason: account.statusReason ?? null,
      restarts: 0,
      qrAvailable: false,
      pendingWrites: 0,
      me: null,
      owner,
    };
  }

  private async qrView(accountId: string, slot: AccountSlot): Promise<QrView> {
    const qr = slot.qr;
    return {
      accountId,
      connection: slot.connection,
      qr,
      qrDataUrl: qr ? await QRCode.toDataURL(qr, { errorCorrectionLevel: 'L', margin: 1, scale: 6 }) : null,
    };
  }
}

function historySyncEntry(account: AccountRecord): HistorySyncSummary {
  const s = historySyncOf(account);
  return { status: s.status, stalled: s.stalled };
}

/** Whether `work` settled within `ms` (it goes on either way). */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true).catch(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The store's answer within `ms`, else STORE_UNAVAILABLE (a caller's bound; the work itself goes on). */
function storeUnavailableAfter<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WasyncError('STORE_UNAVAILABLE', `the store did not answer within ${ms} ms; nothing was sent`)),
      ms,
    );
  });
  work.catch(() => undefined);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
