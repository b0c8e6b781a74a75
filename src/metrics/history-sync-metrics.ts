import type { EventEmitter } from 'node:events';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ActorEvent } from '../account-actor/protocol.js';
import { HISTORY_SYNC_STATUSES, type HistorySyncSummary } from '../domain/history-sync.js';

/**
 * History-sync metrics: chunks and messages by sync type (from the actors' per-chunk events) and
 * accounts by history-sync status, read at scrape time. Labels are bounded: sync types are the
 * `proto.HistorySync.HistorySyncType` names (seven), outcomes three, statuses four.
 */
export function registerHistorySyncMetrics(registry: Registry, events: EventEmitter, states: () => Iterable<HistorySyncSummary>): void {
  const chunks = new Counter({
    name: 'wasync_history_sync_chunks_total',
    help: 'History-sync chunks committed, by sync type (INITIAL_BOOTSTRAP, PUSH_NAME, RECENT, FULL, …; on-demand backfill excluded).',
    labelNames: ['sync_type'] as const,
    registers: [registry],
  });
  const messages = new Counter({
    name: 'wasync_history_sync_messages_total',
    help: 'History-sync messages by outcome (saved: newly stored; skipped: not stored or already there; errors) and sync type.',
    labelNames: ['outcome', 'sync_type'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'wasync_history_sync_accounts',
    help: 'Accounts by history-sync status (waiting, running, paused, complete).',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const status of HISTORY_SYNC_STATUSES) this.set({ status }, 0);
      for (const s of states()) this.inc({ status: s.status });
    },
  });
  new Gauge({
    name: 'wasync_history_sync_stalled_accounts',
    help: 'Accounts whose history sync received no chunk for HISTORY_SYNC_STALL_MS while connected and not complete.',
    registers: [registry],
    collect() {
      let n = 0;
      for (const s of states()) if (s.stalled) n++;
      this.set(n);
    },
  });

  events.on('actor-event', (e: ActorEvent) => {
    if (e.type !== 'history-sync') return;
    const sync_type = e.syncType ?? 'UNKNOWN';
    chunks.inc({ sync_type });
    messages.inc({ outcome: 'saved', sync_type }, e.result.saved);
    messages.inc({ outcome: 'skipped', sync_type }, e.result.skipped);
    messages.inc({ outcome: 'errors', sync_type }, e.result.errors);
  });
}
