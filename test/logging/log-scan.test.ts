import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { WasyncError } from '../../src/domain/errors.js';
import { createLogger, registerAccountId } from '../../src/logging/logger.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { E2E_TOKEN } from '../support/e2e.js';
import { spawnServer } from '../support/spawn-server.js';

const PARKED = 'acct_leakcheck_7f3a9c';
const LIVE = 'acct_livecheck_9b8c7d';
const PHONE = '40799887766';

describe('masking in free text (messages, error messages, stacks)', () => {
  it('an error message naming an account or a phone number is masked, in msg, err and any string field', () => {
    let out = '';
    const sink = new Writable({
      write(c: Buffer, _e, done) {
        out += c.toString();
        done();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    registerAccountId(PARKED);
    const err = new WasyncError('ACCOUNT_NOT_RUNNING', `account ${PARKED} has no running actor`);
    log.warn({ code: err.code, message: err.message }, 'request failed');
    log.error({ err }, `could not send to ${PHONE}@s.whatsapp.net for ${PARKED}`);
    log.warn({ err: { name: 'Error', message: `peer +${PHONE} gone`, cause: { message: `also ${PARKED}` } } }, 'plain error object');
    log.info(`generated ids are recognised unregistered: account_prod_0a1b2c3d4e5f`);
    expect(out).not.toContain(PARKED);
    expect(out).not.toContain(PHONE);
    expect(out).not.toContain('account_prod_0a1b2c3d4e5f');
    expect(out).toContain('acct…3a9c');
    expect(out).toContain('has no running actor');
    expect(out).toContain('407…66');
  });
});

/**
 * Every line a real server writes in a session that exercises the paths the attack found leaking: a
 * parked account asked for a backfill (503 "has no running actor"), sends to phone numbers, a refused
 * recipient, an actor crash and restart, unknown accounts, the history sync of the simulated phone.
 */
describe('log scan of a server run', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('no line carries an unmasked account id or phone number', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-logscan-'));
    dirs.push(dataDir);
    const seeded = openSqliteStore({ file: path.join(dataDir, 'wasync.db') });
    await seeded.init();
    await seeded.createAccount({ id: PARKED, status: 'logged_out' });
    await seeded.close();
    const server = await spawnServer({
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        WA_CONNECTOR: 'sim',
        WA_SIM_CHATS: '4',
        WA_SIM_MESSAGES_PER_CHAT: '5',
        WA_SIM_RATE: '5',
        API_TOKEN: E2E_TOKEN,
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
        AUTO_BACKFILL_ENABLED: 'false',
        RECENT_SYNC_ENABLED: 'false',
      },
    });
    const api = async (method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const res = await fetch(`${server.url}${p}`, {
        method,
        headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    let threads: string[] = [];
    try {
      expect((await api('POST', '/api/whatsapp/accounts', { accountId: LIVE })).status).toBe(201);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const r = await api('GET', `/api/whatsapp/threads/${LIVE}`);
        threads = ((r.json.threads as Array<{ clientJid: string }> | undefined) ?? []).map((t) => t.clientJid);
        if (threads.length >= 4) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await api('POST', `/api/whatsapp/backfill/${PARKED}`)).status).toBe(503);
      expect((await api('POST', `/api/whatsapp/accounts/${PARKED}/pairing-code`, { phoneNumber: PHONE })).status).toBe(503);
      expect((await api('POST', '/api/whatsapp/send', { accountId: LIVE, to: PHONE, text: 'hello' })).status).toBe(202);
      expect((await api('POST', '/api/whatsapp/send', { accountId: LIVE, to: '1@g.us', text: 'no' })).status).toBe(400);
      expect((await api('GET', '/api/whatsapp/accounts/acct_unknown_123456')).status).toBe(404);
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await server.stop('SIGTERM');
    }
    const out = server.output();
    const lines = out.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(20);
    expect(out).toMatch(/has no running actor/);
    const phones = [PHONE, ...threads.map((j) => j.split('@')[0]!).filter((u) => /^\d{6,}$/.test(u))];
    expect(phones.length).toBeGreaterThan(2);
    const leaks = lines.filter((l) => [PARKED, LIVE, ...phones].some((secret) => l.includes(secret)));
    expect(leaks).toEqual([]);
  }, 90_000);
});
