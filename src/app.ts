import type { Config } from './config/index.js';
import { createLogger, type Logger } from './logging/logger.js';
import { openStore } from './store/open.js';
import type { Store } from './store/port.js';
import { Supervisor } from './supervisor/supervisor.js';
import { ensureApiToken } from './supervisor/api-token.js';
import { createMetrics } from './metrics/metrics.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import type { HttpDeps } from './http/deps.js';
import { inlineReads } from './http/conversation-reads.js';
import { pooledReads } from './http/read-pool.js';
import { sqliteFile } from './store/open.js';
import { createProtocolVersionService } from './connectors/index.js';
import { registerProtocolVersionMetrics } from './metrics/protocol-version-metrics.js';

export interface App {
  port: number;
  url: string;
  apiToken: string;
  /** Path of the generated token file, or null when API_TOKEN was given. */
  tokenFile: string | null;
  tokenCreated: boolean;
  store: Store;
  supervisor: Supervisor;
  logger: Logger;
  /** Stop accepting requests, flush every actor (bounded by SHUTDOWN_TIMEOUT_MS), close the store. */
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
  const logger = opts.logger ?? createLogger({ level: config.LOG_LEVEL, base: { instanceId: config.INSTANCE_ID } });
  // The env the actor threads get: the HTTP layer's store must reach the same project/emulator.
  const store = await openStore(config, logger, opts.env);
  await store.init();
  const token = config.API_TOKEN
    ? { token: config.API_TOKEN, file: null, created: false }
    : ensureApiToken(config.DATA_DIR);
  const supervisor = new Supervisor({ config, env: opts.env, store, logger });
  const metrics = createMetrics(supervisor, () => supervisor.runtimes());
  // The WhatsApp Web version (real connector only): resolved before any actor connects, so their
  // first sockets find it in the store's cache; refreshed in the background afterwards.
  const protocolVersion = await createProtocolVersionService(config, store, logger);
  const protocolStatus = () => protocolVersion?.status() ?? null;
  registerProtocolVersionMetrics(metrics.registry, protocolStatus);
  const reads =
    config.STORE === 'sqlite' && config.READ_POOL_THREADS > 0 ? pooledReads(sqliteFile(config), config.READ_POOL_THREADS) : inlineReads(store);
  const http = (opts.serve ?? createHttpServer)({
    store,
    reads,
    accounts: supervisor,
    apiToken: token.token,
    logger,
    instanceId: config.INSTANCE_ID,
    mode: () => supervisor.mode,
    metrics,
    protocolVersion: protocolStatus,
  });
  const port = await http.listen(config.HOST, config.PORT);
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  await protocolVersion?.start();
  await supervisor.start();
  let closing: Promise<void> | null = null;
  return {
    port,
    url: `http://${host}:${port}`,
    apiToken: token.token,
    tokenFile: token.file,
    tokenCreated: token.created,
    store,
    supervisor,
    logger,
    shutdown() {
      closing ??= (async () => {
        http.close();
        protocolVersion?.stop();
        await supervisor.shutdown(config.SHUTDOWN_TIMEOUT_MS);
        http.terminate();
        await reads.close();
        await store.close();
      })();
      return closing;
    },
  };
}
