import { Counter, Gauge, type Registry } from 'prom-client';

type Result = 'hit' | 'coalesced' | 'miss' | 'bypass';

/**
 * The HTTP thread's response cache of the list endpoints (src/http/read-cache.ts; README, Metrics):
 * requests by how they were answered, and the bytes held. Labels are the four outcomes, nothing else.
 */
export function registerReadCacheMetrics(registry: Registry, bytesHeld: () => number): { observe(result: Result): void } {
  const requests = new Counter({
    name: 'wasync_http_read_cache_requests_total',
    help:
      'Thread and message list reads by outcome: hit (from the cache), coalesced (waited for the same read), miss, ' +
      'bypass (cache off, or a store without change token).',
    labelNames: ['result'],
    registers: [registry],
  });
  new Gauge({
    name: 'wasync_http_read_cache_bytes',
    help: 'Bytes of list pages held by the HTTP thread\u2019s response cache.',
    registers: [registry],
    collect() {
      this.set(bytesHeld());
    },
  });
  // Children resolved once: a request then pays one increment, not a label lookup.
  const children: Record<Result, { inc(value?: number): void }> = {
    hit: requests.labels('hit'),
    coalesced: requests.labels('coalesced'),
    miss: requests.labels('miss'),
    bypass: requests.labels('bypass'),
  };
  for (const child of Object.values(children)) child.inc(0);
  return { observe: (result) => children[result].inc() };
}
