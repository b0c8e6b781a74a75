import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, waitFor, E2E_TOKEN } from '../support/e2e.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { generateHistory } from '../../src/connectors/sim/history-generator.js';
import { mapHistorySet, mapResolver } from '../../src/ingest/index.js';

interface AccountJson {
  account: Record<string, unknown> & {
    status?: string;
    statusReason?: string;
    runtime?: { actor: string; restarts: number; reason: string | null; connection: string };
  };
}

/** What the simulated phone of account `seed` holds: history entries minus deletion stubs. */
function storableHistory(seed: string, chats: number, messagesPerChat: number): { entries: number; storable: number } {
  const { chunks } = generateHistory({ chats, messagesPerChat, seed });
  let entries = 0;
  let storable = 0;
  for (const chunk of chunks) {
    const b = mapHistorySet(chunk, { accountId: seed, now: Date.now(), source: 'history_sync', resolver: mapResolver(new Map()) });
    entries += b.total;
    storable += b.total - b.skipped;
  }
  return { entries, storable };
}

describe('supervision', () => {
  it('an actor killed mid-way through a 20,000-message history sync is restarted; the store ends with one row per message', async () => {
    const expected = storableHistory('crashy', 100, 200);
    expect(expected.entries).toBe(20_000);
    const t = await startTestApp({ WA_SIM_CHATS: '100', WA_SIM_MESSAGES_PER_CHAT: '200', ACTOR_BACKOFF_BASE_MS: '50' });
    try {
      await t.api('POST', '/api/whatsapp/accounts', { accountId: 'crashy' });
      // Wait until the sync is under way but not done, then kill the actor.
      const before = await waitFor(
        'the sync to be under way',
        async () => {
          const n = await t.app.store.countMessages('crashy');
          return n > 0 && n < expected.storable / 2 ? n : undefined;
        },
        30_000,
        5,
      );
      await t.app.accounts.crashActor('crashy', 'test: kill mid-sync');
      await waitFor('the restart', async () => ((t.app.accounts.runtimeOf('crashy')?.restarts ?? 0) >= 1 ? true : undefined));
      const final = await waitFor(
        'the whole history',
        async () => {
          const n = await t.app.store.countMessages('crashy');
          return n >= expected.storable ? n : undefined;
        },
        60_000,
        100,
      );
      // Settle: the replayed sync must not add or duplicate anything.
      await new Promise((r) => setTimeout(r, 500));
      expect(before).toBeLessThan(expected.storable);
      expect(final).toBe(expected.storable);
      expect(await t.app.store.countMessages('crashy')).toBe(expected.storable);
      const { json } = await t.api<AccountJson>('GET', '/api/whatsapp/accounts/crashy');
      expect(json.account.runtime?.actor).toBe('running');
      expect(json.account.runtime?.restarts).toBeGreaterThanOrEqual(1);
    } finally {
      await t.close();
    }
  }, 120_000);

  it('a crash loop ends in `failed` with the reason, visible in the API, not in a hot loop', async () => {
    // A scenario file that does not exist makes every actor start fail the same way.
    const t = await startTestApp({
      WA_SIM_SCENARIO: path.join(os.tmpdir(), 'does-not-exist-wasync.jsonl'),
      ACTOR_MAX_RESTARTS: '2',
      ACTOR_RESTART_WINDOW_MS: '60000',
      ACTOR_BACKOFF_BASE_MS: '20',
      ACTOR_BACKOFF_MAX_MS: '100',
    });
    try {
      await t.api('POST', '/api/whatsapp/accounts', { accountId: 'looper' });
      const json = await waitFor(
        'the account to fail',
        async () => {
          const r = await t.api<AccountJson>('GET', '/api/whatsapp/accounts/looper');
          return r.json.account.runtime?.actor === 'failed' ? r.json : undefined;
        },
        30_000,
      );
      expect(json.account.runtime?.restarts).toBe(3);
      expect(json.account.runtime?.reason).toMatch(/restart intensity exceeded: 3 crashes/);
      expect(json.account.runtime?.reason).toMatch(/does-not-exist-wasync/);
      const stored = await waitFor('the stored status', async () => {
        const a = await t.app.store.getAccount('looper');
        return a?.status === 'failed' ? a : undefined;
      });
      expect(stored.statusReason).toMatch(/restart intensity exceeded/);
      // No more restarts after giving up.
      await new Promise((r) => setTimeout(r, 400));
      expect(t.app.accounts.runtimeOf('looper')?.restarts).toBe(3);
      // Commands to a failed account get a clear error, not a hang.
      const send = await t.api<{ success: boolean; error: { code: string } }>('POST', '/api/whatsapp/send', {
        accountId: 'looper',
        to: '40712345678',
        text: 'x',
      });
      expect(send.status).toBe(503);
      expect(send.json.error.code).toBe('ACCOUNT_FAILED');
    } finally {
      await t.close();
    }
  }, 60_000);

  it('a restart resumes every account that was running (a graceful stop is not a logout)', async () => {
    const first = await startTestApp({ WA_SIM_CHATS: '3', WA_SIM_MESSAGES_PER_CHAT: '5' });
    await first.api('POST', '/api/whatsapp/accounts', { accountId: 'resumes' });
    await waitFor('the first connection', async () => (first.app.accounts.runtimeOf('resumes')?.connection === 'open' ? true : undefined));
    await first.app.shutdown();
    const second = await startTestApp({ DATA_DIR: first.dataDir, WA_SIM_CHATS: '3', WA_SIM_MESSAGES_PER_CHAT: '5' });
    try {
      const json = await waitFor('the account to come back', async () => {
        const r = await second.api<AccountJson>('GET', '/api/whatsapp/accounts/resumes');
        return r.json.account.runtime?.connection === 'open' ? r.json : undefined;
      });
      expect(json.account.runtime?.actor).toBe('running');
      // The phone reported that everything queued for the device was delivered.
      const caughtUp = await waitFor('caughtUp', async () => {
        const a = await second.app.store.getAccount('resumes');
        return a?.caughtUp ? a : undefined;
      });
      expect(caughtUp.caughtUpAt).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('SIGTERM drains: the real entry point flushes, exits 0, and what it acknowledged is stored', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-sigterm-'));
    const entry = new URL('../../dist/src/main.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [entry], {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        WA_CONNECTOR: 'sim',
        WA_DEMO: 'true',
        WA_SIM_CHATS: '5',
        WA_SIM_MESSAGES_PER_CHAT: '20',
        API_TOKEN: E2E_TOKEN,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await waitFor('the listening line', async () => /listening on (http:\/\/[^\s]+)/.exec(out)?.[1], 20_000);
      await waitFor('the demo history', async () => {
        const r = await fetch(`${url}/api/whatsapp/threads/demo`, { headers: { authorization: `Bearer ${E2E_TOKEN}` } });
        const j = (await r.json()) as { count?: number };
        return (j.count ?? 0) >= 5 ? true : undefined;
      });
      const send = await fetch(`${url}/api/whatsapp/send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: 'demo', to: '40711111111', text: 'acknowledged before SIGTERM', messageId: 'SIGTERM_1' }),
      });
      expect(send.status).toBe(202);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 35_000))]);
      expect(code).toBe(0);
      const store = openSqliteStore({ file: path.join(dataDir, 'wasync.db') });
      await store.init();
      const msg = await store.getMessage('demo', 'SIGTERM_1');
      await store.close();
      expect(msg?.body).toBe('acknowledged before SIGTERM');
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
