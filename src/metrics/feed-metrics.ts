import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The live feed's metrics (README, Metrics). Labels are bounded: transports, outcomes and states,
 * never account ids, endpoint ids or URLs.
 */
export interface FeedMetrics {
  socket: {
    connected(delta: 1 | -1): void;
    delivered(n: number): void;
    slowConsumerClosed(): void;
  };
  webhooks: {
    attempt(outcome: 'delivered' | 'retried' | 'failed', seconds: number): void;
    lag(seconds: number): void;
  };
}

export function registerFeedMetrics(
  registry: Registry,
  live: { subscribers: () => number; webhookEndpoints: () => Array<{ state: string }> },
): FeedMetrics {
  const connections = new Gauge({ name: 'wasync_feed_connections', help: 'Open websocket feed connections.', registers: [registry] });
  new Gauge({
    name: 'wasync_feed_subscribers',
    help: 'Live subscriptions of the feed hub (websocket subscriptions and webhook endpoints dispatched here).',
    registers: [registry],
    collect() {
      this.set(live.subscribers());
    },
  });
  const delivered = new Counter({
    name: 'wasync_feed_events_delivered_total',
    help: 'Events delivered, by transport (websocket frames sent, webhook requests answered 2xx).',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  const slow = new Counter({
    name: 'wasync_feed_slow_consumer_closes_total',
    help: 'Websocket connections closed with 4008 because they read too slowly.',
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'wasync_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, retried (failed, retried later), failed (the endpoint was parked).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const attemptSeconds = new Histogram({
    name: 'wasync_webhook_request_duration_seconds',
    help: 'Duration of webhook requests, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'wasync_webhook_lag_seconds',
    help: 'From the commit of an event to its successful webhook delivery.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 15, 60, 300, 1800, 3600, 21600],
    registers: [registry],
  });
  new Gauge({
    name: 'wasync_webhook_endpoints',
    help: 'Webhook endpoints by state (active, failed), as this instance last listed them.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.set({ state: 'active' }, 0);
      this.set({ state: 'failed' }, 0);
      for (const e of live.webhookEndpoints()) this.inc({ state: e.state });
    },
  });
  return {
    socket: {
      connected: (delta) => connections.inc(delta),
      delivered: (n) => delivered.inc({ transport: 'websocket' }, n),
      slowConsumerClosed: () => slow.inc(),
    },
    webhooks: {
      attempt(outcome, seconds) {
        attempts.inc({ outcome });
        attemptSeconds.observe({ outcome }, seconds);
        if (outcome === 'delivered') delivered.inc({ transport: 'webhook' });
      },
      lag: (seconds) => lag.observe(seconds),
    },
  };
}
