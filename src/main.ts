import { loadConfig, type Config } from './config/index.js';
import { ConfigError, WasyncError, serializeError } from './domain/errors.js';
import { createLogger, type Logger } from './logging/logger.js';
import { startApp } from './app.js';

/**
 * Process entry. Shutdown on SIGTERM/SIGINT stops accepting requests, lets every actor flush (bounded
 * by SHUTDOWN_TIMEOUT_MS, the runbook's 30 s), closes the store and exits 0; a second signal exits at once.
 */
async function main(): Promise<void> {
  // Everything this process creates (DATA_DIR, the database, the token, archived media, recordings) is
  // for the service user alone; the code also sets these modes explicitly where it creates them.
  process.umask(0o077);
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
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, base: { instanceId: config.INSTANCE_ID } });
  const app = await startApp(config, { env: stringEnv(process.env), logger });
  logger.info({ url: app.url, store: config.STORE, connector: config.WA_CONNECTOR }, 'wasync listening');
  process.stdout.write(
    `\nwasync is listening on ${app.url} (store: ${config.STORE}, connector: ${config.WA_CONNECTOR})\n` +
      `Console: ${app.url}/ (sign in with the API token)\n` +
      (app.tokenFile
        ? `API token: ${app.tokenFile}${app.tokenCreated ? ' (new)' : ''}\n` +
          `  curl -H "Authorization: Bearer $(cat ${app.tokenFile})" ${app.url}/api/whatsapp/accounts\n\n`
        : 'API token: from API_TOKEN\n\n'),
  );
  installSignalHandlers(logger, () => app.shutdown());
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
  // Our own errors say what to do (another process on DATA_DIR, a store that refuses): no stack.
  const what = err instanceof WasyncError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`wasync: failed to start: ${what}\n`);
  process.exit(1);
});
