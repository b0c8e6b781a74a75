import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startTestApp, waitFor } from '../support/e2e.js';

/** `wasync_http_read_cache_requests_total` by result, from the server's own /metrics. */
async function cacheCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^wasync_http_read_cache_requests_total\{result="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/**
 * The list response cache in the real process: worker-thread actors stream live messages from the
 * simulated phone (their commits come from other threads), the read pool serves the misses, and the
 * HTTP thread answers repeats from the cache. Every page must hold at least what was committed before
 * it was asked for.
 */
describe('list response cache with actors streaming', () => {
  it('never serves a page older than the request, counts hits on /metrics, and a deleted account is 404 next', async () => {
    const t = await startTestApp({
      WA_DEMO: 'true',
      WA_SIM_CHATS: '1',
      WA_SIM_MESSAGES_PER_CHAT: '20',
      WA_SIM_RATE: '20',
      READ_POOL_THREADS: '1',
    });
    const db = new Database(path.join(t.dataDir, 'wasync.db'), { readonly: true, fileMustExist: true });
    try {
      const threadId = await waitFor('the demo chat', async () => {
        const r = await t.api<{ threads?: Array<{ id: string }> }>('GET', '/api/whatsapp/threads/demo?limit=1');
        return r.json.threads?.[0]?.id;
      });
      const page = `/api/whatsapp/messages/demo/${encodeURIComponent(threadId)}?limit=50`;
      const newest = db
        .prepare<[string], string>('SELECT id FROM messages WHERE thread_id = ? ORDER BY created_at DESC, id DESC LIMIT 1')
        .pluck();
      const before = await cacheCounts(t.app.url);
      const started = Date.now();
      let checks = 0;
      let moved = 0;
      let last = '';
      while (Date.now() - started < 3_000) {
        // What is committed now (by the actor thread), then the page: the page must already hold it.
        const committed = newest.get(threadId)!;
        if (committed !== last) moved++;
        last = committed;
        const r = await t.api<{ messages: Array<{ id: string }> }>('GET', page);
        expect(r.status).toBe(200);
        expect(
          r.json.messages.map((m) => m.id),
          `committed ${committed} before the request`,
        ).toContain(committed);
        checks++;
      }
      expect(moved, 'messages were streaming during the polling').toBeGreaterThan(5);
      const after = await cacheCounts(t.app.url);
      const delta = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
      expect(delta('hit') + delta('coalesced') + delta('miss')).toBe(checks);
      expect(delta('hit'), 'repeats between two commits come from the cache').toBeGreaterThan(0);
      expect(delta('miss'), 'each commit makes the next read a miss').toBeGreaterThan(0);
      expect(after.bypass ?? 0).toBe(0);

      const removed = await t.api('DELETE', '/api/whatsapp/accounts/demo');
      expect(removed.status).toBe(200);
      expect((await t.api('GET', page)).status).toBe(404);
      expect((await t.api('GET', '/api/whatsapp/threads/demo?limit=1')).status).toBe(404);
    } finally {
      db.close();
      await t.close();
    }
  });
});
