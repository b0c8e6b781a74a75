import { describe, expect, it } from 'vitest';
import { isErrorCode } from '../../src/domain/errors.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { makeMessage } from '../support/records.js';
import { openTempStore } from '../support/temp-store.js';

/** `Store.changeToken` on SQLite: `PRAGMA data_version` on a read-only connection of its own. */
describe('SQLite change token', () => {
  it('stays put across reads, and moves with every commit: the store’s own, another connection’s', async () => {
    const t = await openTempStore('token', 'acc');
    try {
      const s = t.store;
      const first = s.changeToken();
      await s.listAccounts();
      await s.listThreads('acc', { limit: 10 });
      expect(s.changeToken(), 'reads change nothing').toBe(first);
      // This store's own connection writes: the token's connection never does, so it sees the commit.
      await s.applyMutations('acc', [{ kind: 'message', record: makeMessage({ id: 'A', accountId: 'acc' }) }]);
      const afterOwn = s.changeToken();
      expect(afterOwn).not.toBe(first);
      expect(s.changeToken()).toBe(afterOwn);
      const other = openSqliteStore({ file: t.file });
      await other.init();
      await other.deleteAccount('acc', { purge: false });
      await other.close();
      expect(s.changeToken()).not.toBe(afterOwn);
    } finally {
      await t.cleanup();
    }
  });

  it('a closed store has no token: STORE_CLOSED', async () => {
    const t = await openTempStore('token-closed');
    t.store.changeToken();
    await t.store.close();
    let caught: unknown;
    try {
      t.store.changeToken();
    } catch (err) {
      caught = err;
    }
    expect(isErrorCode(caught, 'STORE_CLOSED')).toBe(true);
    await t.cleanup();
  });
});
