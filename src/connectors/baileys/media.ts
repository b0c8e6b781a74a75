import { createDecipheriv, type Decipher } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import {
  DEFAULT_ORIGIN,
  MEDIA_HKDF_KEY_MAPPING,
  extractMessageContent,
  getContentType,
  getHttpStream,
  getMediaKeys,
  getUrlFromDirectPath,
  proto,
  toNumber,
  type MediaType,
  type WAMessage,
  type WASocket,
} from '@whiskeysockets/baileys';
import { NotFoundError, WasyncError } from '../../domain/errors.js';
import type { MediaRef, MessageRecord } from '../../domain/records.js';
import type { MediaProtoFields } from '../../ingest/index.js';
import type { Logger } from '../../logging/logger.js';
import type { ConnectorMedia, WaSocket } from '../types.js';

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
}

export interface DownloadOptions {
  /** Byte range of the decrypted file (HTTP Range support): `startByte` inclusive, `endByte` exclusive. */
  startByte?: number;
  endByte?: number;
}

/**
 * The `WAMessage` a stored record came from, enough for the download and for a re-upload request:
 * the encoded `proto.Message` when we kept it, else one rebuilt from the media reference.
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

interface MediaContent {
  /** Baileys' name for the HKDF key family (`image`, `document`, …). */
  mediaType: MediaType;
  /** The proto object itself (not a copy): a re-upload updates it in place, as Baileys does. */
  fields: MediaProtoFields;
}

/** The media part of a message, after Baileys' own unwrapping (ephemeral, view-once, captions…). */
function mediaContentOf(msg: WAMessage): MediaContent | null {
  const content = extractMessageContent(msg.message);
  const contentType = content ? getContentType(content) : undefined;
  if (!content || !contentType?.endsWith('Message')) return null;
  const mediaType = contentType.slice(0, -'Message'.length);
  if (!Object.hasOwn(MEDIA_HKDF_KEY_MAPPING, mediaType)) return null;
  const fields = content[contentType];
  if (typeof fields !== 'object' || fields === null) return null;
  const f = fields as MediaProtoFields;
  if (!f.mediaKey || f.mediaKey.length === 0 || !(f.url || f.directPath)) return null;
  return { mediaType: mediaType as MediaType, fields: f };
}

/** Whether the record holds everything a download needs (a media key and a URL or direct path). */
export function hasDownloadableMedia(record: MessageRecord): boolean {
  if (!record.media) return false;
  try {
    return mediaContentOf(storedMediaMessage(record)) !== null;
  } catch {
    return false;
  }
}

/**
 * The media reference of a message as plain, structured-clone-safe data: what a re-upload changes
 * (`directPath`, `url`) travels from the actor's thread to the HTTP thread in this shape.
 */
export function mediaRefOf(msg: WAMessage): MediaRef {
  const content = mediaContentOf(msg);
  if (!content) throw new NotFoundError(`message ${msg.key.id ?? ''} has no downloadable media`);
  const f = content.fields;
  const b64 = (v: Uint8Array | null | undefined): string | null => (v && v.length > 0 ? Buffer.from(v).toString('base64') : null);
  return {
    directPath: f.directPath || null,
    url: f.url || null,
    mediaKey: b64(f.mediaKey),
    fileEncSha256: b64(f.fileEncSha256),
    fileSha256: b64(f.fileSha256),
    fileLength: f.fileLength == null ? null : toNumber(f.fileLength),
  };
}

/** Applies a refreshed reference (a re-upload's new `directPath`/`url`) to the message, in place. */
export function withMediaRef(msg: WAMessage, ref: MediaRef): WAMessage {
  const content = mediaContentOf(msg);
  if (!content) throw new NotFoundError(`message ${msg.key.id ?? ''} has no downloadable media`);
  content.fields.directPath = ref.directPath;
  content.fields.url = ref.url;
  if (ref.mediaKey) content.fields.mediaKey = Buffer.from(ref.mediaKey, 'base64');
  return msg;
}

const REUPLOAD_STATUSES: ReadonlySet<number> = new Set([404, 410]);

/** WhatsApp's CDN answers 404/410 once it has dropped a file. */
export function isExpiredMediaError(err: unknown): boolean {
  const status = httpStatusOf(err);
  return status !== null && REUPLOAD_STATUSES.has(status);
}

/** The HTTP status of a failed CDN request: Baileys throws Booms (`output.statusCode`), fetch-style errors carry `status`. */
export function httpStatusOf(err: unknown): number | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { status?: unknown; output?: { statusCode?: unknown } };
  const status = typeof e.status === 'number' ? e.status : e.output?.statusCode;
  return typeof status === 'number' ? status : null;
}

