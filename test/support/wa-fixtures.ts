/**
 * Baileys-shaped fixtures built with Baileys' own `proto` classes, so tests see what the library
 * emits: class instances, `Long` timestamps and lengths, bytes as Uint8Array. Reused by unit,
 * end-to-end and benchmark code; keep it free of assertions and of any one test's assumptions.
 */
import {
  proto,
  type BaileysEventMap,
  type Chat,
  type Contact,
  type WAMessage,
  type WAMessageKey,
  type WAMessageUpdate,
  type MessageUserReceiptUpdate,
} from '@whiskeysockets/baileys';

export const SELF_PN = '40700000001@s.whatsapp.net';
export const PEER_PN = '40712345678@s.whatsapp.net';
export const PEER_LID = '123456789012345@lid';
export const GROUP_JID = '120363000000000001@g.us';

let idCounter = 0;
/** Deterministic WhatsApp-looking ids (`3EB0` + 16 hex digits). */
export function nextMessageId(): string {
  idCounter++;
  return `3EB0${idCounter.toString(16).toUpperCase().padStart(16, '0')}`;
}
export function resetMessageIds(): void {
  idCounter = 0;
}

/** Seconds since epoch for a Date or ms value (WhatsApp timestamps are seconds). */
export function seconds(t: Date | number): number {
  return Math.floor((t instanceof Date ? t.getTime() : t) / 1000);
}

export interface MessageOptions {
  id?: string;
  /** `key.remoteJid`; default a PN peer. */
  chat?: string;
  fromMe?: boolean;
  /** Group sender (`key.participant`). */
  participant?: string;
  remoteJidAlt?: string;
  participantAlt?: string;
  /** Seconds since epoch; default 2024-01-01T00:00:00Z. */
  ts?: number;
  /** Keep `messageTimestamp` a plain number (live stanzas) instead of the `Long` a decoded proto carries. */
  plainTimestamp?: boolean;
  pushName?: string;
  status?: proto.WebMessageInfo.Status;
  userReceipt?: proto.IUserReceipt[];
  messageStubType?: proto.WebMessageInfo.StubType;
  messageStubParameters?: string[];
}

export const DEFAULT_TS = seconds(Date.UTC(2024, 0, 1));

/** A `WAMessage` around any content (or none: `null` builds a stub / empty message). */
export function waMessage(message: proto.IMessage | null, opts: MessageOptions = {}): WAMessage {
  const info = proto.WebMessageInfo.fromObject({
    key: {
      remoteJid: opts.chat ?? PEER_PN,
      fromMe: opts.fromMe ?? false,
      id: opts.id ?? nextMessageId(),
      ...(opts.participant !== undefined ? { participant: opts.participant } : {}),
    },
    ...(message ? { message: proto.Message.fromObject(message) } : {}),
    messageTimestamp: opts.ts ?? DEFAULT_TS,
    ...(opts.pushName !== undefined ? { pushName: opts.pushName } : {}),
    ...(opts.status !== undefined ? { status: opts.status } : {}),
    ...(opts.userReceipt !== undefined ? { userReceipt: opts.userReceipt } : {}),
    ...(opts.messageStubType !== undefined ? { messageStubType: opts.messageStubType } : {}),
    ...(opts.messageStubParameters !== undefined ? { messageStubParameters: opts.messageStubParameters } : {}),
  });
  const msg = info as WAMessage;
  // The alt JIDs are Baileys additions to the key, not proto fields: fromObject would drop them.
  if (opts.remoteJidAlt !== undefined) msg.key.remoteJidAlt = opts.remoteJidAlt;
  if (opts.participantAlt !== undefined) msg.key.participantAlt = opts.participantAlt;
  if (opts.plainTimestamp) msg.messageTimestamp = opts.ts ?? DEFAULT_TS;
  return msg;
}

// ── content builders (proto.IMessage) ──────────────────────────────────────────────────────────────

