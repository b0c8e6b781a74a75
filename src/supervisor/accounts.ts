import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import QRCode from 'qrcode';
import type { ActorEvent, BackfillCommand } from '../account-actor/protocol.js';
import type { Config } from '../config/index.js';
import { connectorTraits } from '../connectors/index.js';
import { NotFoundError, WasyncError, serializeError } from '../domain/errors.js';
import { MEDIA_MESSAGE_TYPES, type AccountRecord, type BackfillResult, type ConnectionStatus } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import { historySyncOf, type HistorySyncSummary } from '../domain/history-sync.js';
import { ActorHandle } from './actor-handle.js';
import { BackfillScheduler, backfillSchedulerSettings } from './backfill-scheduler.js';
import { openStoredMedia } from './media.js';
import { MediaArchiveService } from './media-archive-service.js';
import type { MediaArchive } from '../media-archive/port.js';
import type { AccountRuntime, AccountView, AccountsService, MediaRange, MediaStream, QrView, SendInput, SendResult } from './service.js';
import { type Incarnation, Supervisor, forceReserveMs } from './supervisor.js';
import { startStaggered, type StartQueueResult } from './start-queue.js';

/** Sessions that need a new pairing: starting them would only churn QR codes until a person acts. */
const PARKED: ReadonlySet<ConnectionStatus | undefined> = new Set(['logged_out', 'forbidden']);

/** Connection states of a start still in progress (the staggered start holds the account's slot meanwhile). */
const STARTING: ReadonlySet<ConnectionStatus> = new Set(['created', 'connecting', 'reconnecting']);

/** One incarnation of an account's actor, as the generic supervisor runs it. */
interface ActorIncarnation extends Incarnation {
  readonly handle: ActorHandle;
  /** Set before a stop that ends the WhatsApp session too (the account is being removed). */
  logout: boolean;
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
}

export interface AccountsOptions {
  config: Config;
  /** Environment handed to every actor (they parse their own configuration from it). */
  env: Record<string, string>;
  store: Store;
  logger: Logger;
  /** The media archive (MEDIA_ARCHIVE), or null/absent when it is off. */
  mediaArchive?: MediaArchive | null;
}

/**
 * The `AccountsService` the HTTP layer calls, over a generic `Supervisor` of account actors (one worker
 * thread each): account lifecycle, pairing, sends and backfills proxied to the actor, media served on
 * this thread, and the backfill scheduler fed by the actors' events. Emits every actor event as
 * `actor-event` (metrics listen) and each restart as `actor-restart`.
 */
export class Accounts extends EventEmitter implements AccountsService {
  private readonly o: AccountsOptions;
  private readonly supervisor: Supervisor<ActorIncarnation>;
  private readonly slots = new Map<string, AccountSlot>();
  /** Auto backfill and recent sync: one per process, fed by the actors' connection events. */
  private readonly scheduler: BackfillScheduler | null;
  /** Archives the media of the accounts running here (null when MEDIA_ARCHIVE=off). */
  readonly mediaArchive: MediaArchiveService | null;
  /** Stored accounts waiting for their turn in the staggered start (runtime `actor: 'starting'`). */
  private readonly queued = new Set<string>();
  /** Callbacks waiting for an account's start to settle (connection opened, needs a person, or gone). */
  private readonly settleWaiters = new Map<string, Array<() => void>>();
  /** The staggered start of the stored accounts: resolves when every one has started (tests, benchmarks). */
  startup: Promise<StartQueueResult> = Promise.resolve({ started: 0, timedOut: 0 });

  constructor(opts: AccountsOptions) {
    super();
    this.o = opts;
    const c = opts.config;
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
    this.mediaArchive = opts.mediaArchive
      ? new MediaArchiveService({
          archive: opts.mediaArchive,
          store: opts.store,
          config: c,
          logger: opts.logger,
          reupload: (accountId, messageId) => this.runningActor(accountId).call('updateMediaMessage', messageId),
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
          })
        : null;
  }