/**
 * Streams a stored message's decrypted media. WhatsApp's CDN drops media after a while (404/410);
 * then `sock.updateMediaMessage` asks the phone that holds the file to upload it again, and the
 * download is retried once with the new reference.
 *
 * Baileys 7.0.0-rc14's `downloadMediaMessage` is not used, for two reasons found in its source:
 * - its own re-upload (`reuploadRequest`) never fires: lib/Utils/messages.js tests
 *   `typeof error?.status === 'number'`, while `getHttpStream` throws a Boom, whose code is
 *   `output.statusCode`;
 * - `downloadEncryptedContent` (lib/Utils/messages-media.js) joins the HTTP body to its decipher
 *   with `.pipe()`, which forwards neither errors nor destruction: a CDN connection cut mid-download
 *   raises an unhandled 'error' on the body stream and takes the whole process down (reproduced), and
 *   destroying the returned stream (a client that went away) leaves the CDN download running.
 * So the same steps are done here with Baileys' own pieces (`getHttpStream`, `getMediaKeys`,
 * `getUrlFromDirectPath`, `extractMessageContent`) joined by `pipeline()`: errors reach the
 * returned stream, and destroying it cancels the CDN request.
 */
export async function downloadStoredMedia(
  // Only the re-upload request needs the socket: a caller in another thread can pass a proxy for it.
  sock: Pick<WASocket, 'updateMediaMessage'>,
  record: MessageRecord,
  logger: Logger,
  opts: DownloadOptions = {},
): Promise<StoredMedia> {
  const msg = storedMediaMessage(record);
  let stream: Readable;
  try {
    stream = await downloadDecrypted(msg, opts);
  } catch (err) {
    if (!isExpiredMediaError(err)) throw err;
    logger.info({ messageId: record.id }, 'media expired on the CDN; asking the phone to re-upload it');
    // The new reference serves this download only: the store keeps the one it has (see baileysMedia).
    stream = await downloadDecrypted(await sock.updateMediaMessage(msg), opts);
  }
  return { stream, mimetype: record.mediaMimetype, fileName: record.mediaFilename };
}

const AES_BLOCK = 16;

/**
 * WhatsApp media files are AES-256-CBC ciphertext (PKCS#7 padded) followed by a 10-byte MAC. Any
 * plaintext range can be decrypted from the ciphertext blocks that cover it plus the block before
 * them, which serves as the IV; the file's own IV is used for the first block.
 */
async function downloadDecrypted(msg: WAMessage, opts: DownloadOptions): Promise<Readable> {
  const content = mediaContentOf(msg);
  if (!content) throw new NotFoundError(`message ${msg.key.id ?? ''} has no downloadable media`);
  const { fields } = content;
  // As Baileys' downloadContentFromMessage: a direct path on the host the message's URL names.
  const url = fields.directPath ? getUrlFromDirectPath(fields.directPath, hostOf(fields.url)) : fields.url;
  if (!url) throw new NotFoundError(`message ${msg.key.id ?? ''} has no media URL`);
  const { cipherKey, iv } = await getMediaKeys(fields.mediaKey, content.mediaType);

  const start = opts.startByte ?? 0;
  const end = opts.endByte;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end <= start))) {
    throw new RangeError(`invalid media byte range ${start}..${end ?? ''}`);
  }
  const firstBlock = Math.floor(start / AES_BLOCK);
  const fetchStart = firstBlock > 0 ? (firstBlock - 1) * AES_BLOCK : 0;
  // Inclusive, as HTTP ranges are: the last ciphertext block holding a wanted byte.
  const fetchEnd = end === undefined ? null : Math.floor((end - 1) / AES_BLOCK) * AES_BLOCK + AES_BLOCK - 1;
  const headers: Record<string, string> = { Origin: DEFAULT_ORIGIN };
  // Like Baileys, this trusts the CDN to honour the range (WhatsApp's does).
  if (fetchStart > 0 || fetchEnd !== null) headers.Range = `bytes=${fetchStart}-${fetchEnd ?? ''}`;

  const body = await getHttpStream(url, { headers });
  const decipher = new MediaDecipher({
    cipherKey,
    // Past the first block, the block before the range is the IV and arrives first in the body.
    iv: firstBlock > 0 ? null : iv,
    skip: start - firstBlock * AES_BLOCK,
    take: end === undefined ? null : end - start,
  });
  // pipeline, not pipe: an error on either side destroys both, and destroying the decipher (the
  // caller's stream) cancels the HTTP body. The callback only keeps the error from going unhandled;
  // the caller sees it as the decipher's 'error'.
  pipeline(body, decipher, () => undefined);
  return decipher;
}

/** Bad padding or a short block: the bytes are not this file encrypted with this key. */
function undecryptable(err: unknown): WasyncError {
  const why = err instanceof Error ? err.message : String(err);
  return new WasyncError('MEDIA_DOWNLOAD_FAILED', `the media could not be decrypted (corrupted download or wrong key): ${why}`, {
    cause: err,
  });
}

