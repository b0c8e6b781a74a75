import { Boom } from '@hapi/boom';
import { describe, expect, it } from 'vitest';
import { WasyncError } from '../../src/domain/errors.js';
import { NothingToArchiveError } from '../../src/media-archive/archiver.js';
import { MediaArchiveError, MediaHashMismatchError, MediaTooLargeError } from '../../src/media-archive/port.js';
import { ARCHIVE_RETRY, archiveRetryDelay, describeArchiveError, nextArchiveStep } from '../../src/media-archive/retry.js';

describe('media archive retry policy', () => {
  it('backs off 30 s, 2 min, 8 min, 32 min, ~2 h, then 6 h, within ±20 %', () => {
    const mid = (attempt: number) => archiveRetryDelay(attempt, () => 0.5);
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(mid)).toEqual([
      30_000,
      120_000,
      480_000,
      1_920_000,
      7_680_000,
      ARCHIVE_RETRY.maxMs,
      ARCHIVE_RETRY.maxMs,
      ARCHIVE_RETRY.maxMs,
    ]);
    expect(archiveRetryDelay(1, () => 0)).toBe(24_000);
    expect(archiveRetryDelay(1, () => 0.999999)).toBeLessThanOrEqual(36_000);
  });

  it.each([
    ['nothing to archive', new NothingToArchiveError('no media'), 'fail'],
    ['over the cap', new MediaTooLargeError(100, 200), 'fail'],
    ['a hash mismatch (may be a bad download)', new MediaHashMismatchError('a'.repeat(64), 'b'.repeat(64)), 'retry'],
    ['the CDN failing', new Boom('Failed to fetch stream', { statusCode: 503 }), 'retry'],
    ['the archive failing', new MediaArchiveError('ENOSPC'), 'retry'],
    ['the download failing', new WasyncError('MEDIA_DOWNLOAD_FAILED', 'short read'), 'retry'],
    ['a plain network error', new Error('ECONNRESET'), 'retry'],
  ])('%s → %s (until the attempts run out)', (_what, err, action) => {
    const now = 1_000_000;
    const step = nextArchiveStep(err, 1, 5, now, () => 0.5);
    expect(step.action).toBe(action);
    if (step.action === 'retry') expect(step.at).toBe(now + 30_000);
    expect(nextArchiveStep(err, 5, 5, now).action).toBe('fail');
  });

  it('keeps codes and HTTP statuses, and cuts URLs to their host (CDN URLs carry tokens)', () => {
    expect(
      describeArchiveError(
        new Boom('Failed to fetch stream from https://mmg.whatsapp.net/v/t62/abc.enc?ccb=11-4&oh=SECRET&oe=1', { statusCode: 404 }),
      ),
    ).toBe('HTTP 404: Failed to fetch stream from https://mmg.whatsapp.net/…');
    expect(describeArchiveError(new MediaTooLargeError(10, 20))).toMatch(/^MEDIA_TOO_LARGE: /);
    expect(describeArchiveError('plain')).toBe('plain');
  });
});
