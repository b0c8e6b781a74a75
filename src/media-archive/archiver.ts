import type { Readable } from 'node:stream';
import { WasyncError } from '../domain/errors.js';
import { MEDIA_MESSAGE_TYPES, type MessageRecord, type MessageType } from '../domain/records.js';
import type { MediaJobInput, MediaJobPriority } from '../store/media-queue.js';
import { MediaTooLargeError, sha256FromBase64, type ArchivedMedia, type MediaArchive } from './port.js';

/**
 * Archives one stored message's media: download (decrypting as it streams), verify against the
 * message's `fileSha256` while streaming, store content-addressed. The download is injected: the
 * connector that knows the message's transport provides it (today `downloadStoredMedia` of the
 * Baileys connector, with the actor's socket for re-upload requests).
 */
export type MediaDownload = (record: MessageRecord) => Promise<Readable>;

export interface ArchiveMessageOptions {
  record: MessageRecord;
  archive: MediaArchive;
  download: MediaDownload;
  /** MEDIA_ARCHIVE_MAX_BYTES */
  maxBytes: number;
}

export interface ArchiveOutcome {
  /** `already`: the same file was archived before (another message, or an earlier attempt). */
  status: 'stored' | 'already';
  media: ArchivedMedia;
}

/** A message that has nothing to archive, or nothing to verify it against: retrying cannot help. */
export class NothingToArchiveError extends WasyncError {
  constructor(message: string) {
    super('MEDIA_UNAVAILABLE', message);
  }
}

export async function archiveMessageMedia(o: ArchiveMessageOptions): Promise<ArchiveOutcome> {
  const { record } = o;
  const sha256 = expectedSha256(record);
  const size = record.media?.fileLength ?? null;
  // Known to be too large: refused before a byte is downloaded.
  if (size !== null && size > o.maxBytes) throw new MediaTooLargeError(o.maxBytes, size);
  const existing = await o.archive.stat(sha256);
  if (existing) return { status: 'already', media: existing };
  const body = await o.download(record);
  try {
    return { status: 'stored', media: await o.archive.put(body, { sha256, maxBytes: o.maxBytes }) };
  } finally {
    // A refused put (mismatch, too large) must not leave the CDN download running.
    if (!body.destroyed) body.destroy();
  }
}

/** The address a message's file must hash to. */
export function expectedSha256(record: MessageRecord): string {
  if (!record.media) throw new NothingToArchiveError(`message ${record.id} has no media`);
  const sha256 = sha256FromBase64(record.media.fileSha256);
  if (!sha256) throw new NothingToArchiveError(`message ${record.id} carries no fileSha256 to verify its media against`);
  return sha256;
}

export interface ArchivePolicy {
  /** MEDIA_ARCHIVE_TYPES */
  types: readonly MessageType[];
  /** MEDIA_ARCHIVE_MAX_BYTES */
  maxBytes: number;
}

/**
 * Whether a stored message's media should be queued for the archive: a media type the operator
 * chose, a file hash to verify against, and not known to be over the size cap. Revoked messages are
 * left out (the sender withdrew them).
 */
export function shouldArchive(record: MessageRecord, policy: ArchivePolicy): boolean {
  if (!MEDIA_MESSAGE_TYPES.has(record.messageType) || !policy.types.includes(record.messageType)) return false;
  if (record.revokedAt !== null || !record.media?.mediaKey) return false;
  if (!sha256FromBase64(record.media.fileSha256)) return false;
  const size = record.media.fileLength;
  return size === null || size <= policy.maxBytes;
}

/** The queue entry for a message: live media (realtime, sends) ahead of history and backfill. */
export function mediaJobFor(record: MessageRecord): MediaJobInput {
  const priority: MediaJobPriority = record.syncSource === 'realtime' || record.syncSource === 'outbound_api' ? 'live' : 'history';
  return { accountId: record.accountId, messageId: record.id, clientJid: record.clientJid, priority, messageAt: record.createdAt };
}
