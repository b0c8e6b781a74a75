import { getContentType, normalizeMessageContent, proto, toNumber } from '@whiskeysockets/baileys';
import type { MediaRef, MessageType } from '../domain/records.js';

/**
 * Why a message (or update) produced no record. Skips are normal traffic, counted, never errors.
 * - `no_content`: null/empty message, or nothing we recognise as content (`call`, `chat` only).
 * - `stub`: a `messageStubType` notification without content (group events, ciphertext placeholders).
 * - `protocol_message`: protocolMessage other than REVOKE / MESSAGE_EDIT (history notifications, key shares…).
 * - `protocol_missing_target`: a REVOKE / MESSAGE_EDIT without `key.id`.
 * - `key_distribution`: only senderKeyDistributionMessage / messageContextInfo (group key fan-out).
 * - `poll_update`, `keep_in_chat`, `pin_in_chat`, `event_response`, `encrypted_reaction`,
 *   `encrypted_comment`, `encrypted_update`, `sticker_sync`: actions on other messages, not messages.
 * - `status_broadcast`: stories (`status@broadcast`).
 * - `missing_key`, `missing_id`, `missing_remote_jid`: malformed input.
 * - `status_pending`, `status_error`, `unknown_status`: a status update that cannot move a status forward.
 * - `no_receipt_time`: a receipt without any timestamp.
 * - `irrelevant_update`: a messages.update carrying nothing we store (stars, poll tallies, media re-uploads…).
 * - `no_name`: a contact/chat update with neither a name nor a LID ↔ PN pair.
 */
export type SkipReason =
  | 'no_content'
  | 'stub'
  | 'protocol_message'
  | 'protocol_missing_target'
  | 'key_distribution'
  | 'poll_update'
  | 'keep_in_chat'
  | 'pin_in_chat'
  | 'event_response'
  | 'encrypted_reaction'
  | 'encrypted_comment'
  | 'encrypted_update'
  | 'sticker_sync'
  | 'status_broadcast'
  | 'missing_key'
  | 'missing_id'
  | 'missing_remote_jid'
  | 'status_pending'
  | 'status_error'
  | 'unknown_status'
  | 'no_receipt_time'
  | 'irrelevant_update'
  | 'no_name'
  | 'not_a_group'
  | 'unsupported_action';

export interface ContentInfo {
  kind: 'content';
  messageType: MessageType;
  /** Raw proto field name after unwrapping (`conversation`, `imageMessage`, …). */
  contentType: string;
  body: string;
  mediaType: MessageType | null;
  mediaMimetype: string | null;
  mediaFilename: string | null;
  mediaUrl: string | null;
  mediaSize: number | null;
  media: MediaRef | null;
  refMessageId: string | null;
}

/** protocolMessage REVOKE: the message `targetId` was deleted for everyone. */
export interface ContentRevoke {
  kind: 'revoke';
  targetId: string;
}

/** protocolMessage MESSAGE_EDIT: `targetId` now reads `body`. `timestampMs` is the edit time if WhatsApp sent one. */
export interface ContentEdit {
  kind: 'edit';
  targetId: string;
  body: string;
  timestampMs: number | null;
}

export interface ContentSkip {
  kind: 'skip';
  reason: SkipReason;
}

export type ContentResult = ContentInfo | ContentRevoke | ContentEdit | ContentSkip;

type MessageKey = keyof proto.IMessage;

/** Fields that are actions on other messages or session plumbing: never stored as messages. */
const NON_CONTENT: Partial<Record<MessageKey, SkipReason>> = {
  pollUpdateMessage: 'poll_update',
  keepInChatMessage: 'keep_in_chat',
  pinInChatMessage: 'pin_in_chat',
  encEventResponseMessage: 'event_response',
  encReactionMessage: 'encrypted_reaction',
  encCommentMessage: 'encrypted_comment',
  secretEncryptedMessage: 'encrypted_update',
  stickerSyncRmrMessage: 'sticker_sync',
};

const SKIP_NO_CONTENT: ContentSkip = { kind: 'skip', reason: 'no_content' };
const SKIP_KEY_DISTRIBUTION: ContentSkip = { kind: 'skip', reason: 'key_distribution' };
const SKIP_PROTOCOL: ContentSkip = { kind: 'skip', reason: 'protocol_message' };
const SKIP_PROTOCOL_TARGET: ContentSkip = { kind: 'skip', reason: 'protocol_missing_target' };

const ProtocolType = proto.Message.ProtocolMessage.Type;

/**
 * Classifies a message's content after Baileys' own unwrapping (ephemeral, view-once (V2/extension),
 * documentWithCaption, editedMessage, associatedChild, groupStatus). Pure and allocation-light: it
 * runs once per message of a history sync.
 */
