import { beforeEach, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/domain/errors.js';
import type { Store } from '../../../src/store/port.js';
import { MAX_SETTING_BYTES, type JsonValue } from '../../../src/store/settings.js';
import { BASE_TIME } from '../../support/records.js';
import type { ContractContext } from './fixtures.js';

/** Store contract, settings (src/store/settings.ts): JSON values that round-trip exactly, shared by every instance. */
export function settingsContract(ctx: ContractContext): void {
  describe('settings', () => {
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    const reopen = () => ctx.reopen();

    it('reads null for a key never written, and round-trips JSON exactly', async () => {
      expect(await store.getSetting('never')).toBeNull();
      const values: JsonValue[] = [
        { version: [2, 3000, 1043857760], fetchedAt: BASE_TIME, source: 'fetched' },
        [
          [1, 2],
          [3, [4]],
        ],
        1.5,
        0,
        -7,
        'ünïcödé ✓',
        true,
        null,
        { nested: { deeper: { list: [null, false, '', 0.1] } } },
      ];
      for (const [i, value] of values.entries()) {
        const before = Date.now();
        const written = await store.putSetting(`k${i}`, value);
        expect(written.value).toEqual(value);
        const read = await store.getSetting(`k${i}`);
        expect(read?.key).toBe(`k${i}`);
        expect(read?.value).toEqual(value);
        expect(read!.updatedAt).toBeGreaterThanOrEqual(before - 1000);
      }
    });

    it('last writer wins; delete is idempotent', async () => {
      await store.putSetting('waVersion', { v: 1 });
      await store.putSetting('waVersion', { v: 2 });
      expect((await store.getSetting('waVersion'))?.value).toEqual({ v: 2 });
      await store.deleteSetting('waVersion');
      await store.deleteSetting('waVersion');
      expect(await store.getSetting('waVersion')).toBeNull();
    });

    it('is shared: another store on the same data sees it', async () => {
      await store.putSetting('media.archive:v1', { on: true });
      const other = await reopen();
      expect((await other.getSetting('media.archive:v1'))?.value).toEqual({ on: true });
    });

    it('refuses malformed keys and values that are not JSON or too large, and changes nothing', async () => {
      await store.putSetting('kept', 'original');
      for (const key of ['', 'a/b', '.', '__x__', 'with space', 'x'.repeat(129), '-leading']) {
        await expect(store.putSetting(key, 1)).rejects.toBeInstanceOf(BadRequestError);
        await expect(store.getSetting(key)).rejects.toBeInstanceOf(BadRequestError);
      }
      const bad: unknown[] = [Number.NaN, Number.POSITIVE_INFINITY, undefined, { when: new Date() }, [1, undefined], () => 1];
      for (const value of bad) {
        await expect(store.putSetting('kept', value as JsonValue)).rejects.toBeInstanceOf(BadRequestError);
      }
      await expect(store.putSetting('kept', 'x'.repeat(MAX_SETTING_BYTES))).rejects.toBeInstanceOf(BadRequestError);
      expect((await store.getSetting('kept'))?.value).toBe('original');
    });
  });
}
