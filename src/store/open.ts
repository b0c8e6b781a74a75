import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Config } from '../config/index.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from './port.js';

/** The SQLite file every actor and the HTTP layer open (each its own connection, WAL mode). */
export function sqliteFile(config: Config): string {
  return path.resolve(config.DATA_DIR, 'wasync.db');
}

export interface StoreHooks {
  /** SQLite: a write found the database locked and will be retried (an actor reports these with its health). */
  onBusyRetry?: (operation: string) => void;
}

/**
 * Opens the configured backend. Backends are imported lazily: a SQLite deployment never loads
 * firebase-admin (about a second of start-up per thread), a Firestore one never opens a file.
 *
 * `env` is the environment `config` was loaded from. Firestore reads its project and emulator host
 * from it (they are not configuration variables of wasync): the main thread passes the env it hands
 * to the actor threads, so both end up on the same project and emulator even when that env differs
 * from `process.env` (tests). In a worker thread `process.env` is that env already.
 */
export async function openStore(
  config: Config,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
  hooks: StoreHooks = {},
): Promise<Store> {
  if (config.STORE === 'firestore') {
    const { openFirestoreStore } = await import('./firestore/index.js');
    return openFirestoreStore(config, logger, env);
  }
  // 0700: the directory holds the database (credentials, Signal keys) and the API token.
  mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 });
  const { openSqliteStore } = await import('./sqlite/index.js');
  return openSqliteStore({
    file: sqliteFile(config),
    busyTimeoutMs: config.SQLITE_BUSY_TIMEOUT_MS,
    ...(hooks.onBusyRetry ? { onBusyRetry: hooks.onBusyRetry } : {}),
  });
}

/**
 * Makes this process the only one on its store when the backend needs that (SQLite: the
 * data-directory lock, `sqlite/data-dir-lock.ts`); Firestore serves a fleet and needs none. Throws a
 * `CONFLICT` error naming the holder when another process has it. Call once, in the main thread.
 */
export async function lockStoreForProcess(config: Config): Promise<{ release(): void }> {
  if (config.STORE === 'firestore') return { release: () => undefined };
  // DATA_DIR holds WhatsApp credentials and the API token: created 0700, as openStore creates it.
  mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 });
  const { lockDataDir } = await import('./sqlite/data-dir-lock.js');
  return lockDataDir(config.DATA_DIR, { instanceId: config.INSTANCE_ID });
}