export function classifyContent(message: proto.IMessage | null | undefined): ContentResult {
  if (!message) return SKIP_NO_CONTENT;
  const content = normalizeMessageContent(message);
  if (!content) return SKIP_NO_CONTENT;
  const key = contentKeyOf(content);
  if (key === undefined) {
    return content.senderKeyDistributionMessage || content.fastRatchetKeySenderKeyDistributionMessage || content.messageContextInfo
      ? SKIP_KEY_DISTRIBUTION
      : SKIP_NO_CONTENT;
  }
  const nonContent = NON_CONTENT[key];
  if (nonContent) return { kind: 'skip', reason: nonContent };

  switch (key) {
    case 'conversation':
      return info('text', key, content.conversation ?? '', null);
    case 'extendedTextMessage': {
      const m = content.extendedTextMessage!;
      return info('text', key, m.text ?? '', m.contextInfo?.stanzaId);
    }
    case 'imageMessage': {
      const m = content.imageMessage!;
      return media('image', key, m, m.caption, null, m.contextInfo?.stanzaId);
    }
    case 'videoMessage':
    case 'ptvMessage': {
      const m = content[key]!;
      return media('video', key, m, m.caption, null, m.contextInfo?.stanzaId);
    }
    case 'audioMessage': {
      const m = content.audioMessage!;
      return media('audio', key, m, null, null, m.contextInfo?.stanzaId);
    }
    case 'documentMessage': {
      const m = content.documentMessage!;
      return media('document', key, m, m.caption, m.fileName, m.contextInfo?.stanzaId);
    }
    case 'stickerMessage': {
      const m = content.stickerMessage!;
      return media('sticker', key, m, null, null, m.contextInfo?.stanzaId);
    }
    case 'lottieStickerMessage': {
      // An animated sticker wrapped in a FutureProofMessage that Baileys does not unwrap.
      const m = content.lottieStickerMessage!.message?.stickerMessage;
      return m ? media('sticker', key, m, null, null, m.contextInfo?.stanzaId) : info('sticker', key, '', null);
    }
    case 'locationMessage': {
      const m = content.locationMessage!;
      return info('location', key, m.name || m.address || latLng(m.degreesLatitude, m.degreesLongitude), m.contextInfo?.stanzaId);
    }
    case 'liveLocationMessage': {
      const m = content.liveLocationMessage!;
      return info('location', key, m.caption || latLng(m.degreesLatitude, m.degreesLongitude), m.contextInfo?.stanzaId);
    }
    case 'contactMessage': {
      const m = content.contactMessage!;
      return info('contact', key, m.displayName ?? '', m.contextInfo?.stanzaId);
    }
    case 'contactsArrayMessage': {
      const m = content.contactsArrayMessage!;
      return info('contact', key, m.displayName || contactNames(m.contacts), m.contextInfo?.stanzaId);
    }
    case 'pollCreationMessage':
    case 'pollCreationMessageV2':
    case 'pollCreationMessageV3':
    case 'pollCreationMessageV5': {
      const m = content[key]!;
      return info('poll', key, m.name ?? '', m.contextInfo?.stanzaId);
    }
    case 'pollCreationMessageV4': {
      // V4 is a FutureProofMessage around one of the other poll shapes.
      const inner = content.pollCreationMessageV4!.message;
      const m = inner?.pollCreationMessage ?? inner?.pollCreationMessageV2 ?? inner?.pollCreationMessageV3 ?? inner?.pollCreationMessageV5;
      return info('poll', key, m?.name ?? '', m?.contextInfo?.stanzaId);
    }
    case 'reactionMessage': {
      const m = content.reactionMessage!;
      // An empty text is WhatsApp's "reaction removed"; it is stored as such (body '').
      return info('reaction', key, m.text ?? '', m.key?.id);
    }
    case 'protocolMessage':
      return classifyProtocol(content.protocolMessage!);
    default:
      return info('other', key, otherBody(content, key), contextStanzaId(content[key]));
  }
}

function classifyProtocol(p: proto.Message.IProtocolMessage): ContentResult {
  if (p.type === ProtocolType.REVOKE) {
    const targetId = p.key?.id;
    return targetId ? { kind: 'revoke', targetId } : SKIP_PROTOCOL_TARGET;
  }
  if (p.type === ProtocolType.MESSAGE_EDIT) {
    const targetId = p.key?.id;
    if (!targetId) return SKIP_PROTOCOL_TARGET;
    const edited = classifyContent(p.editedMessage);
    const ts = p.timestampMs == null ? 0 : toNumber(p.timestampMs);
    return { kind: 'edit', targetId, body: edited.kind === 'content' ? edited.body : '', timestampMs: ts > 0 ? ts : null };
  }
  return SKIP_PROTOCOL;
}

/**
 * Baileys' `getContentType` picks the first own key that looks like content. Two cases need a second
 * look: hand-built objects may list absent fields as null, and the fast-ratchet key distribution
 * field (number 15) decodes before stickers, reactions, polls… that may ride along with it.
 */
function contentKeyOf(content: proto.IMessage): MessageKey | undefined {
  const key = getContentType(content);
  if (key !== undefined && key !== FAST_RATCHET && content[key] != null) return key;
  for (const k of Object.keys(content) as MessageKey[]) {
    if (
      (k === 'conversation' || k.includes('Message')) &&
      k !== 'senderKeyDistributionMessage' &&
      k !== FAST_RATCHET &&
      content[k] != null
    ) {
      return k;
    }
  }
  return undefined;
}
const FAST_RATCHET = 'fastRatchetKeySenderKeyDistributionMessage';

