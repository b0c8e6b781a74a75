import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadConfig, ENV_SPEC } from '../../src/config/index.js';
import { withConfigTable } from '../../src/config/table.js';

describe('loadConfig', () => {
  it("applies the seeds' defaults exactly", () => {
    const c = loadConfig({});
    expect(c.WHATSAPP_SYNC_FULL_HISTORY).toBe(true);
    expect(c.WHATSAPP_BACKFILL_COUNT).toBe(100);
    expect(c.WHATSAPP_BACKFILL_THREADS).toBe(50);
    expect(c.WHATSAPP_HISTORY_SYNC_DRY_RUN).toBe(false);
    expect(c.AUTO_BACKFILL_ENABLED).toBe(true);
    expect(c.AUTO_BACKFILL_INTERVAL_MS).toBe(720_000);
    expect(c.AUTO_BACKFILL_COOLDOWN_SUCCESS_MS).toBe(21_600_000);
    expect(c.AUTO_BACKFILL_ATTEMPT_BACKOFF_MS).toBe(600_000);
    expect(c.AUTO_BACKFILL_LEASE_MS).toBe(900_000);
    expect(c.AUTO_BACKFILL_MAX_ACCOUNTS_PER_TICK).toBe(3);
    expect(c.AUTO_BACKFILL_MAX_CONCURRENCY).toBe(1);
    expect(c.INSTANCE_ID).toMatch(/^.+-\d+$/);
    expect(c.RECENT_SYNC_ENABLED).toBe(true);
    expect(c.RECENT_SYNC_INTERVAL_MS).toBe(120_000);
    expect(c.RECENT_SYNC_MAX_THREADS).toBe(30);
    expect(c.RECENT_SYNC_MAX_MESSAGES_PER_THREAD).toBe(20);
    expect(c.RECENT_SYNC_LEASE_MS).toBe(300_000);
    expect(c.FIREBASE_SERVICE_ACCOUNT_JSON).toBeUndefined();
    expect(c.PORT).toBe(8080);
    expect(c.DATA_DIR).toBe('./data');
    expect(c.STORE).toBe('sqlite');
  });

  it.each([
    ['AUTO_BACKFILL_INTERVAL_MS', 'abc', /AUTO_BACKFILL_INTERVAL_MS: expected an integer ≥ 1, got "abc"/],
    ['AUTO_BACKFILL_INTERVAL_MS', '1.5', /AUTO_BACKFILL_INTERVAL_MS/],
    ['AUTO_BACKFILL_INTERVAL_MS', '0', /AUTO_BACKFILL_INTERVAL_MS/],
    ['WHATSAPP_SYNC_FULL_HISTORY', 'maybe', /WHATSAPP_SYNC_FULL_HISTORY: expected true or false/],
    ['PORT', '70000', /PORT: expected an integer from 0 to 65535/],
    ['STORE', 'postgres', /STORE: expected one of sqlite, firestore/],
    ['INSTANCE_ID', 'a/b', /INSTANCE_ID/],
    ['AUTH_STATE_KEY', 'c2hvcnQ=', /AUTH_STATE_KEY: expected 32 bytes encoded as base64/],
  ])('rejects %s=%s naming the variable and the expected form', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('reports every bad variable at once and never echoes a secret', () => {
    const secret = 'not-base64-secret!!';
    let msg = '';
    try {
      loadConfig({ PORT: 'x', STORE: 'y', AUTH_STATE_KEY: secret });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/PORT/);
    expect(msg).toMatch(/STORE/);
    expect(msg).toMatch(/AUTH_STATE_KEY/);
    expect(msg).not.toContain(secret);
  });

  it('parses given values', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const c = loadConfig({ WHATSAPP_HISTORY_SYNC_DRY_RUN: 'true', STORE: 'firestore', AUTH_STATE_KEY: key, PORT: '0' });
    expect(c.WHATSAPP_HISTORY_SYNC_DRY_RUN).toBe(true);
    expect(c.STORE).toBe('firestore');
    expect(c.AUTH_STATE_KEY?.length).toBe(32);
    expect(c.PORT).toBe(0);
  });

  it('the README configuration table is the one rendered from the spec', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = Object.keys(ENV_SPEC).filter((name) => !readme.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
    // Regenerate with: node --input-type=module -e "…withConfigTable…" (see package.json docs:config).
    expect(withConfigTable(readme)).toBe(readme);
  });
});
