import { createHash, randomBytes } from 'node:crypto';
import {
  generateMessageIDV2,
  generateWAMessage,
  generateWAMessageFromContent,
  isJidGroup,
  proto,
  unixTimestampSeconds,
  type AnyMessageContent,
  type MiscMessageGenerationOptions,
  type WAMediaUpload,
  type WAMessage,
} from '@whiskeysockets/baileys';

/**
 * Builds what `sock.sendMessage` returns, with Baileys' own generators wherever they need no network:
 * text, reactions, edits, deletes, locations, contacts, polls… come out exactly as Baileys builds
 * them (`proto.WebMessageInfo`, status PENDING, `Long` timestamp). Media is the exception: Baileys
 * would encrypt and upload it, so the sim fills the same proto fields (url, directPath, mediaKey,
 * hashes, length) itself and uploads nothing. Link previews are never fetched.
 */
export async function buildOutgoingMessage(
  jid: string,
  content: AnyMessageContent,
  options: MiscMessageGenerationOptions | undefined,
  userJid: string,
): Promise<WAMessage> {
  // Baileys: `messageId: generateMessageIDV2(sock.user?.id), ...options` — a caller's id wins.
  const messageId = options?.messageId ?? generateMessageIDV2(userJid);
  const kind = mediaKindOf(content);
  if (kind) {
    return generateWAMessageFromContent(jid, mediaMessage(content as MediaContent, kind), { ...options, userJid, messageId });
  }
  if ('disappearingMessagesInChat' in content && isJidGroup(jid)) {
    throw new Error('The simulated phone does not support changing disappearing messages of a group');
  }
  return generateWAMessage(jid, content, {
    ...options,
    userJid,
    messageId,
    upload: async () => {
      throw new Error('The simulated phone uploads no media');
    },
  });
}

const MEDIA_KINDS = ['image', 'video', 'audio', 'sticker', 'document'] as const;
type MediaKind = (typeof MEDIA_KINDS)[number];

/** Baileys' defaults (`MIMETYPE_MAP`). */
const DEFAULT_MIMETYPE: Record<MediaKind, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg; codecs=opus',
  sticker: 'image/webp',
  document: 'application/pdf',
};

const MEDIA_PATH: Record<MediaKind, string> = {
  image: 't62.7118-24',
  video: 't62.7161-24',
  audio: 't62.7114-24',
  sticker: 't62.15575-24',
  document: 't62.7119-24',
};

/** The optional fields of Baileys' media contents the sim carries over. */
interface MediaContent {
  image?: WAMediaUpload;
  video?: WAMediaUpload;
  audio?: WAMediaUpload;
  sticker?: WAMediaUpload;
  document?: WAMediaUpload;
  caption?: string;
  mimetype?: string;
  fileName?: string;
  ptt?: boolean;
  seconds?: number;
  gifPlayback?: boolean;
  ptv?: boolean;
  isAnimated?: boolean;
  width?: number;
  height?: number;
  jpegThumbnail?: string;
  mentions?: string[];
  contextInfo?: proto.IContextInfo;
  viewOnce?: boolean;
}

function mediaKindOf(content: AnyMessageContent): MediaKind | undefined {
  for (const kind of MEDIA_KINDS) if (kind in content && (content as MediaContent)[kind] != null) return kind;
  return undefined;
}

function describeUpload(media: WAMediaUpload | undefined): { sha256: Buffer; length: number | undefined } {
  if (Buffer.isBuffer(media)) return { sha256: createHash('sha256').update(media).digest(), length: media.length };
  // URLs and streams are not read: the sim must not touch the network or drain a caller's stream.
  const label = media && 'url' in media ? String(media.url) : 'stream';
  return { sha256: createHash('sha256').update(label).digest(), length: undefined };
}

function mediaMessage(content: MediaContent, kind: MediaKind): proto.IMessage {
  const { sha256, length } = describeUpload(content[kind]);
  const expiry = randomBytes(4).toString('hex').toUpperCase();
  const directPath = `/v/${MEDIA_PATH[kind]}/${randomBytes(12).toString('hex')}_n.enc?ccb=11-4&oh=01_sim&oe=${expiry}&_nc_sid=5e03e0`;
  const contextInfo: proto.IContextInfo | undefined =
    content.contextInfo || content.mentions?.length
      ? { ...content.contextInfo, ...(content.mentions?.length ? { mentionedJid: content.mentions } : {}) }
      : undefined;
  const fields = {
    url: `https://mmg.whatsapp.net${directPath}&mms3=true`,
    directPath,
    mediaKey: randomBytes(32),
    fileEncSha256: randomBytes(32),
    fileSha256: sha256,
    ...(length !== undefined ? { fileLength: length } : {}),
    mediaKeyTimestamp: unixTimestampSeconds(),
    mimetype: content.mimetype ?? DEFAULT_MIMETYPE[kind],
    ...(contextInfo ? { contextInfo } : {}),
  };
  let message: proto.IMessage;
  switch (kind) {
    case 'image':
      message = { imageMessage: { ...fields, caption: content.caption, width: content.width, height: content.height } };
      break;
    case 'video': {
      const video = {
        ...fields,
        caption: content.caption,
        seconds: content.seconds,
        gifPlayback: content.gifPlayback,
        width: content.width,
        height: content.height,
      };
      message = content.ptv ? { ptvMessage: video } : { videoMessage: video };
      break;
    }
    case 'audio':
      message = { audioMessage: { ...fields, ptt: content.ptt, seconds: content.seconds } };
      break;
    case 'sticker':
      message = { stickerMessage: { ...fields, isAnimated: content.isAnimated, width: content.width, height: content.height } };
      break;
    case 'document':
      message = { documentMessage: { ...fields, caption: content.caption, fileName: content.fileName ?? 'file', title: content.fileName } };
      break;
  }
  if (content.viewOnce) message = { viewOnceMessage: { message } };
  return proto.Message.fromObject(message);
}
