import type { Readable } from 'node:stream';
import { connectorTraits } from '../connectors/index.js';
import { NotFoundError, RangeNotSatisfiableError, WasyncError } from '../domain/errors.js';
import type { MediaRef, MessageRecord } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import { sha256FromBase64, type MediaArchive } from '../media-archive/port.js';
import type { MediaRange, MediaStream } from './service.js';

/**
 * The bytes to serve for a requested range, `end` inclusive; null means the whole file (200).
 * Without a known size only an explicit `start-end` can be honoured: an open or suffix range then gets
 * the whole file, which HTTP allows (a server may ignore `Range`) and every client handles.
 */
export function resolveRange(range: MediaRange | undefined, size: number | null): { start: number; end: number } | null {
  if (!range) return null;
  if (size === null) {
    if ('suffix' in range || range.end === undefined) return null;
    return { start: range.start, end: range.end };
  }
  if ('suffix' in range) {
    if (range.suffix === 0 || size === 0)
      throw new RangeNotSatisfiableError(`range asks for the last ${range.suffix} bytes of a ${size}-byte file`, size);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) throw new RangeNotSatisfiableError(`range starts at byte ${range.start} but the file has ${size} bytes`, size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

export interface OpenMediaOptions {
  store: Store;
  logger: Logger;
  accountId: string;
  messageId: string;
  range?: MediaRange | undefined;
  /** Connector of accounts stored without one (they predate the field): the process's own. */
  defaultConnector: string;
  /**
   * Gets a fresh media reference for expired media. The accounts service passes a proxy to the account
   * actor's command (the live socket is in the actor's thread); route tests pass a phone double.
   */
  reupload: (record: MessageRecord) => Promise<MediaRef>;
  /** The media archive (MEDIA_ARCHIVE), or null when off: archived files are served from it. */
  archive?: MediaArchive | null;
}

/**
 * Opens a stored message's media for the HTTP side: from the media archive when the file is there
 * (docs/media-archive.md), else through the media of the connector the account runs on. Either way
 * the bytes stream straight to the response; only a re-upload request crosses to the actor.
 */
export async function openStoredMedia(o: OpenMediaOptions): Promise<MediaStream> {
  const account = await o.store.getAccount(o.accountId);
  if (!account) throw new NotFoundError(`account ${o.accountId} not found`);
  const record = await o.store.getMessage(o.accountId, o.messageId);
  if (!record) throw new NotFoundError(`message ${o.messageId} not found`);
  const archived = o.archive ? await openArchivedMedia(o.archive, record, o.range) : null;
  if (archived) return archived;
  const size = record.media?.fileLength ?? record.mediaSize ?? null;
  const range = resolveRange(o.range, size);
  const stream = await openConnectorMedia({ ...o, connector: account.connector ?? o.defaultConnector, record, range });
  return { stream, mimetype: record.mediaMimetype, fileName: record.mediaFilename, size, range, source: 'whatsapp' };
}

/**
 * The file from the archive, by the address the message records (`mediaSha256`) or, for a message the
 * archive has not reached yet, its `fileSha256`: content addressing makes any copy of those bytes the
 * right one. Null when the archive does not hold it. The size is the archived file's, so every range form works.
 */
export async function openArchivedMedia(archive: MediaArchive, record: MessageRecord, requested?: MediaRange): Promise<MediaStream | null> {
  const sha256 = record.mediaSha256 ?? sha256FromBase64(record.media?.fileSha256);
  if (!sha256) return null;
  const info = await archive.stat(sha256);
  if (!info) return null;
  const range = resolveRange(requested, info.size);
  const read = await archive.get(sha256, range ?? undefined);
  if (!read) return null;
  return { stream: read.stream, mimetype: record.mediaMimetype, fileName: record.mediaFilename, size: info.size, range, source: 'archive' };
}

export interface ConnectorMediaOptions {
  logger: Logger;
  /** The account's connector kind (`AccountRecord.connector`). */
  connector: string;
  record: MessageRecord;
  range: { start: number; end: number } | null;
  reupload: (record: MessageRecord) => Promise<MediaRef>;
}

/**
 * The decrypted media as the account's connector serves it (the download runs in the calling thread).
 * `MEDIA_UNAVAILABLE` when the connector has none or the record holds no downloadable reference.
 */
export async function openConnectorMedia(o: ConnectorMediaOptions): Promise<Readable> {
  const { media } = await connectorTraits(o.connector);
  if (media.unavailable !== null) throw new WasyncError('MEDIA_UNAVAILABLE', `account ${o.record.accountId} ${media.unavailable}`);
  if (!media.isDownloadable(o.record)) {
    throw new WasyncError(
      'MEDIA_UNAVAILABLE',
      `message ${o.record.id} has no downloadable media (it is a ${o.record.messageType} message)`,
    );
  }
  return media.open(o.record, { range: o.range, logger: o.logger, reupload: o.reupload });
}
