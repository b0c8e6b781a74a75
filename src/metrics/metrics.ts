import type { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ActorEvent } from '../account-actor/protocol.js';
import type { AccountRuntime } from '../supervisor/service.js';

export interface Metrics {
  registry: Registry;
  contentType: string;
  render: () => Promise<string>;
  observeHttp: (route: string, method: string, status: number, seconds: number) => void;
}

/**
 * Prometheus metrics, fed by the supervisor's actor events (so actors need no registry of their own).
 * Labels stay bounded: no account or message ids, only sources, kinds, states and route templates.
 */
export function createMetrics(events: EventEmitter, runtimes: () => Iterable<AccountRuntime>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wasync_' });

  const messages = new Counter({
    name: 'wasync_messages_stored_total',
    help: 'Messages committed to the store, by sync source.',
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

  events.on('actor-event', (e: ActorEvent) => {
    switch (e.type) {
      case 'messages':
        messages.inc({ source: e.source }, e.messages.length);
        break;
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
  events.on('actor-restart', () => restarts.inc());
  events.on('fleet-event', (e: { kind: string }) => leaseEvents.inc({ event: e.kind }));

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeHttp(route, method, status, seconds) {
      httpRequests.inc({ route, method, status: String(status) });
      httpSeconds.observe({ route }, seconds);
    },
  };
}
