import makeWASocket, {
  DEFAULT_CONNECTION_CONFIG,
  type BaileysEventMap,
  type UserFacingSocketConfig,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { Config } from '../../config/index.js';
import type { Connector, ConnectorContext, WaSocket } from '../types.js';
import type { Logger } from '../../logging/logger.js';
import { useStoreAuthState } from './auth-state.js';
import { HistoryJournal } from './history-journal.js';
import { HistoryTap, type HistoryDownload } from './history-tap.js';
import { renderQrToTerminal } from '../qr.js';
import { baileysMedia } from './media.js';
import type { SessionRecorder } from './recorder.js';
import { baileysLogLevel, buildSocketConfig, storeGroupMetadata, storeMessageLookup } from './socket-config.js';
import type { Store } from '../../store/port.js';
import type { SettingsStore } from '../../store/settings.js';
import { WaVersionService } from './wa-version-service.js';
import { formatWaVersion, isVersionRejection, WaVersionResolver, type WaVersion, type WaVersionFetcher } from './wa-version.js';

export interface BaileysConnectorOptions {
  /** WHATSAPP_SYNC_FULL_HISTORY */
  syncFullHistory: boolean;
  /** LOG_LEVEL: Baileys' own logs stay at warn unless this is debug or trace. */
  logLevel: Config['LOG_LEVEL'];
  /** AUTH_STATE_KEY */
  authStateKey?: Buffer;
  /** WA_RECORD_DIR */
  recordDir?: string;
  /**
   * Journal history-sync notifications before Baileys acks them and replay the uncommitted ones on
   * the next connection (docs/history-durability.md). Needs the actor to call `onHistoryCommitted`;
   * without it every journaled chunk is replayed MAX_REPLAY_ATTEMPTS times, then dropped.
   */
  durableHistory?: boolean;
  /** Tests inject a socket double here; default Baileys' `makeWASocket`. */
  makeSocket?: (config: UserFacingSocketConfig) => WASocket;
  /** Tests replace the history download (replays). */
  historyDownload?: HistoryDownload;
  now?: () => number;
  /**
   * The WhatsApp Web version (wa-version.ts): `pinned` is WA_VERSION; otherwise each socket uses the
   * version cached in the store, and a refusal by WhatsApp refetches it. Tests inject the fetcher.
   */
  waVersion?: { pinned?: WaVersion | null; fetcher?: WaVersionFetcher; timeoutMs?: number; maxAgeMs?: number };
}

interface HistoryTag {
  journal: HistoryJournal;
  ids: string[];
}

/**
 * The real WhatsApp connector. One socket per `connect()`; the actor owns the reconnect policy
 * (src/account-actor/disconnect-policy.ts). Between sockets of one account the connector keeps only
 * what must outlive a socket: the pending auth-state writes, so that the socket created after the
 * pairing restart (515) reads the creds the pairing wrote and does not show a second QR.
 */
export class BaileysConnector implements Connector {
  readonly kind = 'baileys' as const;
  readonly media = baileysMedia;
  private readonly o: BaileysConnectorOptions;
  private readonly now: () => number;
  /** Per account: resolves once every auth-state and journal write issued so far has settled. */
  private readonly writes = new Map<string, () => Promise<void>>();
  private readonly historyTags = new WeakMap<object, HistoryTag>();
  /** One resolver per store (an actor thread has one), so concurrent refetches share one request. */
  private readonly versions = new WeakMap<Store, WaVersionResolver>();
  /** The version each account's latest socket announced: what a refusal refused. */
  private readonly announced = new Map<string, WaVersion>();

  constructor(opts: BaileysConnectorOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
  }

  async connect(ctx: ConnectorContext): Promise<WaSocket> {
    // The previous socket's last creds.update (pairing success, just before the 515) may still be in flight.
    await this.settled(ctx.accountId);

    const logger: Logger = ctx.logger.child({ class: 'baileys' }, { level: baileysLogLevel(this.o.logLevel) });
    const authOpts: { key?: Buffer; logger: Logger } = { logger };
    if (this.o.authStateKey) authOpts.key = this.o.authStateKey;
    const auth = await useStoreAuthState(ctx.store, ctx.accountId, authOpts);

    let tap: HistoryTap | null = null;
    let journal: HistoryJournal | null = null;
    if (this.o.durableHistory ?? true) {
      journal = await HistoryJournal.open(ctx.store, auth.codec, ctx.logger);
      const tapDeps: ConstructorParameters<typeof HistoryTap>[0] = { journal, creds: auth.state.creds, logger: ctx.logger, now: this.now };
      if (this.o.historyDownload) tapDeps.download = this.o.historyDownload;
      tap = new HistoryTap(tapDeps);
    }
    const openJournal = journal;
    this.writes.set(ctx.accountId, async () => {
      await auth.settled();
      await openJournal?.idle();
    });

    const version = await this.versionResolver(ctx).forConnect();
    this.announced.set(ctx.accountId, version.version);
    ctx.logger.info({ waVersion: formatWaVersion(version.version), waVersionSource: version.source }, 'connecting to WhatsApp');
    const config = buildSocketConfig({
      auth: auth.state,
      logger,
      syncFullHistory: this.o.syncFullHistory,
      getMessage: storeMessageLookup(ctx.store, ctx.accountId, ctx.logger),
      cachedGroupMetadata: storeGroupMetadata(ctx.store, ctx.accountId, ctx.logger),
      makeSignalRepository: tap?.wrapSignalRepository(DEFAULT_CONNECTION_CONFIG.makeSignalRepository),
      version: version.version,
    });
    // Loaded only in record mode: it pulls in the simulated phone's scenario writer.
    const recording = this.o.recordDir ? await import('./recorder.js') : null;
    const sock = (this.o.makeSocket ?? makeWASocket)(config);

    if (tap) tapEmit(sock.ev, tap, ctx.logger);
    let closed = false;
    let replayStarted = false;
    let recorder: SessionRecorder | null = null;
    if (recording && this.o.recordDir) {
      recorder = recording.startRecording(sock.ev, { dir: this.o.recordDir, accountId: ctx.accountId, logger: ctx.logger, now: this.now });
    }

    sock.ev.on('creds.update', () => {
      auth
        .saveCreds()
        .catch((err: unknown) =>
          ctx.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'could not save the WhatsApp session (creds)'),
        );
    });

    if (tap && journal) {
      const t = tap;
      const j = journal;
      sock.ev.on('messaging-history.set', (data) => {
        const ids = t.claim();
        if (ids.length > 0) this.historyTags.set(data, { journal: j, ids });
      });
    }

    sock.ev.on('connection.update', (u) => {
      if (u.receivedPendingNotifications && tap && !replayStarted && !closed) {
        replayStarted = true;
        tap
          .replay(sock, DEFAULT_CONNECTION_CONFIG.options, () => closed)
          .catch((err: unknown) => ctx.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'history replay stopped'));
      }
      if (u.connection === 'close') {
        closed = true;
        void recorder?.close();
        auth.settled().catch(() => undefined);
      }
    });

    return sock;
  }

  /**
   * The actor calls this with a `messaging-history.set` event object once everything it carried is
   * committed (or deliberately skipped, e.g. a dry run): the chunks it contained leave the journal and
   * are not replayed. Events without journaled chunks are ignored.
   */
  renderQr(qr: string): Promise<string> {
    return renderQrToTerminal(qr);
  }

  async onHistoryCommitted(event: BaileysEventMap['messaging-history.set']): Promise<void> {
    const tag = this.historyTags.get(event);
    if (!tag) return;
    this.historyTags.delete(event);
    await tag.journal.commit(tag.ids);
  }

  /**
   * A close that looks like WhatsApp refusing our client version (405) is repaired by refetching the
   * version (or taking the one another thread or instance already cached); the actor then retries
   * once at once. Any other close: null, the actor's backoff policy decides.
   */
  repairBeforeRetry(ctx: ConnectorContext, error: unknown): Promise<void> | null {
    if (!isVersionRejection(error)) return null;
    const rejected = this.announced.get(ctx.accountId);
    if (!rejected) return null;
    return this.versionResolver(ctx)
      .afterRejection(rejected)
      .then((next) => {
        ctx.logger.warn(
          { rejected: formatWaVersion(rejected), waVersion: formatWaVersion(next.version), waVersionSource: next.source },
          formatWaVersion(next.version) === formatWaVersion(rejected)
            ? 'WhatsApp refused the client version and no newer one is known; retrying once with it'
            : 'WhatsApp refused the client version; retrying once with the current one',
        );
      });
  }

  private versionResolver(ctx: ConnectorContext): WaVersionResolver {
    let resolver = this.versions.get(ctx.store);
    if (!resolver) {
      const v = this.o.waVersion ?? {};
      resolver = new WaVersionResolver({
        settings: ctx.store,
        logger: ctx.logger,
        pinned: v.pinned ?? null,
        ...(v.fetcher ? { fetcher: v.fetcher } : {}),
        ...(v.timeoutMs !== undefined ? { timeoutMs: v.timeoutMs } : {}),
        maxAgeMs: v.maxAgeMs ?? Number.POSITIVE_INFINITY,
        now: this.now,
      });
      this.versions.set(ctx.store, resolver);
    }
    return resolver;
  }

  /**
   * Resolves once the account's auth-state and journal writes issued so far have landed. The actor
   * should await it before wiping the session after a 401 (a late creds write could otherwise land
   * after the wipe and resurrect a dead session).
   */
  async settled(accountId: string): Promise<void> {
    await this.writes.get(accountId)?.();
  }
}

