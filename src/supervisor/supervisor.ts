import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import type { Config } from '../config/index.js';
import { NotFoundError, WasyncError, serializeError } from '../domain/errors.js';
import type { AccountRecord, ConnectionStatus } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import type { ActorEvent } from '../account-actor/protocol.js';
import { ActorHandle } from './actor-handle.js';
import { RestartIntensity } from './restart-intensity.js';
import { connectorTraits } from '../connectors/index.js';
import { openStoredMedia } from './media.js';
import { BackfillScheduler, backfillSchedulerSettings } from './auto-backfill.js';
import type { AccountRuntime, AccountView, AccountsService, MediaRange, MediaStream, QrView, SendInput, SendResult } from './service.js';

/** Sessions that need a new pairing: starting them would only churn QR codes until a person acts. */
const PARKED: ReadonlySet<ConnectionStatus | undefined> = new Set(['logged_out', 'forbidden']);

interface Slot {
  accountId: string;
  handle: ActorHandle | null;
  runtime: AccountRuntime;
  qr: string | null;
  intensity: RestartIntensity;
  restartTimer: NodeJS.Timeout | null;
  /** Set while we stop the actor on purpose: its exit is not a crash. */
  stopping: boolean;
}

export interface SupervisorOptions {
  config: Config;
  /** Environment handed to every actor (they parse their own configuration from it). */
  env: Record<string, string>;
  store: Store;
  logger: Logger;
}

/**
 * Runs one actor per account and keeps it running: a crashed actor (uncaught error, exit, exceeded
 * `resourceLimits`) is restarted after a jittered exponential backoff, and more than
 * `ACTOR_MAX_RESTARTS` crashes within `ACTOR_RESTART_WINDOW_MS` park it as `failed` with the reason
 * (OTP's restart intensity), visible in the API. Also the `AccountsService` the HTTP layer calls.
 */
export class Supervisor extends EventEmitter implements AccountsService {
  private readonly o: SupervisorOptions;
  private readonly slots = new Map<string, Slot>();
  private shuttingDown = false;
  /** Auto backfill and recent sync: one per process, fed by the actors' connection events. */
  private readonly scheduler: BackfillScheduler | null;

  constructor(opts: SupervisorOptions) {
    super();
    this.o = opts;
    const settings = backfillSchedulerSettings(opts.config);
    this.scheduler =
      settings.autoBackfill || settings.recentSync
        ? new BackfillScheduler({
            ...settings,
            store: opts.store,
            logger: opts.logger,
            connectedAccounts: () =>
              [...this.slots.values()].filter((s) => s.handle?.alive && s.runtime.connection === 'open').map((s) => s.accountId),
            mode: () => this.mode,
            run: (accountId, cmd) => this.runningHandle(accountId).call('backfill', cmd),
          })
        : null;
  }

  /** Starts an actor for every stored account that is not waiting for a person (logged out, replaced…). */
  async start(): Promise<void> {
    const accounts = await this.o.store.listAccounts();
    if (this.o.config.WA_DEMO && !accounts.some((a) => a.id === 'demo')) {
      accounts.push(await this.o.store.createAccount(this.newAccount('demo')));
    }
    for (const account of accounts) {
      const slot = this.slotFor(account.id, account.status ?? 'created');
      if (!PARKED.has(account.status)) this.spawn(slot);
    }
    this.scheduler?.start();
  }

  get draining(): boolean {
    return this.shuttingDown;
  }

  /** `passive` while draining: the periodic jobs start nothing (`/ready` reports it, seed 003). */
  get mode(): 'active' | 'passive' {
    return this.shuttingDown ? 'passive' : 'active';
  }