function info(messageType: MessageType, contentType: string, body: string, ref: string | null | undefined): ContentInfo {
  return {
    kind: 'content',
    messageType,
    contentType,
    body,
    mediaType: null,
    mediaMimetype: null,
    mediaFilename: null,
    mediaUrl: null,
    mediaSize: null,
    media: null,
    refMessageId: ref || null,
  };
}

/**
 * The fields every downloadable media proto (image, video, audio, document, sticker, ptv) shares, as
 * Baileys declares them: the one declaration of them, for ingest, the real connector's downloads and
 * the simulated phone's generator alike.
 */
export type MediaProtoFields = Pick<
  proto.Message.IImageMessage,
  'url' | 'directPath' | 'mediaKey' | 'fileEncSha256' | 'fileSha256' | 'fileLength' | 'mimetype' | 'mediaKeyTimestamp'
>;

function media(
  messageType: MessageType,
  contentType: string,
  m: MediaProtoFields,
  caption: string | null | undefined,
  fileName: string | null | undefined,
  ref: string | null | undefined,
): ContentInfo {
  const size = m.fileLength == null ? null : toNumber(m.fileLength);
  const url = m.url || null;
  const directPath = m.directPath || null;
  const mediaKey = base64(m.mediaKey);
  const ref_: MediaRef | null =
    url || directPath || mediaKey
      ? {
          directPath,
          url,
          mediaKey,
          fileEncSha256: base64(m.fileEncSha256),
          fileSha256: base64(m.fileSha256),
          fileLength: size,
        }
      : null;
  return {
    kind: 'content',
    messageType,
    contentType,
    body: caption ?? '',
    mediaType: messageType,
    mediaMimetype: m.mimetype || null,
    mediaFilename: fileName || null,
    mediaUrl: url,
    mediaSize: size,
    media: ref_,
    refMessageId: ref || null,
  };
}

function base64(v: Uint8Array | string | null | undefined): string | null {
  if (!v || v.length === 0) return null;
  // Hand-built fixtures and JSON round-trips carry bytes as base64 strings already.
  if (typeof v === 'string') return v;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function latLng(lat: number | null | undefined, lng: number | null | undefined): string {
  return lat == null || lng == null ? '' : `${lat},${lng}`;
}

function contactNames(contacts: proto.Message.IContactMessage[] | null | undefined): string {
  if (!contacts || contacts.length === 0) return '';
  let out = '';
  for (const c of contacts) {
    if (!c.displayName) continue;
    out = out === '' ? c.displayName : `${out}, ${c.displayName}`;
  }
  return out;
}

function contextStanzaId(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const ctx = (value as { contextInfo?: proto.IContextInfo | null }).contextInfo;
  return ctx?.stanzaId || null;
}

/** Text a person would see for the content kinds we store as `other`, so previews are not empty. */
function otherBody(c: proto.IMessage, key: MessageKey): string {
  switch (key) {
    case 'buttonsResponseMessage':
      return c.buttonsResponseMessage?.selectedDisplayText ?? '';
    case 'templateButtonReplyMessage':
      return c.templateButtonReplyMessage?.selectedDisplayText ?? '';
    case 'listResponseMessage':
      return c.listResponseMessage?.title ?? '';
    case 'interactiveResponseMessage':
      return c.interactiveResponseMessage?.body?.text ?? '';
    case 'buttonsMessage':
      return c.buttonsMessage?.contentText ?? '';
    case 'listMessage':
      return c.listMessage?.description || c.listMessage?.title || '';
    case 'templateMessage':
      return c.templateMessage?.hydratedTemplate?.hydratedContentText ?? '';
    case 'interactiveMessage':
      return c.interactiveMessage?.body?.text ?? '';
    case 'eventMessage':
      return c.eventMessage?.name ?? '';
    case 'groupInviteMessage':
      return c.groupInviteMessage?.caption || c.groupInviteMessage?.groupName || '';
    case 'productMessage':
      return c.productMessage?.product?.title ?? '';
    case 'orderMessage':
      return c.orderMessage?.message || c.orderMessage?.orderTitle || '';
    default:
      return '';
  }
}

/** The body of an edit's new content (`editedMessage` wrapper or protocol MESSAGE_EDIT), or null if it is not an edit. */
export function editOf(message: proto.IMessage | null | undefined): ContentEdit | { kind: 'edit-wrapper'; body: string } | null {
  if (!message) return null;
  const c = classifyContent(message);
  if (c.kind === 'edit') return c;
  // messages.update carries an edit as `{ editedMessage: { message: <new content> } }`.
  if (c.kind === 'content' && hasEditWrapper(message)) return { kind: 'edit-wrapper', body: c.body };
  return null;
}

function hasEditWrapper(m: proto.IMessage): boolean {
  return m.editedMessage != null || m.ephemeralMessage?.message?.editedMessage != null;
}
