import type { EventEmitter } from 'node:events';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ActorEvent } from '../account-actor/protocol.js';
import type { AccountRecord, HistorySyncProgress } from '../domain/records.js';
import type { AutoBackfillOutcome } from '../supervisor/auto-backfill-job.js';
import type { AccountRuntime } from '../supervisor/service.js';

/** What the per-account metrics read: the accounts this process runs, and their events. */
export interface AccountMetricsSource extends EventEmitter {
  runtimesById(): Array<[accountId: string, runtime: AccountRuntime]>;
}

const ACTOR_STATES: readonly AccountRuntime['actor'][] = ['starting', 'running', 'restarting', 'stopped', 'failed'];
const AUTO_BACKFILL_OUTCOMES: readonly AutoBackfillOutcome[] = ['ok', 'error', 'lease_held', 'lease_error'];
const SYNC_TYPES = ['RECENT', 'FULL'] as const satisfies readonly (keyof HistorySyncProgress)[];

/**
 * Metrics for the dashboard and alerts of `deploy/` (README, Observability) that need an account:
 * whether it is open, when its last realtime message was sent, its history-sync progress.
 *
 * Label cardinality: the `account` label takes one value per account **this instance runs** (the
 * supervisor's accounts, read at scrape time, so a removed account's series go with it); accounts per
 * instance are bounded by what one process can hold open (tens to a few hundred WhatsApp sockets), and
 * each account has at most 4 series here. Instance-wide counts (`wasync_actors`, the backfill counters)
 * carry no account label at all.
 */
export function registerAccountMetrics(registry: Registry, accounts: AccountMetricsSource, seed?: () => Promise<AccountRecord[]>): void {
  /** The newest realtime message time (epoch ms) and the history-sync progress, per account. */
  const lastRealtime = new Map<string, number>();
  const progress = new Map<string, HistorySyncProgress>();

  new Gauge({
    name: 'wasync_account_open',
    help: 'Per account this instance runs: 1 when its WhatsApp connection is open, else 0.',
    labelNames: ['account'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [account, r] of accounts.runtimesById()) this.set({ account }, r.connection === 'open' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'wasync_actors',
    help: 'Account actors by state (starting, running, restarting, stopped, failed: restart intensity exceeded, parked until restarted).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const state of ACTOR_STATES) this.set({ state }, 0);
      for (const [, r] of accounts.runtimesById()) this.inc({ state: r.actor });
    },
  });
  new Gauge({
    name: 'wasync_account_last_realtime_message_timestamp_seconds',
    help: 'Per account: WhatsApp time of the newest message stored from the live socket (realtime), Unix seconds.',
    labelNames: ['account'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [account] of accounts.runtimesById()) {
        const at = lastRealtime.get(account);
        if (at !== undefined) this.set({ account }, at / 1000);
      }
    },
  });
  new Gauge({
    name: 'wasync_account_history_sync_progress_percent',
    help: 'Per account: the highest progress (0-100) the RECENT and FULL history-sync chunks of the current sync reported.',
    labelNames: ['account', 'sync_type'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [account] of accounts.runtimesById()) {
        const p = progress.get(account);
        for (const sync_type of SYNC_TYPES) if (p?.[sync_type] != null) this.set({ account, sync_type }, p[sync_type]);
      }
    },
  });
  const autoBackfill = new Counter({
    name: 'wasync_auto_backfill_runs_total',
    help: 'Auto-backfill attempts by outcome (ok, error, lease_held: another instance runs it, lease_error).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of AUTO_BACKFILL_OUTCOMES) autoBackfill.inc({ outcome }, 0);
  const backfillRuns = new Counter({
    name: 'wasync_backfill_runs_total',
    help: 'Backfill runs an actor finished, by reason (manual, auto, recent) and result (ok, errors: some threads failed).',
    labelNames: ['reason', 'result'] as const,
    registers: [registry],
  });
  const backfillMessages = new Counter({
    name: 'wasync_backfill_messages_total',
    help: 'Messages backfill runs brought in, by reason (manual, auto, recent).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });

  accounts.on('auto-backfill', (outcome: AutoBackfillOutcome) => autoBackfill.inc({ outcome }));
  accounts.on('actor-event', (e: ActorEvent) => {
    if (e.type === 'messages' && e.source === 'realtime') {
      const newest = Math.max(lastRealtime.get(e.accountId) ?? Number.NEGATIVE_INFINITY, e.newestCreatedAt ?? Number.NEGATIVE_INFINITY);
      if (Number.isFinite(newest)) lastRealtime.set(e.accountId, newest);
    } else if (e.type === 'history-sync-status') {
      progress.set(e.accountId, e.state.progress);
    } else if (e.type === 'backfill') {
      backfillRuns.inc({ reason: e.reason, result: e.result.errors > 0 ? 'errors' : 'ok' });
      backfillMessages.inc({ reason: e.reason }, e.result.messages);
    }
  });

  // What the store knew before this process started: the lag is right from the first scrape.
  void seed?.().then(
    (records) => {
      for (const a of records) {
        if (a.lastRealtimeMessageAt != null && !lastRealtime.has(a.id)) lastRealtime.set(a.id, a.lastRealtimeMessageAt);
        if (a.historySyncProgress && !progress.has(a.id)) progress.set(a.id, a.historySyncProgress);
      }
    },
    () => undefined,
  );
}