  /**
   * Asks every actor to flush and stop, bounded by `timeoutMs`; stragglers are terminated. Backfills
   * in flight end with their actor; their outcome and lease release are written before this returns,
   * while the store is still open.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.shuttingDown = true;
    this.scheduler?.stop();
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      [...this.slots.values()].map(async (slot) => {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        await this.stopSlot(slot, { logout: false, deadline });
      }),
    );
    if (this.scheduler && !(await this.scheduler.settled(Math.max(1_000, deadline - Date.now())))) {
      this.o.logger.warn('backfill runs still recording their outcome at shutdown; their leases will expire');
    }
  }

  runtimes(): AccountRuntime[] {
    return [...this.slots.values()].map((s) => s.runtime);
  }

  runtimeOf(accountId: string): AccountRuntime | undefined {
    return this.slots.get(accountId)?.runtime;
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
    const slot = this.slotFor(id, 'created');
    this.spawn(slot);
    return { account, runtime: slot.runtime };
  }

  async remove(accountId: string, opts: { purge: boolean }): Promise<void> {
    await this.requireAccount(accountId);
    const slot = this.slots.get(accountId);
    if (slot) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      await this.stopSlot(slot, { logout: true, deadline: Date.now() + this.o.config.SHUTDOWN_TIMEOUT_MS });
      this.slots.delete(accountId);
    }
    this.scheduler?.onActorGone(accountId);
    await this.o.store.deleteAccount(accountId, opts);
  }

  async regenerateQr(accountId: string): Promise<QrView> {
    this.refuseWhenDraining();
    const account = await this.requireAccount(accountId);
    const slot = this.slotFor(accountId, account.status ?? 'created');
    if (slot.handle?.alive) {
      await slot.handle.call('regenerateQr');
    } else {
      // A parked or failed account gets a fresh actor (and a fresh restart budget).
      await this.o.store.clearAuthState(accountId);
      slot.intensity.reset();
      this.spawn(slot);
    }
    return this.qrView(accountId, slot);
  }

  async getQr(accountId: string): Promise<QrView> {
    const account = await this.requireAccount(accountId);
    return this.qrView(accountId, this.slotFor(accountId, account.status ?? 'created'));
  }

  async requestPairingCode(accountId: string, phoneNumber: string): Promise<{ code: string }> {
    const code = await this.runningHandle(accountId).call('requestPairingCode', phoneNumber);
    return { code };
  }

  async send(input: SendInput): Promise<SendResult> {
    this.refuseWhenDraining();
    await this.requireAccount(input.accountId);
    const cmd =
      input.messageId === undefined ? { to: input.to, text: input.text } : { to: input.to, text: input.text, messageId: input.messageId };
    return this.runningHandle(input.accountId).call('send', cmd);
  }

  async startBackfill(accountId: string): Promise<void> {
    this.refuseWhenDraining();
    await this.requireAccount(accountId);
    const handle = this.runningHandle(accountId);
    const run = handle.call('backfill', {
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
      reupload: () => this.runningHandle(accountId).call('updateMediaMessage', messageId),
    });
  }

  /** Test and chaos-drill hook: makes the actor throw on its own event loop. */
  async crashActor(accountId: string, reason: string): Promise<void> {
    await this.runningHandle(accountId).call('crash', reason);
  }

  // ---- internals -------------------------------------------------------------------------------

  private newAccount(id: string): AccountRecord {
    const now = Date.now();
    return { id, createdAt: now, updatedAt: now, status: 'created', connector: this.o.config.WA_CONNECTOR, historySyncCount: 0 };
  }

  private slotFor(accountId: string, connection: ConnectionStatus): Slot {
    let slot = this.slots.get(accountId);
    if (!slot) {
      slot = {
        accountId,
        handle: null,
        qr: null,
        stopping: false,
        restartTimer: null,
        intensity: new RestartIntensity({
          maxRestarts: this.o.config.ACTOR_MAX_RESTARTS,
          windowMs: this.o.config.ACTOR_RESTART_WINDOW_MS,
          baseDelayMs: this.o.config.ACTOR_BACKOFF_BASE_MS,
          maxDelayMs: this.o.config.ACTOR_BACKOFF_MAX_MS,
        }),
        runtime: { actor: 'stopped', connection, reason: null, restarts: 0, qrAvailable: false, pendingWrites: 0, me: null },
      };
      this.slots.set(accountId, slot);
    }
    return slot;
  }

  private spawn(slot: Slot): void {
    if (this.shuttingDown) return;
    slot.stopping = false;
    slot.runtime.actor = 'starting';
    const handle = new ActorHandle({
      accountId: slot.accountId,
      env: this.o.env,
      // A runaway actor (a history chunk that explodes in memory) dies alone instead of taking the process.
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
      onEvent: (event) => this.onActorEvent(slot, event),
    });
    slot.handle = handle;
    void handle.exited.then((exit) =>
      this.onExit(slot, handle, exit.error ? `${exit.error.name}: ${exit.error.message}` : `exit code ${exit.code}`),
    );
    handle.ready
      .then(() => handle.call('start'))
      .then((status) => {
        if (slot.handle === handle) slot.runtime.actor = 'running';
        slot.runtime.connection = status.connection;
      })
      .catch((err: unknown) => {
        if (handle.alive) this.o.logger.error({ accountId: slot.accountId, err: serializeError(err) }, 'actor failed to start');
      });
  }

