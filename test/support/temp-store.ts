import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';

export interface TempStore {
  store: SqliteStore;
  dir: string;
  file: string;
  cleanup(): Promise<void>;
}

/** A real SQLite store in a fresh temp dir, initialised, optionally with an account already created. */
export async function openTempStore(prefix: string, accountId?: string): Promise<TempStore> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `wasync-${prefix}-`));
  const file = path.join(dir, 'wasync.db');
  const store = openSqliteStore({ file });
  await store.init();
  if (accountId) await store.createAccount({ id: accountId });
  return {
    store,
    dir,
    file,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
