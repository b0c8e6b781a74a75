import type { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ActorEvent } from '../account-actor/protocol.js';
import type { AccountRuntime, WriteHealth } from '../supervisor/service.js';

export interface Metrics {
  registry: Registry;
  contentType: string;
  render: () => Promise<string>;
  observeHttp: (route: string, method: string, status: number, seconds: number) => void;
  observeExportRows: (format: string, rows: number) => void;
  observeExportFinished: (format: string, result: string) => void;
}

/**
 * Prometheus metrics, fed by the supervisor's actor events (so actors need no registry of their own).
 * Labels stay bounded: no account or message ids, only sources, kinds, states and route templates.
 */
export function createMetrics(
  events: EventEmitter,
  runtimes: () => Iterable<AccountRuntime>,
  writeHealth: () => WriteHealth | null = () => null,
): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wasync_' });

  const messages = new Counter({
    name: 'wasync_messages_stored_total',
    help: 'Messages newly stored (committed rows that were not there before), by sync source.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const statuses = new Counter({
    name: 'wasync_receipts_applied_total',
    help: 'Delivery/read receipts committed, by status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const flushSeconds = new Histogram({
    name: 'wasync_batch_flush_seconds',
    help: 'Batch writer flush duration.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const flushFailures = new Counter({
    name: 'wasync_batch_flush_failures_total',
    help: 'Batches that failed after retries.',
    registers: [registry],
  });
  const flushOps = new Counter({
    name: 'wasync_batch_operations_total',
    help: 'Operations written by batch writers.',
    registers: [registry],
  });
  const actorErrors = new Counter({
    name: 'wasync_actor_errors_total',
    help: 'Errors reported by account actors, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'wasync_actor_restarts_total',
    help: 'Account actors restarted after a crash.',
    registers: [registry],
  });
  new Gauge({
    name: 'wasync_accounts',
    help: 'Accounts by connection state.',
    labelNames: ['connection'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of runtimes()) this.inc({ connection: r.connection });
    },
  });
  const leaseEvents = new Counter({
    name: 'wasync_owner_lease_events_total',
    help:
      'Owner-lease changes on this instance: acquired, released, moved (handed over), ' +
      'expiring (not renewed in time: actor stopped), lost (taken over).',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'wasync_http_requests_total',
    help: 'HTTP requests by route template, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const httpSeconds = new Histogram({
    name: 'wasync_http_request_duration_seconds',
    help: 'HTTP request duration by route template.',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });

  const exportRows = new Counter({
    name: 'wasync_export_rows_total',
    help: 'Messages written to export responses (GET /api/whatsapp/export), by format.',
    labelNames: ['format'] as const,
    registers: [registry],
  });
  const exports = new Counter({
    name: 'wasync_exports_total',
    help: 'Exports ended, by format and result (complete, aborted: the client went away, failed).',
    labelNames: ['format', 'result'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'wasync_health_degraded',
    help: '1 while /health reports degraded because store writes wait or are retried (reasons in /health), else 0.',
    registers: [registry],
    collect() {
      this.set(writeHealth()?.degraded ? 1 : 0);
    },
  });
  new Gauge({
    name: 'wasync_store_pending_writes',
    help: 'Operations the actors hold that the store has not committed yet.',
    registers: [registry],
    collect() {
      this.set(writeHealth()?.pendingWrites ?? 0);
    },
  });
  new Gauge({
    name: 'wasync_store_oldest_pending_write_seconds',
    help: 'Age of the oldest operation not committed yet, across actors.',
    registers: [registry],
    collect() {
      this.set((writeHealth()?.oldestPendingWriteMs ?? 0) / 1000);
    },
  });
  const writeRetries = new Counter({
    name: 'wasync_store_write_retries_total',
    help: 'Batch writes retried after a transient store failure (busy, unreachable).',
    registers: [registry],
  });
  const loopDelay = new Histogram({
    name: 'wasync_actor_event_loop_delay_p99_seconds',
    help: "Each actor's event-loop delay p99 over one-second windows (one observation per actor per second).",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'wasync_actor_event_loop_delay_max_seconds',
    help: 'The largest event-loop delay any running actor saw in its last one-second window.',
    registers: [registry],
    collect() {
      let max = 0;
      for (const r of runtimes()) max = Math.max(max, r.health?.loopDelay.maxMs ?? 0);
      this.set(max / 1000);
    },
  });
  /** Retries are reported as a running total per actor incarnation: the counter takes the increase. */
  const lastRetries = new Map<string, number>();

  events.on('actor-event', (e: ActorEvent) => {
    switch (e.type) {
      case 'messages':
        // What committed, once: a replay or the echo of a send merges into its row and is not counted again.
        messages.inc({ source: e.source }, e.inserted);
        break;
      case 'health': {
        loopDelay.observe(e.loopDelay.p99Ms / 1000);
        const before = lastRetries.get(e.accountId) ?? 0;
        if (e.writes.retries > before) writeRetries.inc(e.writes.retries - before);
        lastRetries.set(e.accountId, e.writes.retries);
        break;
      }
      case 'statuses':
        for (const u of e.updates) statuses.inc({ status: u.status });
        break;
      case 'flush':
        flushSeconds.observe(e.durationMs / 1000);
        flushOps.inc(e.ops);
        if (e.failed) flushFailures.inc();
        break;
      case 'error':
        actorErrors.inc({ code: e.error.code });
        break;
      default:
        break;
    }
  });
  events.on('actor-restart', (e: { accountId?: string }) => {
    restarts.inc();
    if (e?.accountId) lastRetries.delete(e.accountId);
  });
  events.on('fleet-event', (e: { kind: string }) => leaseEvents.inc({ event: e.kind }));

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeHttp(route, method, status, seconds) {
      httpRequests.inc({ route, method, status: String(status) });
      httpSeconds.observe({ route }, seconds);
    },
    observeExportRows: (format, rows) => exportRows.inc({ format }, rows),
    observeExportFinished: (format, result) => exports.inc({ format, result }),
  };
}
