import { Counter, Gauge, type Registry } from 'prom-client';
import { MEDIA_JOB_STATES } from '../store/media-queue.js';
import type { MediaArchiveService, MediaArchiveSettled } from '../supervisor/media-archive-service.js';

/**
 * Media-archive metrics (docs/media-archive.md): files by outcome, bytes stored, failures by error code,
 * the queue by state and the downloads in flight. Labels are bounded: four outcomes, five states, and
 * error codes cut to wasync's codes or an HTTP status class.
 */
export function registerMediaArchiveMetrics(registry: Registry, service: MediaArchiveService): void {
  const files = new Counter({
    name: 'wasync_media_archive_files_total',
    help: 'Media files the archive finished an attempt on, by result (stored, already archived, retry, failed for good).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'wasync_media_archive_bytes_total',
    help: 'Bytes of media files stored in the archive (files already there not counted).',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'wasync_media_archive_failures_total',
    help: 'Failed archive attempts (retried or given up), by error code.',
    labelNames: ['code', 'final'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'wasync_media_archive_jobs',
    help: 'Media-archive jobs of the accounts running on this instance, by state (read from the store as jobs settle and every 30 s).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts = service.jobCounts();
      for (const state of MEDIA_JOB_STATES) this.set({ state }, counts[state]);
    },
  });
  new Gauge({
    name: 'wasync_media_archive_in_flight',
    help: 'Media files being downloaded and stored now (at most MEDIA_ARCHIVE_CONCURRENCY).',
    registers: [registry],
    collect() {
      this.set(service.inFlight);
    },
  });

  service.on('settled', ({ outcome }: MediaArchiveSettled) => {
    files.inc({ result: outcome.result });
    if (outcome.result === 'stored') bytes.inc(outcome.media.size);
    if (outcome.result === 'retry' || outcome.result === 'failed') {
      failures.inc({ code: errorCodeOf(outcome.error), final: String(outcome.result === 'failed') });
    }
  });
}

/** `MEDIA_HASH_MISMATCH: …` → the code; `HTTP 503: …` → `HTTP_5XX`; anything else `OTHER` (bounded labels). */
export function errorCodeOf(error: string): string {
  const code = /^([A-Z][A-Z_]{2,40}):/.exec(error)?.[1];
  if (code) return code;
  const http = /^HTTP (\d)\d\d\b/.exec(error)?.[1];
  return http ? `HTTP_${http}XX` : 'OTHER';
}
