import { proto } from '@whiskeysockets/baileys';
import { int64, uint64, type Long } from './longs.js';
import type { MediaProtoFields } from '../../ingest/index.js';
import type { Rng } from './rng.js';
import { SIM_MEDIA_FILES, simMediaMeta, simMediaPath, type SimMediaKind, type SimMediaMeta } from './media-files.js';
import { CAPTIONS, DOCUMENTS, EMOJI, FIRST_NAMES, GREETINGS, LAST_NAMES, LINKS, PLACES, SENTENCES } from './vocab.js';

/**
 * Message content as WhatsApp carries it. Media carries every field a later download needs — url,
 * directPath, mediaKey, hashes, length — for a real file of the sim's pool (media-files.ts), which the
 * sim's CDN serves encrypted as WhatsApp's does.
 */

export type ContentKind = 'text' | 'extendedText' | 'link' | 'image' | 'video' | 'audio' | 'document' | 'sticker' | 'location' | 'contact';

export const CONTENT_WEIGHTS: Readonly<Record<ContentKind, number>> = {
  text: 46,
  extendedText: 10,
  link: 4,
  image: 13,
  video: 4,
  audio: 9,
  document: 6,
  sticker: 5,
  location: 1.5,
  contact: 1.5,
};

export function sentence(rng: Rng): string {
  const r = rng.next();
  if (r < 0.12) return rng.pick(GREETINGS);
  if (r < 0.2) return rng.pick(EMOJI);
  let s: string = rng.pick(SENTENCES);
  if (rng.chance(0.25)) s = `${s} ${rng.pick(SENTENCES)}`;
  if (rng.chance(0.15)) s = `${s} ${rng.pick(EMOJI)}`;
  return s;
}

/** What the generator fills in of a media proto's shared fields (`MediaProtoFields`), and the file they describe. */
export type GeneratedMedia = Required<Pick<MediaProtoFields, 'url' | 'directPath' | 'mediaKey' | 'fileSha256' | 'fileEncSha256'>> & {
  mediaKeyTimestamp: Long;
  file: SimMediaMeta;
};

/**
 * A file of the pool and its reference. The random draws are the ones the generator always made (path
 * tokens, then three 32-byte values), so every other generated value stays what it was for a seed; the
 * first drawn value picks the file.
 */
export function mediaFields(rng: Rng, kind: SimMediaKind, ts: number): GeneratedMedia {
  rng.digits(8);
  const noise = { a: rng.digits(16), b: rng.digits(16), oh: rng.hex(28), oe: rng.hex(8) };
  const pick = rng.bytes(32);
  rng.bytes(32);
  rng.bytes(32);
  const file = simMediaMeta(kind, pick[0]! % SIM_MEDIA_FILES);
  const directPath = simMediaPath(kind, file.index, noise);
  return {
    url: `https://mmg.whatsapp.net${directPath}&mms3=true`,
    directPath,
    mediaKey: file.mediaKey,
    fileSha256: file.fileSha256,
    fileEncSha256: file.fileEncSha256,
    mediaKeyTimestamp: int64(ts),
    file,
  };
}

/** The file's true length; `drawn` is the value the generator drew for it before files were real (see `mediaFields`). */
function lengthOf(media: GeneratedMedia, drawn: number): Long {
  void drawn;
  return uint64(media.file.fileLength);
}

/** The proto fields of a generated file (`file` is ours, not WhatsApp's). */
function protoFields({ file: _file, ...fields }: GeneratedMedia): Omit<GeneratedMedia, 'file'> {
  return fields;
}

export interface ContentContext {
  /** Seconds; media keys are stamped with it. */
  ts: number;
  /** Disappearing-messages timer of the chat (0 = off): content then carries `contextInfo.expiration`. */
  expiration: number;
  /** A message this one may quote (replies). */
  quote?: { id: string; participant: string; text: string } | undefined;
}

const M = proto.Message;

/**
 * Content as proto instances built directly with their constructors and `Long`s where the schema has
 * 64-bit integers — the same objects `proto.Message.decode` yields. (Going through `fromObject` for
 * 100k varied messages costs seconds: its ~150 field checks per `Message` turn megamorphic.)
 */
