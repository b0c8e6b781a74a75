import { describe, expect, it } from 'vitest';
import { startTestApp, waitFor } from '../support/e2e.js';

interface AccountJson {
  account: Record<string, unknown> & {
    lastAutoBackfillStatus?: string | null;
    lastAutoBackfillAt?: string | null;
    lastAutoBackfillAttemptAt?: string | null;
    lastAutoBackfillSuccessAt?: string | null;
    lastAutoBackfillResult?: { threads: number; messages: number; errors: number; durationMs: number; error?: string } | null;
    lastBackfillAt?: string | null;
    lastBackfillResult?: { threads: number; messages: number } | null;
    lastRecentSyncAt?: string | null;
    lastRecentSyncResult?: { threads: number; messages: number; errors: number } | null;
    autoBackfillLeaseHolder?: string | null;
    recentSyncLeaseHolder?: string | null;
    runtime?: { connection: string };
  };
}
interface ThreadsJson {
  threads: Array<{ id: string; lastBackfillAt: string | null }>;
}
interface MessagesJson {
  messages: Array<{ id: string; syncSource: string }>;
}

const ACCOUNT = 'auto-bf';
const INTERVAL_MS = 250;

describe('automatic backfill and recent sync, end to end (real actors, simulated phone, SQLite)', () => {
  it('backfills on connect without being asked, records the status fields, runs the gap filler, and respects the cooldown', async () => {
    const t = await startTestApp({
      AUTO_BACKFILL_ENABLED: 'true',
      AUTO_BACKFILL_INTERVAL_MS: String(INTERVAL_MS),
      RECENT_SYNC_ENABLED: 'true',
      RECENT_SYNC_INTERVAL_MS: String(INTERVAL_MS),
      // The gap filler re-fetches only the newest messages; deepening is the auto backfill's job.
      RECENT_SYNC_MAX_MESSAGES_PER_THREAD: '2',
      INSTANCE_ID: 'e2e-1',
      // 3 chats of 6 messages in the history sync; the phone keeps 3 older ones per chat for backfill.
      WA_SIM_CHATS: '3',
      WA_SIM_MESSAGES_PER_CHAT: '6',
    });
    try {
      expect((await t.api('POST', '/api/whatsapp/accounts', { accountId: ACCOUNT })).status).toBe(201);
      const get = async () => (await t.api<AccountJson>('GET', `/api/whatsapp/accounts/${ACCOUNT}`)).json.account;

      const done = await waitFor(
        'the auto backfill to succeed and the recent sync to run',
        async () => {
          const a = await get();
          return a.lastAutoBackfillStatus === 'ok' && a.lastRecentSyncAt ? a : undefined;
        },
        10_000,
      );
      expect(done.runtime?.connection).toBe('open');
      expect(done.lastAutoBackfillSuccessAt).toEqual(expect.any(String));
      expect(Date.parse(done.lastAutoBackfillSuccessAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.lastAutoBackfillAttemptAt ?? ''));
      expect(done.lastAutoBackfillAt).toBe(done.lastAutoBackfillAttemptAt);
      // Below the synced history, the phone's 3 archived messages of each chat.
      expect(done.lastAutoBackfillResult).toMatchObject({ threads: 3, messages: 9, errors: 0 });
      expect(done.lastAutoBackfillResult?.durationMs).toEqual(expect.any(Number));
      // The auto run is a backfill like the manual one: the runbook's field says when it last ran.
      expect(done.lastBackfillAt).toEqual(expect.any(String));
      expect(done.lastBackfillResult).toMatchObject({ threads: 3 });
      expect(done.lastRecentSyncResult).toMatchObject({ errors: 0 });
      expect(done.autoBackfillLeaseHolder).toBeNull();

      // The archived messages arrived as backfill, visible through the API.
      const threads = (await t.api<ThreadsJson>('GET', `/api/whatsapp/threads/${ACCOUNT}?limit=10`)).json.threads;
      expect(threads).toHaveLength(3);
      let backfilled = 0;
      for (const thread of threads) {
        expect(thread.lastBackfillAt).toEqual(expect.any(String));
        const { json } = await t.api<MessagesJson>('GET', `/api/whatsapp/messages/${ACCOUNT}/${encodeURIComponent(thread.id)}?limit=50`);
        backfilled += json.messages.filter((m) => m.syncSource === 'backfill').length;
      }
      expect(backfilled).toBeGreaterThanOrEqual(9);

      // Several ticks later: the success cooldown (6 h by default) kept the auto backfill from running
      // again, while the gap filler kept going.
      const firstRecent = Date.parse(done.lastRecentSyncAt ?? '');
      const later = await waitFor(
        'a later recent sync',
        async () => {
          const a = await get();
          return Date.parse(a.lastRecentSyncAt ?? '') > firstRecent + INTERVAL_MS ? a : undefined;
        },
        5_000,
      );
      expect(later.lastAutoBackfillAttemptAt).toBe(done.lastAutoBackfillAttemptAt);
      expect(later.lastAutoBackfillSuccessAt).toBe(done.lastAutoBackfillSuccessAt);
      expect(later.lastBackfillAt).toBe(done.lastBackfillAt);

      const ready = await fetch(`${t.app.url}/ready`).then((r) => r.json() as Promise<{ mode: string; instanceId: string }>);
      expect(ready).toMatchObject({ mode: 'active', instanceId: 'e2e-1' });
    } finally {
      await t.close();
    }
    // Draining is passive: /ready reports it and no tick starts anything.
    expect(t.app.accounts.mode).toBe('passive');
  }, 20_000);
});
