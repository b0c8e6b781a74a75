import os from 'node:os';
import type { Config } from './config/index.js';
import { createLogger, type Logger } from './logging/logger.js';
import { lockStoreForProcess, openStore } from './store/open.js';
import { exposedDataPaths } from './store/file-modes.js';
import type { Store } from './store/port.js';
import { Accounts } from './supervisor/accounts.js';
import { forceReserveMs } from './supervisor/supervisor.js';
import { ensureApiToken } from './supervisor/api-token.js';
import { ApiKeys } from './supervisor/api-keys.js';
import { createMetrics } from './metrics/metrics.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import type { HttpDeps } from './http/deps.js';
import { startHealthListener } from './http/health-listener.js';
import { inlineReads } from './http/conversation-reads.js';
import { pooledReads } from './http/read-pool.js';
import { cachedReads } from './http/read-cache.js';
import { registerReadCacheMetrics } from './metrics/read-cache-metrics.js';
import { createProtocolVersionService } from './connectors/index.js';
import { registerProtocolVersionMetrics } from './metrics/protocol-version-metrics.js';
import { registerHistorySyncMetrics } from './metrics/history-sync-metrics.js';
import { registerMediaArchiveMetrics } from './metrics/media-archive-metrics.js';
import { registerAccountMetrics } from './metrics/account-metrics.js';
import { openMediaArchive } from './media-archive/open.js';
import { ConfigError } from './domain/errors.js';
import type { ActorEvent } from './account-actor/protocol.js';
import { FeedHub } from './feed/hub.js';
import { FeedRetention } from './feed/retention.js';
import { WebhookAdmin } from './feed/webhooks/admin.js';
import { WebhookClient } from './feed/webhooks/client.js';
import { DEFAULT_WEBHOOK_SETTINGS, WebhookDispatcher } from './feed/webhooks/dispatcher.js';
import { createAuthenticator } from './http/auth.js';
import { renderEventFrame, renderWebhookBody } from './http/feed-wire.js';
import { registerFeedMetrics } from './metrics/feed-metrics.js';

export interface App {
  port: number;
  url: string;
  apiToken: string;
  /** The `HEALTH_PORT` listener's port (HTTP/1.0 health checks), or null when it is off. */
  healthPort: number | null;
  /** Path of the generated token file, or null when API_TOKEN was given. */
  tokenFile: string | null;
  tokenCreated: boolean;
  store: Store;
  /** The accounts service: the supervisor of the account actors, and what the API calls. */
  accounts: Accounts;
  /** The live feed: the hub every websocket subscription and webhook endpoint reads through. */
  feed: { hub: FeedHub; webhooks: WebhookAdmin; dispatcher: WebhookDispatcher; retention: FeedRetention };
  logger: Logger;
  /** Stop accepting requests, flush every actor, close the store: all within SHUTDOWN_TIMEOUT_MS. */
  shutdown(): Promise<void>;
}

export interface AppOptions {
  /** The environment handed to actor threads (they parse their own configuration from it). */
  env: Record<string, string>;
  logger?: Logger;
  /** The HTTP front end; uWebSockets.js unless a benchmark swaps in a baseline. */
  serve?: (deps: HttpDeps) => HttpServer;
}

/**
 * Wires one wasync process: store, supervisor with an actor per account, metrics, HTTP. Used by the
 * entry point, the end-to-end tests and the benchmarks, so all three run the same thing.
 */
