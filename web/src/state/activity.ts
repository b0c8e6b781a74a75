import type { ApiAccount } from '../api/types.js';

/**
 * "Messages stored over time, by source" for the sync view's chart, recorded from what this page
 * has seen since it opened. History sync, backfill and recent sync come from the account's own
 * counters, which work the same with the live feed and with polling: `historySyncCount` grows by
 * every chunk's saved messages; each new `lastBackfillAt` / `lastRecentSyncAt` is one run with its
 * `messages`. Realtime messages come from the feed's `message.created` events (exact); with polling
 * from each move of `lastRealtimeMessageAt` (at least one message each, so a lower bound).
 */
export type ActivitySource = 'history_sync' | 'backfill' | 'recent_sync' | 'realtime';
export const ACTIVITY_SOURCES: readonly ActivitySource[] = ['history_sync', 'backfill', 'recent_sync', 'realtime'];

export interface Bucket {
  start: number;
  counts: Record<ActivitySource, number>;
}

interface Seen {
  historySyncCount: number;
  lastBackfillAt: string | null;
  lastRecentSyncAt: string | null;
  lastRealtimeMessageAt: string | null;
}

export class Activity {
  private readonly seen = new Map<string, Seen>();
  private readonly buckets = new Map<string, Bucket[]>();
  private readonly listeners = new Set<() => void>();
  /** Whether realtime counts come from feed events (then account moves are not counted twice). */
  realtimeFromEvents = false;

  constructor(readonly bucketMs = 10_000) {}

  /** A new snapshot of an account (REST answer, poll, or feed event merged into the last one). */
  observe(a: ApiAccount, now = Date.now()): void {
    const prev = this.seen.get(a.id);
    const next: Seen = {
      historySyncCount: a.historySyncCount ?? prev?.historySyncCount ?? 0,
      lastBackfillAt: a.lastBackfillAt ?? prev?.lastBackfillAt ?? null,
      lastRecentSyncAt: a.lastRecentSyncAt ?? prev?.lastRecentSyncAt ?? null,
      lastRealtimeMessageAt: a.lastRealtimeMessageAt ?? prev?.lastRealtimeMessageAt ?? null,
    };
    this.seen.set(a.id, next);
    // The first sight of an account is the baseline: what was stored before the page opened is not "over time" here.
    if (!prev) return;
    const history = next.historySyncCount - prev.historySyncCount;
    if (history > 0) this.add(a.id, 'history_sync', history, now);
    if (next.lastBackfillAt && next.lastBackfillAt !== prev.lastBackfillAt) {
      this.add(a.id, 'backfill', a.lastBackfillResult?.messages ?? 0, now);
    }
    if (next.lastRecentSyncAt && next.lastRecentSyncAt !== prev.lastRecentSyncAt) {
      this.add(a.id, 'recent_sync', a.lastRecentSyncResult?.messages ?? 0, now);
    }
    if (!this.realtimeFromEvents && next.lastRealtimeMessageAt && next.lastRealtimeMessageAt !== prev.lastRealtimeMessageAt) {
      this.add(a.id, 'realtime', 1, now);
    }
  }

  /** A realtime message from the feed (`message.created` with `syncSource` realtime or outbound_api). */
  realtime(accountId: string, now = Date.now()): void {
    if (this.realtimeFromEvents) this.add(accountId, 'realtime', 1, now);
  }

  series(accountId: string): Bucket[] {
    return this.buckets.get(accountId) ?? [];
  }

  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private add(accountId: string, source: ActivitySource, n: number, now: number): void {
    if (n <= 0) return;
    const start = Math.floor(now / this.bucketMs) * this.bucketMs;
    const list = this.buckets.get(accountId) ?? [];
    let last = list[list.length - 1];
    if (!last || last.start !== start) {
      last = { start, counts: { history_sync: 0, backfill: 0, recent_sync: 0, realtime: 0 } };
      list.push(last);
      // An hour of ten-second buckets at most.
      if (list.length > 360) list.shift();
    }
    last.counts[source] += n;
    this.buckets.set(accountId, list);
    for (const l of [...this.listeners]) l();
  }
}
