import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../support/e2e.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ACCOUNT = 'outage';

/**
 * Another process takes the database's write lock (`BEGIN IMMEDIATE`) and holds it for `ms`: what a
 * backup tool, a `sqlite3` shell left in a transaction or a stuck second instance does to wasync.
 */
function holdWriteLock(file: string, ms: number): Promise<{ child: ChildProcess; released: Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(file)});
    db.pragma('busy_timeout = 10000');
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); process.exit(0); }, ${ms});
  `;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const released = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) resolve({ child, released });
    });
    child.once('exit', (code) => {
      if (!out.includes('locked')) reject(new Error(`the lock holder exited with ${code} before locking`));
    });
  });
}

interface Runtime {
  health: { loopDelay: { p99Ms: number; maxMs: number }; writes: { pending: number; retrying: boolean } } | null;
}

async function runtime(t: TestApp): Promise<Runtime> {
  const { json } = await t.api<{ account: { runtime: Runtime } }>('GET', `/api/whatsapp/accounts/${ACCOUNT}`);
  return json.account.runtime;
}

async function health(t: TestApp): Promise<{ status: number; body: { status: string; reasons?: string[] } }> {
  const res = await fetch(`${t.app.url}/health`);
  return { status: res.status, body: (await res.json()) as { status: string; reasons?: string[] } };
}

async function metric(t: TestApp, name: string): Promise<number> {
  const text = await (await fetch(`${t.app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

function rowsBySource(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db
      .prepare<[], { s: string; n: number }>('SELECT sync_source AS s, COUNT(*) AS n FROM messages GROUP BY sync_source')
      .all();
    return Object.fromEntries(rows.map((r) => [r.s, r.n]));
  } finally {
    db.close();
  }
}

describe('SQLite outage: another process holds the write lock while the simulated phone streams 50 msg/s', () => {
  it('actor loop responsive (p99 < 50 ms), /health degraded then ok, send 503 without sending, nothing lost or counted twice', async () => {
    const t = await startTestApp({
      WA_SIM_RATE: '50',
      WA_SIM_CHATS: '3',
      WA_SIM_MESSAGES_PER_CHAT: '5',
      SEND_STORE_TIMEOUT_MS: '1000',
      STORE_DEGRADED_AFTER_MS: '2000',
    });
    const file = path.join(t.dataDir, 'wasync.db');
    try {
      await t.api('POST', '/api/whatsapp/accounts', { accountId: ACCOUNT });
      await waitFor('the account to stream', async () => {
        const r = await runtime(t);
        const realtime = rowsBySource(file).realtime ?? 0;
        return r.health && realtime > 20 ? true : undefined;
      });
      // A send before the outage, so the echo of a send is part of what the counter must not count twice.
      expect(
        (await t.api('POST', '/api/whatsapp/send', { accountId: ACCOUNT, to: '40711111111', text: 'before', messageId: 'PRE1' })).status,
      ).toBe(202);
      expect((await health(t)).status).toBe(200);
      // The same actor's loop without an outage, on this machine as loaded as it is right now (shared by
      // parallel test files): a descheduled thread shows up as loop delay too, outage or not.
      const baseline: number[] = [];
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 500));
        baseline.push((await runtime(t)).health?.loopDelay.p99Ms ?? 0);
      }

      const LOCK_MS = 4_000;
      const lock = await holdWriteLock(file, LOCK_MS);
      const lockedAt = Date.now();
      const samples: Array<Runtime['health']> = [];
      const probes: Array<{ status: number; body: { status: string; reasons?: string[] } }> = [];
      const sendStarted = Date.now();
      const send = t.api<{ error?: { code: string } }>('POST', '/api/whatsapp/send', {
        accountId: ACCOUNT,
        to: '40711111111',
        text: 'during the outage',
        messageId: 'OUTAGE1',
      });
      const sendDone = send.then(() => Date.now() - sendStarted);
      while (Date.now() - lockedAt < LOCK_MS - 300) {
        // Wait past the first report window: the report that covers the moment the lock was taken counts too.
        await new Promise((r) => setTimeout(r, 250));
        samples.push((await runtime(t)).health);
        probes.push(await health(t));
      }
      const refused = await send;
      const sendMs = await sendDone;
      await lock.released;

      // The actor reported every second throughout (a blocked loop cannot) and its loop stayed responsive.
      expect(samples.length).toBeGreaterThan(5);
      expect(samples.every((s) => s !== null)).toBe(true);
      const worstP99 = Math.max(...samples.map((s) => s!.loopDelay.p99Ms));
      // Before the fix every write attempt blocked the thread for the 5 s busy timeout: no reports, p99 in seconds.
      // 50 ms on a quiet machine; on a loaded one, no worse than twice the loop's own noise measured just before.
      const bound = Math.max(50, 2 * Math.max(...baseline));
      console.log(
        `loop delay p99 per 1 s window: baseline ${JSON.stringify(baseline)}, ` +
          `during the lock ${JSON.stringify(samples.map((s) => s!.loopDelay.p99Ms))}, bound ${bound} ms`,
      );
      expect(worstP99).toBeLessThan(bound);
      expect(samples.some((s) => s!.writes.retrying || s!.writes.pending > 0)).toBe(true);

      // Health told the truth: degraded (503) with a reason while writes waited.
      const degraded = probes.filter((p) => p.status === 503 && p.body.status === 'degraded');
      expect(degraded.length).toBeGreaterThan(0);
      expect(degraded[0]!.body.reasons?.join(' ')).toMatch(/retried|locked|pending/);
      expect(await metric(t, 'wasync_health_degraded')).toBeGreaterThanOrEqual(0);

      // The send gave up within its bound, with the code a client retries on.
      expect(refused.status).toBe(503);
      expect(refused.json.error?.code).toBe('STORE_UNAVAILABLE');
      expect(sendMs).toBeLessThan(2_500);

      // After the lock: healthy again, every write committed.
      await waitFor('health ok', async () => ((await health(t)).status === 200 ? true : undefined), 15_000, 100);
      await waitFor('writes drained', async () => ((await runtime(t)).health?.writes.pending === 0 ? true : undefined), 15_000, 100);
      expect(await metric(t, 'wasync_health_degraded')).toBe(0);

      // The refused send was never handed to WhatsApp: its row committed as queued and stays so.
      await new Promise((r) => setTimeout(r, 500));
      expect((await t.app.store.getMessage(ACCOUNT, 'OUTAGE1'))?.status).toBe('queued');
      // The client's retry with the same id sends it, once.
      expect(
        (
          await t.api('POST', '/api/whatsapp/send', {
            accountId: ACCOUNT,
            to: '40711111111',
            text: 'during the outage',
            messageId: 'OUTAGE1',
          })
        ).status,
      ).toBe(202);
      await waitFor('the retried send to go out', async () =>
        (await t.app.store.getMessage(ACCOUNT, 'OUTAGE1'))?.status !== 'queued' ? true : undefined,
      );

      // Count what committed, once: the counter per source equals the rows per source.
      await t.app.accounts.remove(ACCOUNT, { purge: false });
      // Events and the stop's answer travel on different ports: let the last events land.
      await new Promise((r) => setTimeout(r, 500));
      const rows = rowsBySource(file);
      for (const source of ['realtime', 'history_sync', 'outbound_api']) {
        expect(await metric(t, `wasync_messages_stored_total{source="${source}"}`), source).toBe(rows[source] ?? 0);
      }
      expect(rows.outbound_api).toBe(2);
      expect(await metric(t, 'wasync_store_write_retries_total')).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  }, 120_000);
});