export async function startApp(config: Config, opts: AppOptions): Promise<App> {
  const logger =
    opts.logger ?? createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, base: { instanceId: config.INSTANCE_ID } });
  // SQLite: refuse to start next to another process on the same DATA_DIR (before anything is written).
  const lock = await lockStoreForProcess(config);
  // The env the actor threads get: the HTTP layer's store must reach the same project/emulator.
  const store = await openStore(config, logger, opts.env).catch((err: unknown) => {
    lock.release();
    throw err;
  });
  await store.init();
  const token = config.API_TOKEN ? { token: config.API_TOKEN, file: null, created: false } : ensureApiToken(config.DATA_DIR);
  for (const exposed of exposedDataPaths(config.DATA_DIR)) {
    logger.warn(
      { path: exposed.path, mode: exposed.mode },
      'readable by other users: DATA_DIR holds WhatsApp credentials and the API token; chmod 700 the directory, 600 its files',
    );
  }
  // MEDIA_ARCHIVE: checked now (the directory writable, the bucket reachable) so a misconfiguration stops start-up.
  const mediaArchive = await openMediaArchive(config, opts.env).catch(async (err: unknown) => {
    await store.close();
    lock.release();
    throw err;
  });
  let advertised: string | null = config.INSTANCE_URL ?? null;
  const accounts = new Accounts({ config, env: opts.env, store, logger, mediaArchive, url: () => advertised });
  const metrics = createMetrics(
    accounts,
    () => accounts.runtimes(),
    () => accounts.writeHealth(),
  );
  registerHistorySyncMetrics(metrics.registry, accounts, () => accounts.historySyncStates());
  registerAccountMetrics(metrics.registry, accounts, () => store.listAccounts());
  if (accounts.mediaArchive) registerMediaArchiveMetrics(metrics.registry, accounts.mediaArchive);
  // The WhatsApp Web version (real connector only): resolved before any actor connects, so their
  // first sockets find it in the store's cache; refreshed in the background afterwards.
  const protocolVersion = await createProtocolVersionService(config, store, logger);
  const protocolStatus = () => protocolVersion?.status() ?? null;
  registerProtocolVersionMetrics(metrics.registry, protocolStatus);
  const pooled = config.STORE === 'sqlite' && config.READ_POOL_THREADS > 0;
  const storeReads = pooled ? pooledReads(opts.env, config.READ_POOL_THREADS) : inlineReads(store);
  // In front of them, on this (the HTTP) thread: pages served while the store's change token says
  // nothing was committed since (README, Conditional requests and caching). Firestore has no token.
  const readCacheMetrics = registerReadCacheMetrics(metrics.registry, () => reads.stats().bytes);
  const reads = cachedReads(storeReads, {
    maxBytes: config.READ_CACHE_MB * 1024 * 1024,
    changeToken: store.changeToken ? () => store.changeToken!() : null,
    onResult: readCacheMetrics.observe,
    // Polled pages are read again on this thread after a commit, others through the pool (read-cache.ts, isHot).
    ...(pooled ? { hot: inlineReads(store) } : {}),
  });

  // The live feed (docs/live-events.md): the hub tails the store's change log, woken by the actors'
  // post-commit events; webhooks are dispatched from it; the retention prunes the log.
  if (config.WEBHOOK_URL && !config.WEBHOOK_SECRET)
    throw new ConfigError('invalid configuration:\n  WEBHOOK_SECRET: required with WEBHOOK_URL');
  const feedLogger = logger.child({ component: 'feed' });
  const apiKeys = new ApiKeys(store);
  const auth = createAuthenticator({
    apiToken: token.token,
    keys: apiKeys,
    ticketTtlMs: config.FEED_TICKET_TTL_SECONDS * 1000,
    useOnce: (key, until) => store.useOnce(key, until),
  });
  const hub = new FeedHub({ store, logger: feedLogger, render: renderEventFrame });
  await hub.start();
  accounts.on('actor-event', (e: ActorEvent) => {
    if (e.type === 'changes') hub.notify([e.accountId]);
  });
  const webhookClient = new WebhookClient({
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    connectTimeoutMs: config.WEBHOOK_CONNECT_TIMEOUT_MS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
  });
  let dispatcher: WebhookDispatcher | null = null;
  const feedMetrics = registerFeedMetrics(metrics.registry, {
    subscribers: () => hub.subscriberCount,
    webhookEndpoints: () => dispatcher?.lastListed ?? [],
  });
  dispatcher = new WebhookDispatcher({
    store,
    hub,
    post: (url, body, headers, signal) => webhookClient.post(url, body, headers, signal),
    holder: config.INSTANCE_ID,
    logger: logger.child({ component: 'webhooks' }),
    render: renderWebhookBody,
    settings: {
      ...DEFAULT_WEBHOOK_SETTINGS,
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      maxAgeMs: config.WEBHOOK_MAX_AGE_HOURS * 3_600_000,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: config.WEBHOOK_RETRY_MAX_MS,
    },
    metrics: feedMetrics.webhooks,
  });
  const webhooks = new WebhookAdmin({ store, hub, dispatcher, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE });
  await webhooks.syncEnv({ url: config.WEBHOOK_URL, secret: config.WEBHOOK_SECRET, events: config.WEBHOOK_EVENTS });
  const retention = new FeedRetention({ store, hub, retentionMs: config.FEED_RETENTION_HOURS * 3_600_000, logger: feedLogger });
  const httpDeps: HttpDeps = {
    store,
    reads,
    accounts,
    apiToken: token.token,
    apiKeys,
    ...(config.CORS_ORIGINS ? { corsOrigins: config.CORS_ORIGINS } : {}),
    logger,
    instanceId: config.INSTANCE_ID,
    mode: () => accounts.mode,
    metrics,
    protocolVersion: protocolStatus,
    writeHealth: () => accounts.writeHealth(),
    feed: {
      hub,
      webhooks,
      auth,
      maxBufferedBytes: config.FEED_MAX_BUFFERED_KB * 1024,
      idleTimeoutSeconds: config.FEED_IDLE_TIMEOUT_SECONDS,
      metrics: feedMetrics.socket,
    },
    forwarding: { enabled: config.FORWARD_COMMANDS, selfUrl: () => advertised },
  };
  const http = (opts.serve ?? createHttpServer)(httpDeps);
  const port = await http.listen(config.HOST, config.PORT);
  const healthListener = config.HEALTH_PORT === undefined ? null : await startHealthListener(httpDeps, config.HOST, config.HEALTH_PORT);
  dispatcher.start();
  retention.start();
  const wildcard = config.HOST === '0.0.0.0' || config.HOST === '::';
  const host = wildcard ? '127.0.0.1' : config.HOST;
  // Other instances reach this one here (README, Running several instances): the hostname when
  // listening on every interface, which containers and VMs resolve on their network.
  advertised ??= `http://${wildcard ? os.hostname() : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  await protocolVersion?.start();
  await accounts.start();
  let closing: Promise<void> | null = null;
  return {
    port,
    healthPort: healthListener?.port ?? null,
    url: `http://${host}:${port}`,
    apiToken: token.token,
    tokenFile: token.file,
    tokenCreated: token.created,
    store,
    accounts,
    feed: { hub, webhooks, dispatcher, retention },
    logger,
    shutdown() {
      closing ??= shutdownWithin(config.SHUTDOWN_TIMEOUT_MS, logger, {
        stopAccepting: () => {
          http.close();
          void healthListener?.close();
          protocolVersion?.stop();
        },
        stopActors: (budgetMs) => accounts.shutdown(budgetMs),
        close: async () => {
          // Webhook workers write their progress and release their leases while the store is open.
          await dispatcher.stop();
          await retention.stop();
          hub.stop();
          webhookClient.close();
          http.terminate();
          await reads.close();
          await mediaArchive?.close();
          await store.close();
          lock.release();
        },
      });
      return closing;
    },
  };
}

/**
 * One budget for the whole shutdown, enforced: the actors (graceful flush, then terminate) and the
 * backfill runs recording their outcome get it less a reserve, the closing steps get the reserve, and
 * this resolves by the deadline even if a step hangs (the process then exits with it unfinished).
 */
export async function shutdownWithin(
  budgetMs: number,
  logger: Logger,
  steps: { stopAccepting: () => void; stopActors: (budgetMs: number) => Promise<void>; close: () => Promise<void> },
): Promise<void> {
  const deadline = Date.now() + Math.max(0, budgetMs);
  steps.stopAccepting();
  const work = (async () => {
    await steps.stopActors(budgetMs - forceReserveMs(budgetMs));
    await steps.close();
  })();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
  });
  let outcome: 'done' | 'late';
  try {
    outcome = await Promise.race([work.then(() => 'done' as const), late]);
  } finally {
    clearTimeout(timer);
  }
  if (outcome === 'late') {
    logger.error({ budgetMs }, 'shutdown budget (SHUTDOWN_TIMEOUT_MS) spent before every step finished; stopping anyway');
    work.catch(() => undefined);
  }
}
