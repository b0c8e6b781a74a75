import { loadConfig, type Config } from './config/index.js';
import { ConfigError, serializeError } from './domain/errors.js';
import { createLogger, type Logger } from './logging/logger.js';
import { openStore } from './store/open.js';
import { Supervisor } from './supervisor/supervisor.js';
import { ensureApiToken } from './supervisor/api-token.js';
import { createMetrics } from './metrics/metrics.js';
import { createHttpServer } from './http/server.js';

/**
 * Process entry: configuration, store, supervisor, HTTP. Shutdown on SIGTERM/SIGINT stops accepting
 * requests, lets every actor flush (bounded by SHUTDOWN_TIMEOUT_MS, the runbook's 30 s), closes the
 * store and exits 0; a second signal exits at once.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`wasync: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, base: { instanceId: config.INSTANCE_ID } });
  const store = await openStore(config, logger);
  await store.init();

  const token = config.API_TOKEN ? { token: config.API_TOKEN, file: null, created: false } : ensureApiToken(config.DATA_DIR);
  const supervisor = new Supervisor({ config, env: stringEnv(process.env), store, logger });
  const metrics = createMetrics(supervisor, () => supervisor.runtimes());
  const http = createHttpServer({
    store,
    accounts: supervisor,
    apiToken: token.token,
    logger,
    instanceId: config.INSTANCE_ID,
    mode: () => (supervisor.draining ? 'passive' : 'active'),
    metrics,
  });
  const port = await http.listen(config.HOST, config.PORT);
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  logger.info({ url, store: config.STORE, connector: config.WA_CONNECTOR }, 'wasync listening');
  process.stdout.write(
    `\nwasync is listening on ${url} (store: ${config.STORE}, connector: ${config.WA_CONNECTOR})\n` +
      (token.file
        ? `API token: ${token.file}${token.created ? ' (new)' : ''}  ->  curl -H "Authorization: Bearer $(cat ${token.file})" ${url}/api/whatsapp/accounts\n\n`
        : 'API token: from API_TOKEN\n\n'),
  );

  await supervisor.start();
  installSignalHandlers(logger, async () => {
    http.close();
    await supervisor.shutdown(config.SHUTDOWN_TIMEOUT_MS);
    await store.close();
  });
}

function installSignalHandlers(logger: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: flushing pending writes');
    shutdown().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err: serializeError(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

main().catch((err: unknown) => {
  process.stderr.write(`wasync: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