  private onExit(slot: Slot, handle: ActorHandle, reason: string): void {
    if (slot.handle !== handle) return;
    slot.handle = null;
    this.scheduler?.onActorGone(slot.accountId);
    slot.qr = null;
    slot.runtime.qrAvailable = false;
    if (slot.stopping || this.shuttingDown) {
      slot.runtime.actor = 'stopped';
      return;
    }
    const decision = slot.intensity.onCrash(Date.now());
    slot.runtime.restarts += 1;
    slot.runtime.reason = reason;
    if (decision.action === 'give-up') {
      slot.runtime.actor = 'failed';
      slot.runtime.connection = 'failed';
      const why =
        `restart intensity exceeded: ${decision.restartsInWindow} crashes ` +
        `within ${this.o.config.ACTOR_RESTART_WINDOW_MS} ms; last: ${reason}`;
      slot.runtime.reason = why;
      this.o.logger.error({ accountId: slot.accountId, reason: why }, 'actor failed, not restarting');
      this.o.store
        .patchAccount(slot.accountId, { status: 'failed', statusReason: why, statusAt: Date.now() })
        .catch((err: unknown) => this.o.logger.error({ accountId: slot.accountId, err: serializeError(err) }, 'could not record failure'));
      this.emit('actor-event', {
        type: 'error',
        accountId: slot.accountId,
        error: { name: 'ActorFailed', code: 'ACCOUNT_FAILED', message: why },
        context: 'supervisor',
      } satisfies ActorEvent);
      return;
    }
    slot.runtime.actor = 'restarting';
    this.o.logger.warn(
      { accountId: slot.accountId, reason, delayMs: decision.delayMs, restarts: decision.restartsInWindow },
      'actor crashed, restarting',
    );
    this.emit('actor-restart', { accountId: slot.accountId, reason });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      this.spawn(slot);
    }, decision.delayMs);
  }

  private onActorEvent(slot: Slot, event: ActorEvent): void {
    if (event.type === 'connection') {
      slot.runtime.connection = event.status.connection;
      slot.runtime.reason = event.status.reason ?? slot.runtime.reason;
      slot.runtime.me = event.status.me;
      slot.runtime.pendingWrites = event.status.pendingWrites;
      if (event.status.connection !== 'qr') {
        slot.qr = null;
        slot.runtime.qrAvailable = false;
      }
      if (event.status.connection === 'open') slot.intensity.reset();
      this.scheduler?.onConnection(slot.accountId, event.status.connection);
    } else if (event.type === 'caught-up') {
      this.scheduler?.onCaughtUp(slot.accountId);
    } else if (event.type === 'qr') {
      slot.qr = event.qr;
      slot.runtime.qrAvailable = true;
      // A terminal attached (not a process manager writing stdout to a file): show the QR there.
      if (process.stdout.isTTY === true) {
        connectorTraits(this.o.config.WA_CONNECTOR)
          .then((connector) => connector.renderQr(event.qr))
          .then(
            (art) => process.stdout.write(`\nScan to pair account ${slot.accountId}:\n${art}\n`),
            () => undefined,
          );
      }
    }
    this.emit('actor-event', event);
  }

  private async stopSlot(slot: Slot, opts: { logout: boolean; deadline: number }): Promise<void> {
    const handle = slot.handle;
    if (!handle?.alive) return;
    slot.stopping = true;
    const budget = Math.max(0, opts.deadline - Date.now());
    const stopped = handle.call('stop', { logout: opts.logout, timeoutMs: budget }).then(
      () => true,
      () => false,
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), budget + 1_000);
    });
    const ok = await Promise.race([stopped, timedOut]);
    clearTimeout(timer);
    if (!ok) this.o.logger.warn({ accountId: slot.accountId }, 'actor did not stop in time, terminating');
    await handle.terminate();
    slot.runtime.actor = 'stopped';
  }

  private runningHandle(accountId: string): ActorHandle {
    const slot = this.slots.get(accountId);
    if (slot?.runtime.actor === 'failed') {
      throw new WasyncError('ACCOUNT_FAILED', `account ${accountId} failed: ${slot.runtime.reason ?? 'unknown reason'}`);
    }
    if (!slot?.handle?.alive) throw new WasyncError('ACCOUNT_NOT_RUNNING', `account ${accountId} has no running actor`);
    return slot.handle;
  }

  private async requireAccount(accountId: string): Promise<AccountRecord> {
    const account = await this.o.store.getAccount(accountId);
    if (!account) throw new NotFoundError(`account ${accountId} not found`);
    return account;
  }

  private refuseWhenDraining(): void {
    if (this.shuttingDown) throw new WasyncError('SHUTTING_DOWN', 'the server is shutting down');
  }

  private runtimeView(account: AccountRecord): AccountRuntime {
    const slot = this.slots.get(account.id);
    if (slot) return { ...slot.runtime };
    return {
      actor: 'stopped',
      connection: account.status ?? 'created',
      reason: account.statusReason ?? null,
      restarts: 0,
      qrAvailable: false,
      pendingWrites: 0,
      me: null,
    };
  }

  private async qrView(accountId: string, slot: Slot): Promise<QrView> {
    const qr = slot.qr;
    return {
      accountId,
      connection: slot.runtime.connection,
      qr,
      qrDataUrl: qr ? await QRCode.toDataURL(qr, { errorCorrectionLevel: 'L', margin: 1, scale: 6 }) : null,
    };
  }
}
