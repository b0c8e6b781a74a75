import { Gauge, type Registry } from 'prom-client';
import type { ProtocolVersionStatus } from '../domain/protocol-version.js';

/**
 * `wasync_wa_version_info{version,source} 1` and `wasync_wa_version_age_seconds{source}`, read at
 * scrape time. One series at a time (the gauges are reset on every scrape), so the version label
 * cannot pile up series; age is absent when unknown (pinned, bundled).
 */
export function registerProtocolVersionMetrics(registry: Registry, status: () => ProtocolVersionStatus | null): void {
  new Gauge({
    name: 'wasync_wa_version_info',
    help: 'The WhatsApp Web version the sockets announce (value 1), by version and source (fetched, cached, pinned, bundled).',
    labelNames: ['version', 'source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const s = status();
      if (s) this.set({ version: s.version, source: s.source }, 1);
    },
  });
  new Gauge({
    name: 'wasync_wa_version_age_seconds',
    help: 'Seconds since WhatsApp last confirmed the version in use (a fetch by any instance).',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const s = status();
      if (s?.ageSeconds != null) this.set({ source: s.source }, s.ageSeconds);
    },
  });
}
