import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { runStoreContract } from './contract/index.js';

runStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasync-sqlite-'));
  const file = join(dir, 'data', 'wasync.db');
  const store = openSqliteStore({ file });
  return {
    store,
    // Another connection on the same file: another worker thread, or the process after a restart.
    reopen: async () => openSqliteStore({ file }),
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
