import type { Config } from '../config/index.js';
import type { MediaJobEnqueue, Mutation } from '../domain/mutations.js';
import { mediaJobFor, shouldArchive, type ArchivePolicy } from '../media-archive/archiver.js';

/** What the archive keeps (`MEDIA_ARCHIVE_TYPES`, `MEDIA_ARCHIVE_MAX_BYTES`), or null when `MEDIA_ARCHIVE=off`. */
export function archivePolicyOf(config: Config): ArchivePolicy | null {
  if (config.MEDIA_ARCHIVE === 'off') return null;
  return { types: config.MEDIA_ARCHIVE_TYPES, maxBytes: config.MEDIA_ARCHIVE_MAX_BYTES };
}

/**
 * The mutations with a `media-job` for each message whose media the archive keeps, so that the store
 * writes the job with the message (docs/media-archive.md): nothing waits for the download, and no
 * crash can leave a stored media message without its job. Live messages queue ahead of history and
 * backfill (`mediaJobFor`).
 */
export function withMediaJobs(mutations: Mutation[], policy: ArchivePolicy | null): Mutation[] {
  if (policy === null) return mutations;
  const jobs: MediaJobEnqueue[] = [];
  for (const m of mutations) {
    if (m.kind !== 'message' || !shouldArchive(m.record, policy)) continue;
    jobs.push({ kind: 'media-job', ...mediaJobFor(m.record) });
  }
  return jobs.length === 0 ? mutations : [...mutations, ...jobs];
}