function bytes(seed: number, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

interface MediaOptions {
  caption?: string;
  mimetype?: string;
  fileLength?: number;
  /** Leave out url/directPath/keys (a media message whose reference WhatsApp did not send). */
  bare?: boolean;
  quotedId?: string;
}

function mediaFields(kind: string, o: MediaOptions, defaultMime: string): Record<string, unknown> {
  const seed = kind.length + (o.fileLength ?? 0);
  return {
    mimetype: o.mimetype ?? defaultMime,
    fileLength: o.fileLength ?? 12_345,
    ...(o.bare
      ? {}
      : {
          url: `https://mmg.whatsapp.net/v/t62.7118-24/${kind}.enc`,
          directPath: `/v/t62.7118-24/${kind}.enc?ccb=11-4`,
          mediaKey: bytes(seed),
          fileEncSha256: bytes(seed + 1),
          fileSha256: bytes(seed + 2),
          mediaKeyTimestamp: DEFAULT_TS,
        }),
    ...(o.caption !== undefined ? { caption: o.caption } : {}),
    ...(o.quotedId !== undefined ? { contextInfo: { stanzaId: o.quotedId } } : {}),
  };
}

export const content = {
  text: (text: string): proto.IMessage => ({ conversation: text }),
  extendedText: (text: string, quotedId?: string): proto.IMessage => ({
    extendedTextMessage: { text, ...(quotedId !== undefined ? { contextInfo: { stanzaId: quotedId, participant: PEER_PN } } : {}) },
  }),
  image: (o: MediaOptions = {}): proto.IMessage => ({ imageMessage: mediaFields('image', o, 'image/jpeg') }),
  video: (o: MediaOptions = {}): proto.IMessage => ({ videoMessage: mediaFields('video', o, 'video/mp4') }),
  videoNote: (o: MediaOptions = {}): proto.IMessage => ({ ptvMessage: mediaFields('ptv', o, 'video/mp4') }),
  audio: (o: MediaOptions & { ptt?: boolean } = {}): proto.IMessage => ({
    audioMessage: { ...mediaFields('audio', o, 'audio/ogg; codecs=opus'), ptt: o.ptt ?? false, seconds: 7 },
  }),
  document: (o: MediaOptions & { fileName?: string } = {}): proto.IMessage => ({
    documentMessage: { ...mediaFields('document', o, 'application/pdf'), fileName: o.fileName ?? 'report.pdf' },
  }),
  /** A document with a caption as WhatsApp sends it: wrapped in `documentWithCaptionMessage`. */
  documentWithCaption: (caption: string, o: MediaOptions & { fileName?: string } = {}): proto.IMessage => ({
    documentWithCaptionMessage: { message: content.document({ ...o, caption }) },
  }),
  sticker: (o: MediaOptions = {}): proto.IMessage => ({ stickerMessage: mediaFields('sticker', o, 'image/webp') }),
  location: (lat: number, lng: number, name?: string, address?: string): proto.IMessage => ({
    locationMessage: { degreesLatitude: lat, degreesLongitude: lng, ...(name ? { name } : {}), ...(address ? { address } : {}) },
  }),
  liveLocation: (lat: number, lng: number, caption?: string): proto.IMessage => ({
    liveLocationMessage: { degreesLatitude: lat, degreesLongitude: lng, ...(caption ? { caption } : {}) },
  }),
  contact: (displayName: string): proto.IMessage => ({
    contactMessage: { displayName, vcard: `BEGIN:VCARD\nVERSION:3.0\nFN:${displayName}\nEND:VCARD` },
  }),
  contacts: (names: string[], displayName?: string): proto.IMessage => ({
    contactsArrayMessage: { ...(displayName ? { displayName } : {}), contacts: names.map((n) => ({ displayName: n })) },
  }),
  poll: (name: string, options: string[], version: 1 | 2 | 3 = 3): proto.IMessage => {
    const poll = { name, options: options.map((optionName) => ({ optionName })), selectableOptionsCount: 1 };
    return version === 1
      ? { pollCreationMessage: poll }
      : version === 2
        ? { pollCreationMessageV2: poll }
        : { pollCreationMessageV3: poll };
  },
  reaction: (targetId: string, emoji: string, targetChat = PEER_PN): proto.IMessage => ({
    reactionMessage: { key: { remoteJid: targetChat, fromMe: true, id: targetId }, text: emoji, senderTimestampMs: DEFAULT_TS * 1000 },
  }),
  revoke: (targetId: string, targetChat = PEER_PN): proto.IMessage => ({
    protocolMessage: { key: { remoteJid: targetChat, fromMe: true, id: targetId }, type: proto.Message.ProtocolMessage.Type.REVOKE },
  }),
  /** A MESSAGE_EDIT as it travels: `editedMessage { message { protocolMessage { … } } }`. */
  edit: (targetId: string, newContent: proto.IMessage, timestampMs?: number, targetChat = PEER_PN): proto.IMessage => ({
    editedMessage: {
      message: {
        protocolMessage: {
          key: { remoteJid: targetChat, fromMe: true, id: targetId },
          type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
          editedMessage: newContent,
          ...(timestampMs !== undefined ? { timestampMs } : {}),
        },
      },
    },
  }),
  /** Group sender-key fan-out: no user content. */
  keyDistribution: (): proto.IMessage => ({
    senderKeyDistributionMessage: { groupId: GROUP_JID, axolotlSenderKeyDistributionMessage: bytes(9) },
    messageContextInfo: { deviceListMetadataVersion: 2 },
  }),
  historyNotification: (): proto.IMessage => ({
    protocolMessage: { type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION, historySyncNotification: { chunkOrder: 1 } },
  }),
  pollVote: (pollId: string): proto.IMessage => ({
    pollUpdateMessage: {
      pollCreationMessageKey: { remoteJid: PEER_PN, id: pollId, fromMe: true },
      vote: { encPayload: bytes(3), encIv: bytes(4, 12) },
    },
  }),
  keepInChat: (targetId: string): proto.IMessage => ({
    keepInChatMessage: { key: { remoteJid: PEER_PN, id: targetId, fromMe: true }, keepType: 1 },
  }),
  pin: (targetId: string): proto.IMessage => ({ pinInChatMessage: { key: { remoteJid: PEER_PN, id: targetId, fromMe: true }, type: 1 } }),
};

export const wrap = {
  ephemeral: (m: proto.IMessage): proto.IMessage => ({ ephemeralMessage: { message: m } }),
  viewOnce: (m: proto.IMessage): proto.IMessage => ({ viewOnceMessage: { message: m } }),
  viewOnceV2: (m: proto.IMessage): proto.IMessage => ({ viewOnceMessageV2: { message: m } }),
  viewOnceV2Extension: (m: proto.IMessage): proto.IMessage => ({ viewOnceMessageV2Extension: { message: m } }),
};

// ── message shorthands ─────────────────────────────────────────────────────────────────────────────

export const waText = (text: string, opts?: MessageOptions): WAMessage => waMessage(content.text(text), opts);
export const waImage = (o: MediaOptions = {}, opts?: MessageOptions): WAMessage => waMessage(content.image(o), opts);
export const waVideo = (o: MediaOptions = {}, opts?: MessageOptions): WAMessage => waMessage(content.video(o), opts);
export const waAudio = (o: MediaOptions & { ptt?: boolean } = {}, opts?: MessageOptions): WAMessage => waMessage(content.audio(o), opts);
export const waDocument = (o: MediaOptions & { fileName?: string } = {}, opts?: MessageOptions): WAMessage =>
  waMessage(content.document(o), opts);

// ── event builders ─────────────────────────────────────────────────────────────────────────────────

export interface HistorySetOptions {
  chats?: Chat[];
  contacts?: Contact[];
  lidPnMappings?: { lid: string; pn: string }[];
  syncType?: proto.HistorySync.HistorySyncType;
  progress?: number;
  isLatest?: boolean;
  chunkOrder?: number;
  peerDataRequestSessionId?: string;
}

export function historySet(messages: WAMessage[], o: HistorySetOptions = {}): BaileysEventMap['messaging-history.set'] {
  return {
    messages,
    chats: o.chats ?? [],
    contacts: o.contacts ?? [],
    lidPnMappings: o.lidPnMappings ?? [],
    syncType: o.syncType ?? proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    progress: o.progress ?? null,
    isLatest: o.isLatest ?? true,
    chunkOrder: o.chunkOrder ?? null,
    peerDataRequestSessionId: o.peerDataRequestSessionId ?? null,
  };
}

/** A chat as history sync delivers it (`proto.Conversation`). */
export function waChat(id: string, o: { name?: string; pnJid?: string; lidJid?: string; conversationTimestamp?: number } = {}): Chat {
  return proto.Conversation.fromObject({ id, ...o }) as Chat;
}

export function messagesUpsert(messages: WAMessage[], type: 'notify' | 'append' = 'notify'): BaileysEventMap['messages.upsert'] {
  return { messages, type };
}

/** The `messages.update` Baileys emits for a receipt in a 1:1 chat (`messageTimestamp` = receipt time). */
export function statusUpdate(key: WAMessageKey, status: proto.WebMessageInfo.Status, ts?: number): WAMessageUpdate {
  return { key, update: { status, ...(ts !== undefined ? { messageTimestamp: ts } : {}) } };
}

/** The `messages.update` Baileys emits for a protocol REVOKE (see process-message.js). */
export function revokeUpdate(key: WAMessageKey, revokerKey: WAMessageKey = key): WAMessageUpdate {
  return { key, update: { message: null, messageStubType: proto.WebMessageInfo.StubType.REVOKE, key: revokerKey } };
}

/** The `messages.update` Baileys emits for a protocol MESSAGE_EDIT (see process-message.js). */
export function editUpdate(key: WAMessageKey, newContent: proto.IMessage, ts?: number): WAMessageUpdate {
  return {
    key,
    update: { message: { editedMessage: { message: newContent } }, ...(ts !== undefined ? { messageTimestamp: ts } : {}) },
  };
}

/** A `message-receipt.update` entry (groups and status), one participant. Times in seconds. */
export function receipt(
  key: WAMessageKey,
  userJid: string,
  t: { delivered?: number; read?: number; played?: number },
): MessageUserReceiptUpdate {
  return {
    key,
    receipt: {
      userJid,
      ...(t.delivered !== undefined ? { receiptTimestamp: t.delivered } : {}),
      ...(t.read !== undefined ? { readTimestamp: t.read } : {}),
      ...(t.played !== undefined ? { playedTimestamp: t.played } : {}),
    },
  };
}
