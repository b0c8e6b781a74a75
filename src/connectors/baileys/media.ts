import type { Readable } from 'node:stream';
import { downloadMediaMessage, proto, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import { NotFoundError } from '../../domain/errors.js';
import type { MessageRecord } from '../../domain/records.js';
import type { Logger } from '../../logging/logger.js';
import type { WaSocket } from '../types.js';

/** The real socket can ask the sender's phone to re-upload expired media; the simulated one cannot. */
export type MediaCapableSocket = WaSocket & Pick<WASocket, 'updateMediaMessage'>;

export function isMediaCapable(sock: WaSocket): sock is MediaCapableSocket {
  return typeof (sock as Partial<MediaCapableSocket>).updateMediaMessage === 'function';
}

export interface StoredMedia {
  /** Decrypted media bytes, streamed as they are downloaded. */
  stream: Readable;
  mimetype: string | null;
  fileName: string | null;
  /**
   * Set when the media had expired on WhatsApp's CDN and the phone re-uploaded it: the message with
   * the new `directPath`/`url`. Callers should store its media reference so the next download does
   * not need another re-upload round trip.
   */
  refreshed: WAMessage | null;
}

export interface DownloadOptions {
  /** Byte range of the decrypted file (HTTP Range support). */
  startByte?: number;
  endByte?: number;
}

/**
 * The `WAMessage` a stored record came from, enough for Baileys' downloader and for a re-upload
 * request: the encoded `proto.Message` when we kept it, else one rebuilt from the media reference.
 */
export function storedMediaMessage(record: MessageRecord): WAMessage {
  const key: proto.IMessageKey = { remoteJid: record.clientJid, id: record.id, fromMe: record.fromMe };
  if (record.participant) key.participant = record.participant;
  let message: proto.IMessage | null = null;
  if (record.rawMessage) {
    message = proto.Message.decode(record.rawMessage);
  } else if (record.media?.mediaKey && (record.media.directPath || record.media.url) && record.contentType.endsWith('Message')) {
    const m = record.media;
    const content: Record<string, unknown> = {
      url: m.url ?? undefined,
      directPath: m.directPath ?? undefined,
      mediaKey: Buffer.from(m.mediaKey ?? '', 'base64'),
      fileEncSha256: m.fileEncSha256 ? Buffer.from(m.fileEncSha256, 'base64') : undefined,
      fileSha256: m.fileSha256 ? Buffer.from(m.fileSha256, 'base64') : undefined,
      fileLength: m.fileLength ?? undefined,
      mimetype: record.mediaMimetype ?? undefined,
    };
    if (record.mediaFilename) content.fileName = record.mediaFilename;
    // fromObject validates the field name and builds the right content class (imageMessage, ...).
    message = proto.Message.fromObject({ [record.contentType]: content });
  }
  if (!message) throw new NotFoundError(`message ${record.id} has no downloadable media`);
  return { key, message, messageTimestamp: Math.floor(record.createdAt / 1000) };
}

const REUPLOAD_STATUSES: ReadonlySet<number> = new Set([404, 410]);

/** WhatsApp's CDN answers 404/410 once it has dropped a file. */
export function isExpiredMediaError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { status?: unknown; output?: { statusCode?: unknown } };
  const status = typeof e.status === 'number' ? e.status : e.output?.statusCode;
  return typeof status === 'number' && REUPLOAD_STATUSES.has(status);
}

/**
 * Streams a stored message's media through Baileys' `downloadMediaMessage`. WhatsApp's CDN drops
 * media after a while (404/410); then `sock.updateMediaMessage` asks the phone that holds the file to
 * upload it again, and the download is retried once with the new reference.
 *
 * Baileys is meant to do that itself (`reuploadRequest`), but in 7.0.0-rc14 it never does:
 * lib/Utils/messages.js `downloadMediaMessage` tests `typeof error?.status === 'number'`, while
 * `getHttpStream` (lib/Utils/messages-media.js) throws a Boom, whose code is `output.statusCode` and
 * which has no `status`. So the re-upload is driven here, and `reuploadRequest` is still passed so that
 * a fixed Baileys does it first (then it is not asked twice).
 */
export async function downloadStoredMedia(
  // Only the re-upload request needs the socket: a caller in another thread can pass a proxy for it.
  sock: Pick<WASocket, 'updateMediaMessage'>,
  record: MessageRecord,
  logger: Logger,
  opts: DownloadOptions = {},
): Promise<StoredMedia> {
  const msg = storedMediaMessage(record);
  let refreshed: WAMessage | null = null;
  const range: { startByte?: number; endByte?: number } = {};
  if (opts.startByte !== undefined) range.startByte = opts.startByte;
  if (opts.endByte !== undefined) range.endByte = opts.endByte;
  const reupload = async (m: WAMessage): Promise<WAMessage> => {
    logger.info({ messageId: record.id }, 'media expired on the CDN; asking the phone to re-upload it');
    refreshed = await sock.updateMediaMessage(m);
    return refreshed;
  };
  let stream: Readable;
  try {
    stream = await downloadMediaMessage(msg, 'stream', range, { logger, reuploadRequest: reupload });
  } catch (err) {
    if (refreshed !== null || !isExpiredMediaError(err)) throw err;
    const again = await reupload(msg);
    stream = await downloadMediaMessage(again, 'stream', range);
  }
  return { stream, mimetype: record.mediaMimetype, fileName: record.mediaFilename, refreshed };
}