  /** Starts an actor for every stored account that is not waiting for a person (logged out, replaced…). */
  async start(): Promise<void> {
    const accounts = await this.o.store.listAccounts();
    if (this.o.config.WA_DEMO && !accounts.some((a) => a.id === 'demo')) {
      accounts.push(await this.o.store.createAccount(this.newAccount('demo')));
    }
    const toStart: string[] = [];
    for (const account of accounts) {
      this.slotFor(account.id, account.status ?? 'created').historySync = historySyncEntry(account);
      if (!PARKED.has(account.status)) toStart.push(account.id);
    }
    // Staggered (start-queue.ts): a few at a time with jitter, not every worker and socket at once.
    for (const id of toStart) this.queued.add(id);
    const c = this.o.config;
    this.startup = startStaggered(toStart, {
      concurrency: c.ACTOR_START_CONCURRENCY,
      jitterMs: c.ACTOR_START_JITTER_MS,
      timeoutMs: c.ACTOR_START_TIMEOUT_MS,
      cancelled: () => this.supervisor.draining,
      start: (id) => {
        // Removed meanwhile, or started by an operator's action (a new QR) before its turn.
        if (!this.queued.delete(id) || this.supervisor.live(id)) return null;
        const settled = this.settled(id);
        return this.supervisor.spawn(id) ? settled : null;
      },
    });
    this.startup.then(
      (r) => this.o.logger.info({ started: r.started, timedOut: r.timedOut }, 'stored accounts started'),
      () => undefined,
    );
    this.scheduler?.start();
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

  /** `passive` while draining: the periodic jobs start nothing (`/ready` reports it; README, Automatic backfill). */
  get mode(): 'active' | 'passive' {
    return this.draining ? 'passive' : 'active';
  }

  /**
   * Stops every actor within `budgetMs` in all (graceful flush, then terminate; see `Supervisor`).
   * Backfills in flight end with their actor; their outcome and lease release are written in what is
   * left of the budget, while the store is still open.
   */
  async shutdown(budgetMs: number): Promise<void> {
    const deadline = Date.now() + Math.max(0, budgetMs);
    this.scheduler?.stop();
    // Archive downloads in flight get a share of the budget; a job cut short keeps its lease, which
    // expires, and the job runs again after the restart (docs/media-archive.md).
    const archiveStopped = this.mediaArchive ? settleWithin(this.mediaArchive.close(), Math.min(5_000, budgetMs / 4)) : null;
    await this.supervisor.shutdown(budgetMs);
    if (archiveStopped && !(await archiveStopped))
      this.o.logger.warn('media archive downloads still running at shutdown; they resume after a restart');
    if (this.scheduler && !(await this.scheduler.settled(Math.max(0, deadline - Date.now())))) {
      this.o.logger.warn('backfill runs still recording their outcome at shutdown; their leases will expire');
    }
  }

  /** History-sync status of every account this process knows (the `wasync_history_sync_accounts` gauge). */
  historySyncStates(): HistorySyncSummary[] {
    return [...this.slots.values()].flatMap((s) => (s.historySync ? [s.historySync] : []));
  }

  runtimes(): AccountRuntime[] {
    return [...this.slots.keys()].map((id) => this.runtimeOf(id)).filter((r): r is AccountRuntime => r !== undefined);
  }

  runtimeOf(accountId: string): AccountRuntime | undefined {
    const slot = this.slots.get(accountId);
    if (!slot) return undefined;
    const child = this.supervisor.status(accountId);
    return {
      actor: this.queued.has(accountId) ? 'starting' : (child?.state ?? 'stopped'),
      connection: slot.connection,
      reason: slot.reason,
      restarts: child?.restarts ?? 0,
      qrAvailable: slot.qr !== null,
      pendingWrites: slot.pendingWrites,
      me: slot.me,
    };
  }

  // ---- AccountsService -------------------------------------------------------------------------

  async list(): Promise<AccountView[]> {
    const accounts = await this.o.store.listAccounts();
    return accounts.map((account) => ({ account, runtime: this.runtimeView(account) }));
  }

  async get(accountId: string): Promise<AccountView> {
    const account = await this.requireAccount(accountId);
    return { account, runtime: this.runtimeView(account) };
  }

  async create(input: { accountId?: string }): Promise<AccountView> {
    this.refuseWhenDraining();
    const id = input.accountId ?? `account_${this.o.config.WASYNC_ENV}_${randomBytes(6).toString('hex')}`;
    const account = await this.o.store.createAccount(this.newAccount(id));
    this.slotFor(id, 'created').historySync = historySyncEntry(account);
    this.supervisor.spawn(id);
    return { account, runtime: this.runtimeView(account) };
  }

  async remove(accountId: string, opts: { purge: boolean }): Promise<void> {
    await this.requireAccount(accountId);
    const live = this.supervisor.live(accountId);
    if (live) live.logout = true;
    this.queued.delete(accountId);
    await this.supervisor.remove(accountId, Date.now() + this.o.config.SHUTDOWN_TIMEOUT_MS);
    this.slots.delete(accountId);
    this.scheduler?.onActorGone(accountId);
    await this.mediaArchive?.stopAccount(accountId);
    await this.o.store.deleteAccount(accountId, opts);
  }

  async regenerateQr(accountId: string): Promise<QrView> {
    this.refuseWhenDraining();
    const account = await this.requireAccount(accountId);
    const slot = this.slotFor(accountId, account.status ?? 'created');
    const live = this.supervisor.live(accountId);
    if (live) {
      await live.handle.call('regenerateQr');
    } else {
      // A parked or failed account gets a fresh actor (and a fresh restart budget).
      await this.o.store.clearAuthState(accountId);
      this.supervisor.resetIntensity(accountId);
      this.supervisor.spawn(accountId);
    }
    return this.qrView(accountId, slot);
  }

  async getQr(accountId: string): Promise<QrView> {
    const account = await this.requireAccount(accountId);
    return this.qrView(accountId, this.slotFor(accountId, account.status ?? 'created'));
  }

  async requestPairingCode(accountId: string, phoneNumber: string): Promise<{ code: string }> {
    const code = await this.runningActor(accountId).call('requestPairingCode', phoneNumber);
    return { code };
  }

  async send(input: SendInput): Promise<SendResult> {
    this.refuseWhenDraining();
    await this.requireAccount(input.accountId);
    const cmd =
      input.messageId === undefined ? { to: input.to, text: input.text } : { to: input.to, text: input.text, messageId: input.messageId };
    return this.runningActor(input.accountId).call('send', cmd);
  }

  async startBackfill(accountId: string): Promise<void> {
    this.refuseWhenDraining();
    await this.requireAccount(accountId);
    const run = this.runningActor(accountId).call('backfill', {
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
    return openStoredMedia({
      store: this.o.store,
      logger: this.o.logger,
      accountId,
      messageId,
      range,
      defaultConnector: this.o.config.WA_CONNECTOR,
      reupload: () => this.runningActor(accountId).call('updateMediaMessage', messageId),
      archive: this.mediaArchive?.archive ?? null,
    });
  }

  /** Test and chaos-drill hook: makes the actor throw on its own event loop. */
  async crashActor(accountId: string, reason: string): Promise<void> {
    await this.runningActor(accountId).call('crash', reason);
  }

  // ---- the actors --------------------------------------------------------------------------------

  private startActor(accountId: string): ActorIncarnation {
    const handle = new ActorHandle({
      accountId,
      env: this.o.env,
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
      started,
      exited: handle.exited.then((exit) => (exit.error ? `${exit.error.name}: ${exit.error.message}` : `exit code ${exit.code}`)),
      get alive() {
        return handle.alive;
      },
      // The actor flushes its writes within most of the budget; the rest is for its last status write
      // and closing its store before it answers.
      stop: (budgetMs) => handle.call('stop', { logout: incarnation.logout, timeoutMs: Math.max(0, budgetMs - forceReserveMs(budgetMs)) }),
      terminate: () => handle.terminate(),
    };
    return incarnation;
  }

  private onActorExit(accountId: string): void {
    this.settle(accountId);
    const slot = this.slots.get(accountId);
    if (slot) slot.qr = null;
    this.scheduler?.onActorGone(accountId);
    void this.mediaArchive?.stopAccount(accountId);
  }

  private onGiveUp(accountId: string, why: string): void {
    const slot = this.slotFor(accountId);
    slot.connection = 'failed';
    slot.reason = why;
    this.o.logger.error({ accountId, reason: why }, 'actor failed, not restarting');
    this.o.store
      .patchAccount(accountId, { status: 'failed', statusReason: why, statusAt: Date.now() })
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
      if (event.messages.some((m) => MEDIA_MESSAGE_TYPES.has(m.messageType))) this.mediaArchive?.notify(accountId);
    } else if (event.type === 'history-sync-status') {
      slot.historySync = { status: event.state.status, stalled: event.state.stalled };
    } else if (event.type === 'caught-up') {
      this.scheduler?.onCaughtUp(accountId);
    } else if (event.type === 'qr') {
      slot.qr = event.qr;
      this.printQr(accountId, event.qr);
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

  private runBackfill(accountId: string, cmd: Required<BackfillCommand>): Promise<BackfillResult> {
    return this.runningActor(accountId).call('backfill', cmd);
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
      slot = { accountId, qr: null, connection, reason: null, me: null, pendingWrites: 0, historySync: null };
      this.slots.set(accountId, slot);
    }
    return slot;
  }

  private runningActor(accountId: string): ActorHandle {
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
    return account;
  }

  private refuseWhenDraining(): void {
    if (this.draining) throw new WasyncError('SHUTTING_DOWN', 'the server is shutting down');
  }

  private runtimeView(account: AccountRecord): AccountRuntime {
    return (
      this.runtimeOf(account.id) ?? {
        actor: 'stopped',
        connection: account.status ?? 'created',
        reason: account.statusReason ?? null,
        restarts: 0,
        qrAvailable: false,
        pendingWrites: 0,
        me: null,
      }
    );
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