/** Observes every event Baileys emits before its event buffer, for the history tap. */
function tapEmit(ev: WASocket['ev'], tap: HistoryTap, logger: Logger): void {
  const emit = ev.emit.bind(ev);
  // Baileys' layers share this one `ev` object and call `ev.emit` through it, so replacing the
  // property is seen by chats.js and process-message.js alike.
  ev.emit = <T extends keyof BaileysEventMap>(event: T, arg: BaileysEventMap[T]): boolean => {
    try {
      tap.observe(event, arg);
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err), event }, 'history tap failed on an event');
    }
    return emit(event, arg);
  };
}

export function baileysConnectorFromConfig(config: Config): BaileysConnector {
  const opts: BaileysConnectorOptions = {
    syncFullHistory: config.WHATSAPP_SYNC_FULL_HISTORY,
    logLevel: config.LOG_LEVEL,
    durableHistory: true,
  };
  if (config.AUTH_STATE_KEY) opts.authStateKey = config.AUTH_STATE_KEY;
  if (config.WA_RECORD_DIR) opts.recordDir = config.WA_RECORD_DIR;
  opts.waVersion = {
    pinned: config.WA_VERSION ?? null,
    timeoutMs: config.WA_VERSION_FETCH_TIMEOUT_MS,
    maxAgeMs: config.WA_VERSION_REFRESH_MS,
  };
  return new BaileysConnector(opts);
}

/** The main thread's WhatsApp Web version service (start-up resolve, periodic refresh, status). */
export function waVersionServiceFromConfig(config: Config, settings: SettingsStore, logger: Logger): WaVersionService {
  return new WaVersionService({
    settings,
    logger,
    pinned: config.WA_VERSION ?? null,
    // A tenth under the tick: the cache written a moment after one tick's fetch must count as stale
    // at the next tick, or timer drift would skip every other refresh.
    maxAgeMs: Math.floor(config.WA_VERSION_REFRESH_MS * 0.9),
    refreshMs: config.WA_VERSION_REFRESH_MS,
    timeoutMs: config.WA_VERSION_FETCH_TIMEOUT_MS,
  });
}
