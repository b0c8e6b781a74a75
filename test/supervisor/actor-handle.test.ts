import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActorHandle } from '../../src/supervisor/actor-handle.js';
import { WasyncError } from '../../src/domain/errors.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { ActorEvent } from '../../src/account-actor/protocol.js';

/**
 * The comlink wrapper around a real actor worker: comlink itself leaves calls pending forever when
 * the worker dies; ActorHandle must reject every one of them at once with a typed ACTOR_DEAD, and keep
 * the actor's own error codes across the thread boundary.
 */
describe('ActorHandle', () => {
  let dir = '';
  let handle: ActorHandle | null = null;

  afterEach(async () => {
    await handle?.terminate();
    handle = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function spawn(accountId: string): Promise<{ handle: ActorHandle; events: ActorEvent[] }> {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-handle-'));
    const store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: accountId });
    await store.close();
    const events: ActorEvent[] = [];
    const env: Record<string, string> = {
      DATA_DIR: dir,
      WA_CONNECTOR: 'sim',
      WA_SIM_CHATS: '30',
      WA_SIM_MESSAGES_PER_CHAT: '20',
      LOG_LEVEL: 'silent',
    };
    const h = new ActorHandle({ accountId, env, onEvent: (e) => events.push(e) });
    handle = h;
    await h.ready;
    return { handle: h, events };
  }

  it('keeps error codes across the thread boundary', async () => {
    const { handle: h } = await spawn('codes');
    // Not started: no socket yet.
    const err = await h.call('send', { to: '40712345678', text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WasyncError);
    expect((err as WasyncError).code).toBe('NOT_CONNECTED');
    await h.call('start');
    for (let i = 0; i < 100 && (await h.call('status')).connection !== 'open'; i++) await new Promise((r) => setTimeout(r, 20));
    const bad = await h.call('send', { to: 'not a number', text: 'x' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(WasyncError);
    expect((bad as WasyncError).code).toBe('BAD_REQUEST');
  });

  it('rejects every pending call at once with ACTOR_DEAD when the worker dies', async () => {
    const { handle: h } = await spawn('dies');
    await h.call('start');
    await new Promise((r) => setTimeout(r, 300));
    // A backfill waits for the phone's answers thread after thread: it is still pending when the worker dies.
    const pending = [
      h.call('backfill', { threads: 30, count: 50, reason: 'manual' }).catch((e: unknown) => e),
      h.call('backfill', { threads: 30, count: 50, reason: 'manual' }).catch((e: unknown) => e),
    ];
    await h.call('crash', 'test');
    const started = Date.now();
    const results = await Promise.all(pending);
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const r of results) {
      expect(r).toBeInstanceOf(WasyncError);
      expect((r as WasyncError).code).toBe('ACTOR_DEAD');
      expect((r as WasyncError).message).toMatch(/crash requested: test/);
    }
    // Calls after death fail fast too.
    const after = await h.call('status').catch((e: unknown) => e);
    expect((after as WasyncError).code).toBe('ACTOR_DEAD');
    expect((await h.exited).error?.message).toMatch(/crash requested/);
    expect(h.alive).toBe(false);
  });

  // Linux: `top -H` and the footprint benchmark tell the actors' CPU from the main thread's by name.
  it.runIf(process.platform === 'linux')('names its OS thread actor-<threadId>, without the account id', async () => {
    const { handle: h } = await spawn('named');
    const names = readdirSync(`/proc/${process.pid}/task`).map((tid) => {
      try {
        return readFileSync(`/proc/${process.pid}/task/${tid}/comm`, 'utf8').trim();
      } catch {
        return ''; // a thread that ended meanwhile
      }
    });
    expect(names).toContain(`actor-${h.threadId}`);
    expect(names.filter((n) => n.includes('named'))).toEqual([]);
  });
});
