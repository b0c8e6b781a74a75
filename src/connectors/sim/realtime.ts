import {
  cleanMessage,
  getChatId,
  isRealMessage,
  jidNormalizedUser,
  normalizeMessageContent,
  proto,
  shouldIncrementChatUnread,
  toNumber,
  type BaileysEventMap,
  type MessageUpsertType,
  type WAMessage,
  type WAMessageKey,
} from '@whiskeysockets/baileys';
import { buildContent, CONTENT_WEIGHTS } from './content.js';
import { randomMessageId } from './history-sync.js';
import type { Rng } from './rng.js';
import type { SimWorld } from './world.js';

/** The phone's typed emit. */
export type Emit = <E extends keyof BaileysEventMap>(event: E, data: BaileysEventMap[E]) => void;

/**
 * Everything Baileys emits for one upserted message, in its unbuffered order: the upsert, the
 * sender's push name (`contacts.update`), what `processMessage` derives from protocol messages and
 * reactions, and the chat bump (`chats.update`). Consumers that only read `messages.upsert` see
 * the same thing; those that read the rest are not surprised in production.
 */
export function emitUpsert(emit: Emit, msg: WAMessage, type: MessageUpsertType): void {
  emit('messages.upsert', { messages: [msg], type });
  if (msg.pushName && !msg.key.fromMe) {
    emit('contacts.update', [
      {
        id: jidNormalizedUser(msg.key.participant || msg.key.remoteJid || undefined),
        notify: msg.pushName,
        verifiedName: msg.verifiedBizName ?? undefined,
      },
    ]);
  }
  const content = normalizeMessageContent(msg.message);
  const protocol = content?.protocolMessage;
  const Type = proto.Message.ProtocolMessage.Type;
  if (protocol?.type === Type.REVOKE) {
    emit('messages.update', [
      {
        key: { ...msg.key, id: protocol.key?.id },
        update: { message: null, messageStubType: proto.WebMessageInfo.StubType.REVOKE, key: msg.key },
      },
    ]);
  } else if (protocol?.type === Type.MESSAGE_EDIT) {
    emit('messages.update', [
      {
        key: { ...msg.key, id: protocol.key?.id },
        update: {
          message: { editedMessage: { message: protocol.editedMessage } },
          messageTimestamp: protocol.timestampMs ? Math.floor(toNumber(protocol.timestampMs) / 1000) : msg.messageTimestamp,
        },
      },
    ]);
  } else if (content?.reactionMessage) {
    emit('messages.reaction', [{ reaction: { ...content.reactionMessage, key: msg.key }, key: content.reactionMessage.key ?? msg.key }]);
  }
  if (isRealMessage(msg) && msg.key.remoteJid) {
    const chat: BaileysEventMap['chats.update'][number] = {
      id: jidNormalizedUser(getChatId(msg.key)),
      messages: [{ message: msg }],
      conversationTimestamp: toNumber(msg.messageTimestamp),
    };
    if (shouldIncrementChatUnread(msg)) chat.unreadCount = 1;
    emit('chats.update', [chat]);
  }
}

/**
 * A message arriving from a contact now, shaped like Baileys' `decodeMessageNode` + `cleanMessage`
 * output: a plain object (not a proto instance) with a numeric `messageTimestamp`, the LID/PN
 * alternative in `remoteJidAlt` / `participantAlt`, and a `proto.Message` content.
 */
export function liveInboundMessage(world: SimWorld, rng: Rng, nowSec: number): WAMessage | null {
  const n = world.chats.length;
  if (n === 0) return null;
  // Recent chats are the busy ones.
  const c = Math.min(n - 1, Math.floor(n * rng.next() ** 3));
  const chat = world.chatAt(c);
  const sender = chat.kind === 'group' ? rng.pick(chat.members) : chat.peer;
  if (!sender) return null;
  const content = buildContent(rng, rng.weighted(CONTENT_WEIGHTS), { ts: nowSec, expiration: chat.expiration });
  let key: WAMessageKey;
  if (chat.kind === 'group') {
    const participant = world.senderJid(chat, sender);
    const alt = participant === sender.lid ? sender.pn : (sender.lid ?? undefined);
    key = {
      remoteJid: chat.jid,
      remoteJidAlt: undefined,
      remoteJidUsername: undefined,
      fromMe: false,
      id: randomMessageId(rng, sender.idStyle),
      participant,
      participantAlt: alt,
      participantUsername: undefined,
      addressingMode: chat.lidGroup ? 'lid' : 'pn',
    };
  } else {
    key = {
      remoteJid: chat.jid,
      // The stanza names the other form of the sender (sender_pn / sender_lid) when the server knows it.
      remoteJidAlt: chat.kind === 'lid' ? sender.pn : (sender.lid ?? undefined),
      remoteJidUsername: undefined,
      fromMe: false,
      id: randomMessageId(rng, sender.idStyle),
      participant: undefined,
      participantAlt: undefined,
      participantUsername: undefined,
      addressingMode: chat.kind === 'lid' ? 'lid' : 'pn',
    };
  }
  const msg: WAMessage = {
    key,
    category: undefined,
    messageTimestamp: nowSec,
    pushName: sender.pushName,
    broadcast: false,
    message: proto.Message.fromObject(content),
  };
  cleanMessage(msg, world.identity.id, world.identity.lid);
  return msg;
}
