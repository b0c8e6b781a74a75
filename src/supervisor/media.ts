import { connectorTraits } from '../connectors/index.js';
import { NotFoundError, RangeNotSatisfiableError, WasyncError } from '../domain/errors.js';
import type { MediaRef, MessageRecord } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
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
}

/**
 * Opens a stored message's media for the HTTP side, through the media of the connector the account
 * runs on: the download and decryption run in the calling thread and stream straight to the response,
 * so only the re-upload request crosses to the actor.
 */
export async function openStoredMedia(o: OpenMediaOptions): Promise<MediaStream> {
  const account = await o.store.getAccount(o.accountId);
  if (!account) throw new NotFoundError(`account ${o.accountId} not found`);
  const record = await o.store.getMessage(o.accountId, o.messageId);
  if (!record) throw new NotFoundError(`message ${o.messageId} not found`);
  const { media } = await connectorTraits(account.connector ?? o.defaultConnector);
  if (media.unavailable !== null) throw new WasyncError('MEDIA_UNAVAILABLE', `account ${o.accountId} ${media.unavailable}`);
  if (!media.isDownloadable(record)) {
    throw new WasyncError('MEDIA_UNAVAILABLE', `message ${o.messageId} has no downloadable media (it is a ${record.messageType} message)`);
  }
  const size = record.media?.fileLength ?? record.mediaSize ?? null;
  const range = resolveRange(o.range, size);
  const stream = await media.open(record, { range, logger: o.logger, reupload: o.reupload });
  return { stream, mimetype: record.mediaMimetype, fileName: record.mediaFilename, size, range };
}
