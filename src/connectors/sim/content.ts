import { proto } from '@whiskeysockets/baileys';
import { int64, uint64, type Long } from './longs.js';
import type { MediaProtoFields } from '../../ingest/index.js';
import type { Rng } from './rng.js';
import { CAPTIONS, DOCUMENTS, EMOJI, FIRST_NAMES, GREETINGS, LAST_NAMES, LINKS, PLACES, SENTENCES } from './vocab.js';

/**
 * Message content as WhatsApp carries it. Media carries every field a later download would need — url, directPath, mediaKey,
 * hashes, length — with random bytes in place of a real upload: nothing behind the URL exists.
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

/** WhatsApp's media path prefixes per kind (the `t62.*` part of a real directPath). */
const MEDIA_PATH: Record<'image' | 'video' | 'audio' | 'document' | 'sticker', string> = {
  image: 't62.7118-24',
  video: 't62.7161-24',
  audio: 't62.7114-24',
  document: 't62.7119-24',
  sticker: 't62.15575-24',
};

/** What the generator fills in of a media proto's shared fields (`MediaProtoFields`). */
export type GeneratedMedia = Required<Pick<MediaProtoFields, 'url' | 'directPath' | 'mediaKey' | 'fileSha256' | 'fileEncSha256'>> & {
  mediaKeyTimestamp: Long;
};

export function mediaFields(rng: Rng, kind: keyof typeof MEDIA_PATH, ts: number): GeneratedMedia {
  const directPath =
    `/v/${MEDIA_PATH[kind]}/${rng.digits(8)}_${rng.digits(16)}_${rng.digits(16)}_n.enc` +
    `?ccb=11-4&oh=01_Q5Aa${rng.hex(28)}&oe=${rng.hex(8)}&_nc_sid=5e03e0`;
  return {
    url: `https://mmg.whatsapp.net${directPath}&mms3=true`,
    directPath,
    mediaKey: rng.bytes(32),
    fileSha256: rng.bytes(32),
    fileEncSha256: rng.bytes(32),
    mediaKeyTimestamp: int64(ts),
  };
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
      const landscape = rng.chance(0.5);
      return new M({
        imageMessage: new M.ImageMessage({
          ...mediaFields(rng, 'image', ctx.ts),
          mimetype: 'image/jpeg',
          ...(rng.chance(0.45) ? { caption: rng.pick(CAPTIONS) } : {}),
          fileLength: uint64(rng.int(40_000, 3_500_000)),
          width: landscape ? 1600 : 1200,
          height: landscape ? 1200 : 1600,
          ...withContext,
        }),
      });
    }
    case 'video':
      return new M({
        videoMessage: new M.VideoMessage({
          ...mediaFields(rng, 'video', ctx.ts),
          mimetype: 'video/mp4',
          ...(rng.chance(0.3) ? { caption: rng.pick(CAPTIONS) } : {}),
          seconds: rng.int(3, 180),
          fileLength: uint64(rng.int(300_000, 25_000_000)),
          width: 720,
          height: 1280,
          ...withContext,
        }),
      });
    case 'audio': {
      const ptt = rng.chance(0.85);
      return new M({
        audioMessage: new M.AudioMessage({
          ...mediaFields(rng, 'audio', ctx.ts),
          mimetype: ptt ? 'audio/ogg; codecs=opus' : 'audio/mpeg',
          seconds: rng.int(2, 240),
          ptt,
          fileLength: uint64(rng.int(5_000, 4_000_000)),
          ...withContext,
        }),
      });
    }
    case 'document': {
      const [fileName, mimetype] = rng.pick(DOCUMENTS);
      const fields = {
        ...mediaFields(rng, 'document', ctx.ts),
        mimetype,
        fileName,
        title: fileName,
        fileLength: uint64(rng.int(8_000, 12_000_000)),
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
    case 'sticker':
      return new M({
        stickerMessage: new M.StickerMessage({
          ...mediaFields(rng, 'sticker', ctx.ts),
          mimetype: 'image/webp',
          fileLength: uint64(rng.int(8_000, 90_000)),
          width: 512,
          height: 512,
          isAnimated: rng.chance(0.15),
          ...withContext,
        }),
      });
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
