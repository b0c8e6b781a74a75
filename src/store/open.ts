import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Config } from '../config/index.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from './port.js';

/** The SQLite file every actor and the HTTP layer open (each its own connection, WAL mode). */
export function sqliteFile(config: Config): string {
  return path.resolve(config.DATA_DIR, 'wasync.db');
}

/**
 * Opens the configured backend. Backends are imported lazily: a SQLite deployment never loads
 * firebase-admin (about a second of start-up per thread), a Firestore one never opens a file.
 */
export async function openStore(config: Config, logger: Logger): Promise<Store> {
  if (config.STORE === 'firestore') {
    const { openFirestoreStore } = await import('./firestore/index.js');
    return openFirestoreStore(config, logger);
  }
  mkdirSync(config.DATA_DIR, { recursive: true });
  const { openSqliteStore } = await import('./sqlite/index.js');
  return openSqliteStore({ file: sqliteFile(config) });
}
