import { WasyncError, type ErrorCode } from '../domain/errors.js';
import { messageOf } from './port.js';

/**
 * What to do with a job whose attempt failed. Failures that cannot heal (nothing to archive, over the
 * size cap, a malformed address) fail the job at once; everything else (CDN errors, the phone not
 * answering a re-upload, a hash mismatch that a clean download may fix, the disk or bucket failing)
 * is retried with growing delays until `maxAttempts`, then fails with its last error.
 */
export type ArchiveNextStep = { action: 'retry'; at: number; error: string } | { action: 'fail'; error: string };

const PERMANENT: ReadonlySet<ErrorCode> = new Set(['MEDIA_UNAVAILABLE', 'MEDIA_TOO_LARGE', 'BAD_REQUEST', 'NOT_FOUND']);

/** 30 s, 2 min, 8 min, 32 min, ~2 h, then 6 h: a CDN hiccup heals fast, a phone offline for a day still gets its turns. */
export const ARCHIVE_RETRY = { firstMs: 30_000, factor: 4, maxMs: 6 * 3600_000 } as const;

export function archiveRetryDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(ARCHIVE_RETRY.maxMs, ARCHIVE_RETRY.firstMs * ARCHIVE_RETRY.factor ** Math.max(0, attempt - 1));
  // ±20 %: jobs that failed together (a CDN outage) do not all come back in the same second.
  return Math.round(base * (0.8 + 0.4 * random()));
}

export function isPermanentArchiveError(err: unknown): boolean {
  return err instanceof WasyncError && PERMANENT.has(err.code);
}

export function nextArchiveStep(err: unknown, attempts: number, maxAttempts: number, now: number, random?: () => number): ArchiveNextStep {
  const error = describeArchiveError(err);
  if (isPermanentArchiveError(err) || attempts >= maxAttempts) return { action: 'fail', error };
  return { action: 'retry', at: now + archiveRetryDelay(attempts, random), error };
}

/**
 * The error as kept on the job and logged: its code or HTTP status, and URLs cut to their host
 * (WhatsApp's CDN URLs carry access tokens in their query).
 */
export function describeArchiveError(err: unknown): string {
  const status = (err as { output?: { statusCode?: unknown } } | null)?.output?.statusCode;
  const prefix = err instanceof WasyncError ? `${err.code}: ` : typeof status === 'number' ? `HTTP ${status}: ` : '';
  return prefix + messageOf(err).replace(/\b(https?):\/\/([^/\s?#]+)[^\s]*/g, '$1://$2/…');
}