function hostOf(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * Decrypts whole blocks as they arrive and passes on `take` bytes after skipping `skip`. With
 * `take === null` the body runs to the end of the file: PKCS#7 padding is then checked and removed
 * by `final()`, and the trailing MAC (10 bytes, never a whole block) is left undecrypted. For a
 * range, padding is off (the range may end mid-file) and exactly `take` bytes come out, or an error
 * if the CDN sent fewer: a short answer must not pass for the whole range. Its own failures are
 * MEDIA_DOWNLOAD_FAILED (502 when nothing was sent yet).
 */
class MediaDecipher extends Transform {
  private readonly cipherKey: Uint8Array;
  private iv: Uint8Array | null;
  private skip: number;
  private left: number | null;
  private decipher: Decipher | null = null;
  private pending: Buffer = Buffer.alloc(0);

  constructor(o: { cipherKey: Uint8Array; iv: Uint8Array | null; skip: number; take: number | null }) {
    super();
    this.cipherKey = o.cipherKey;
    this.iv = o.iv;
    this.skip = o.skip;
    this.left = o.take;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
      if (!this.decipher) {
        if (!this.iv) {
          if (data.length < AES_BLOCK) {
            this.pending = data;
            done();
            return;
          }
          this.iv = data.subarray(0, AES_BLOCK);
          data = data.subarray(AES_BLOCK);
        }
        this.decipher = createDecipheriv('aes-256-cbc', this.cipherKey, this.iv);
        this.decipher.setAutoPadding(this.left === null);
      }
      const whole = data.length - (data.length % AES_BLOCK);
      // Copied: a view would keep the whole chunk alive for a few trailing bytes.
      this.pending = Buffer.from(data.subarray(whole));
      this.out(this.decipher.update(data.subarray(0, whole)));
      done();
    } catch (err) {
      done(undecryptable(err));
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.decipher) this.out(this.decipher.final());
    } catch (err) {
      done(undecryptable(err));
      return;
    }
    if (this.left !== null && this.left > 0) {
      done(new WasyncError('MEDIA_DOWNLOAD_FAILED', `the media download ended ${this.left} bytes short of the requested range`));
    } else if (!this.decipher && this.left === null) {
      done(new WasyncError('MEDIA_DOWNLOAD_FAILED', "WhatsApp's media server returned no data"));
    } else {
      done();
    }
  }

  private out(plain: Buffer): void {
    let bytes = plain;
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, bytes.length);
      bytes = bytes.subarray(dropped);
      this.skip -= dropped;
    }
    if (this.left !== null) {
      bytes = bytes.subarray(0, this.left);
      this.left -= bytes.length;
    }
    if (bytes.length > 0) this.push(bytes);
  }
}

/**
 * The real connector's media (`ConnectorMedia`): downloads from WhatsApp's CDN in the calling thread,
 * re-uploads through the account's socket.
 *
 * A refreshed reference (after a re-upload) lives only as long as the download that asked for it: the
 * store keeps the original one, and a later download that finds it expired again asks the phone again.
 * Writing it back would mean a second writer of message rows next to the actor's batch writer, for a
 * saving (one re-upload round trip) that only matters to media fetched repeatedly.
 */
export const baileysMedia: ConnectorMedia = {
  unavailable: null,
  isDownloadable: hasDownloadableMedia,

  async open(record, { range, logger, reupload }) {
    // Only the re-upload needs a socket: this one forwards it to whoever holds the live one.
    const phone: Pick<WASocket, 'updateMediaMessage'> = {
      updateMediaMessage: async (msg) => withMediaRef(msg, await reupload(record)),
    };
    try {
      const media = await downloadStoredMedia(phone, record, logger, range ? { startByte: range.start, endByte: range.end + 1 } : {});
      return media.stream;
    } catch (err) {
      throw asMediaError(err, record, logger);
    }
  },

  reuploader(sock) {
    if (!isMediaCapable(sock)) return null;
    return async (record) => {
      try {
        return mediaRefOf(await sock.updateMediaMessage(storedMediaMessage(record)));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // Baileys' wording for a phone that answered "no" (file deleted there, decryption error, …).
        if (!(err instanceof WasyncError) && /re-upload/i.test(message)) {
          throw new WasyncError('MEDIA_UNAVAILABLE', `the phone could not re-upload the media: ${message}`);
        }
        throw err;
      }
    };
  },
};

/** CDN failures get their own codes; the actor's errors (typed) and bugs (500) pass through. */
function asMediaError(err: unknown, record: MessageRecord, logger: Logger): unknown {
  if (err instanceof WasyncError) return err;
  const status = httpStatusOf(err);
  const fetchFailed = err instanceof TypeError && err.message === 'fetch failed';
  if (status === null && !fetchFailed) return err;
  logger.warn({ err, accountId: record.accountId, messageId: record.id }, 'media download failed');
  if (isExpiredMediaError(err)) {
    // downloadStoredMedia already asked the phone for a new copy: this is the new copy failing too.
    return new WasyncError(
      'MEDIA_UNAVAILABLE',
      `the media expired on WhatsApp's media server and its re-uploaded copy could not be fetched (HTTP ${status})`,
    );
  }
  // Neither message includes the URL: it carries the CDN's access tokens.
  return new WasyncError(
    'MEDIA_DOWNLOAD_FAILED',
    status === null ? "could not reach WhatsApp's media server" : `WhatsApp's media server answered HTTP ${status}`,
  );
}