export function buildContent(rng: Rng, kind: ContentKind, ctx: ContentContext): proto.Message {
  const contextInfo =
    ctx.expiration > 0 || ctx.quote
      ? new proto.ContextInfo({
          ...(ctx.quote
            ? { stanzaId: ctx.quote.id, participant: ctx.quote.participant, quotedMessage: new M({ conversation: ctx.quote.text }) }
            : {}),
          ...(ctx.expiration > 0 ? { expiration: ctx.expiration } : {}),
        })
      : undefined;
  const withContext = contextInfo ? { contextInfo } : {};
  switch (kind) {
    case 'text':
      // Plain `conversation` cannot carry contextInfo; WhatsApp switches to extendedText when it must.
      return contextInfo
        ? new M({ extendedTextMessage: new M.ExtendedTextMessage({ text: sentence(rng), contextInfo }) })
        : new M({ conversation: sentence(rng) });
    case 'extendedText':
      return new M({ extendedTextMessage: new M.ExtendedTextMessage({ text: sentence(rng), ...withContext }) });
    case 'link': {
      const [url, title, description] = rng.pick(LINKS);
      return new M({
        extendedTextMessage: new M.ExtendedTextMessage({
          text: `${rng.chance(0.5) ? `${sentence(rng)} ` : ''}${url}`,
          matchedText: url,
          title,
          description,
          previewType: M.ExtendedTextMessage.PreviewType.NONE,
          ...withContext,
        }),
      });
    }
    case 'image': {
      rng.chance(0.5); // once the orientation; the file now has its own size
      const media = mediaFields(rng, 'image', ctx.ts);
      return new M({
        imageMessage: new M.ImageMessage({
          ...protoFields(media),
          mimetype: 'image/png',
          ...(rng.chance(0.45) ? { caption: rng.pick(CAPTIONS) } : {}),
          fileLength: lengthOf(media, rng.int(40_000, 3_500_000)),
          width: media.file.width ?? 0,
          height: media.file.height ?? 0,
          ...withContext,
        }),
      });
    }
    case 'video': {
      const media = mediaFields(rng, 'video', ctx.ts);
      return new M({
        videoMessage: new M.VideoMessage({
          ...protoFields(media),
          mimetype: 'video/mp4',
          ...(rng.chance(0.3) ? { caption: rng.pick(CAPTIONS) } : {}),
          seconds: rng.int(3, 180),
          fileLength: lengthOf(media, rng.int(300_000, 25_000_000)),
          width: 720,
          height: 1280,
          ...withContext,
        }),
      });
    }
    case 'audio': {
      const ptt = rng.chance(0.85);
      const media = mediaFields(rng, 'audio', ctx.ts);
      return new M({
        audioMessage: new M.AudioMessage({
          ...protoFields(media),
          mimetype: ptt ? 'audio/ogg; codecs=opus' : 'audio/mpeg',
          seconds: rng.int(2, 240),
          ptt,
          fileLength: lengthOf(media, rng.int(5_000, 4_000_000)),
          ...withContext,
        }),
      });
    }
    case 'document': {
      const [fileName, mimetype] = rng.pick(DOCUMENTS);
      const media = mediaFields(rng, 'document', ctx.ts);
      const fields = {
        ...protoFields(media),
        mimetype,
        fileName,
        title: fileName,
        fileLength: lengthOf(media, rng.int(8_000, 12_000_000)),
        ...(mimetype === 'application/pdf' ? { pageCount: rng.int(1, 40) } : {}),
        ...withContext,
      };
      // A captioned document arrives wrapped, which is what trips naive content-type detection.
      if (rng.chance(0.3)) {
        const documentMessage = new M.DocumentMessage({ ...fields, caption: rng.pick(CAPTIONS) });
        return new M({ documentWithCaptionMessage: new M.FutureProofMessage({ message: new M({ documentMessage }) }) });
      }
      return new M({ documentMessage: new M.DocumentMessage(fields) });
    }
    case 'sticker': {
      const media = mediaFields(rng, 'sticker', ctx.ts);
      return new M({
        stickerMessage: new M.StickerMessage({
          ...protoFields(media),
          mimetype: 'image/webp',
          fileLength: lengthOf(media, rng.int(8_000, 90_000)),
          width: 512,
          height: 512,
          isAnimated: rng.chance(0.15),
          ...withContext,
        }),
      });
    }
    case 'location': {
      const [name, lat, lng] = rng.pick(PLACES);
      return new M({
        locationMessage: new M.LocationMessage({
          degreesLatitude: lat + (rng.next() - 0.5) / 500,
          degreesLongitude: lng + (rng.next() - 0.5) / 500,
          name,
          ...withContext,
        }),
      });
    }
    case 'contact': {
      const n = `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
      const tel = `+${rng.digits(11)}`;
      return new M({
        contactMessage: new M.ContactMessage({
          displayName: n,
          vcard: `BEGIN:VCARD\nVERSION:3.0\nN:;${n};;;\nFN:${n}\nTEL;type=CELL;waid=${tel.slice(1)}:${tel}\nEND:VCARD`,
          ...withContext,
        }),
      });
    }
  }
}

/** Disappearing-messages chats wrap every message, as WhatsApp does. */
export function wrapEphemeral(message: proto.Message, expiration: number): proto.Message {
  return expiration > 0 ? new M({ ephemeralMessage: new M.FutureProofMessage({ message }) }) : message;
}

/** A short text standing in for a message in a quote preview. */
export function previewText(message: proto.IMessage | null | undefined): string {
  const m = message?.ephemeralMessage?.message ?? message?.documentWithCaptionMessage?.message ?? message;
  if (!m) return '';
  return (
    m.conversation ??
    m.extendedTextMessage?.text ??
    m.imageMessage?.caption ??
    m.videoMessage?.caption ??
    m.documentMessage?.fileName ??
    (m.audioMessage ? '🎤 Voice message' : m.stickerMessage ? 'Sticker' : m.locationMessage ? '📍 Location' : '📎')
  );
}
