/**
 * A synthetic WhatsApp history sync, shaped like what Baileys 7 emits on `messaging-history.set`:
 * class instances built by Baileys' `proto` (so timestamps and file lengths are `Long`), newest first
 * within each chat, conversations packed into chunks of a few thousand messages, a mix of text,
 * captioned media, reactions and the rest, some own messages with receipts, groups with LID
 * participants, and 1:1 chats addressed by LID — some resolvable through `remoteJidAlt`, some through
 * the chunk's `lidPnMappings` or the chat's `pnJid`, some not at all.
 *
 * Deterministic for a given seed: the benchmark and the tests that check it see the same data.
 */
import { proto, type BaileysEventMap, type Chat, type Contact, type WAMessage } from '@whiskeysockets/baileys';

export interface GenerateHistoryOptions {
  chats: number;
  messagesPerChat: number;
  /** Our own PN JID (sender of own group messages). */
  accountOwnJid?: string;
  seed?: number;
  /** Messages per chunk; WhatsApp's chunks hold a few thousand. */
  chunkSize?: number;
  /** The newest message time (ms); history spreads over the year before it. Default 2025-01-01. */
  endAt?: number;
  /** Share of extra non-content entries (key distribution, protocol, stubs) added per chat. Default 0, so counts stay exact. */
  noiseRatio?: number;
}

export type HistoryChunk = BaileysEventMap['messaging-history.set'];

const HT = proto.HistorySync.HistorySyncType;
const S = proto.WebMessageInfo.Status;
const YEAR_S = 365 * 86_400;

const WORDS = (
  'ok yes no thanks see you tomorrow today tonight meeting call later sure great photo document price ' +
  'order delivery address please send when where how much coffee lunch dinner office home car train ' +
  'invoice contract draft final version love miss happy birthday congrats sorry late on my way done'
).split(' ');
const FIRST = ['Ana', 'Ion', 'Maria', 'Andrei', 'Elena', 'Mihai', 'Ioana', 'Radu', 'Cristina', 'Vlad', 'Irina', 'Dan'];
const LAST = ['Popescu', 'Ionescu', 'Stan', 'Dumitru', 'Georgescu', 'Marin', 'Tudor', 'Matei'];
const EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

/** mulberry32: small, fast, good enough for fixtures. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ChatPlan {
  id: string;
  isGroup: boolean;
  /** Set for 1:1 chats: the person's PN (even when the chat is addressed by LID). */
  pn: string | null;
  lid: string | null;
  /** How a LID chat's PN can be learned: from message key alts, the chunk mapping list, the chat's pnJid, or not at all. */
  lidHint: 'alt' | 'mapping' | 'pnJid' | 'none' | null;
  name: string;
  members: { jid: string; alt: string | null; name: string }[];
}

export function generateHistory(opts: GenerateHistoryOptions): HistoryChunk[] {
  const rand = rng(opts.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const own = opts.accountOwnJid ?? '40700000001@s.whatsapp.net';
  const chunkSize = Math.max(1, opts.chunkSize ?? 3_000);
  const endS = Math.floor((opts.endAt ?? Date.UTC(2025, 0, 1)) / 1000);
  const noise = opts.noiseRatio ?? 0;

  // Shared byte arrays: fromObject keeps references, so 100k media messages do not cost 100k keys.
  const keyBytes = Array.from({ length: 16 }, (_, i) => Uint8Array.from({ length: 32 }, (_, j) => (i * 37 + j * 11) & 0xff));

  let personCounter = 0;
  const person = () => {
    personCounter++;
    return {
      pn: `407${String(10_000_000 + personCounter).padStart(8, '0')}@s.whatsapp.net`,
      lid: `${100_000_000_000_000 + personCounter * 7919}@lid`,
      name: `${pick(FIRST)} ${pick(LAST)}`,
    };
  };

  const plans: ChatPlan[] = [];
  for (let i = 0; i < opts.chats; i++) {
    if (rand() < 0.1) {
      const members = Array.from({ length: 3 + Math.floor(rand() * 8) }, () => {
        const p = person();
        const byLid = rand() < 0.6;
        return { jid: byLid ? p.lid : p.pn, alt: byLid ? (rand() < 0.7 ? p.pn : null) : p.lid, name: p.name };
      });
      plans.push({ id: `1203630${String(i).padStart(11, '0')}@g.us`, isGroup: true, pn: null, lid: null, lidHint: null, name: `Group ${i}`, members });
    } else {
      const p = person();
      const byLid = rand() < 0.3;
      const r = rand();
      const lidHint = byLid ? (r < 0.5 ? 'alt' : r < 0.7 ? 'mapping' : r < 0.9 ? 'pnJid' : 'none') : null;
      plans.push({ id: byLid ? p.lid : p.pn, isGroup: false, pn: p.pn, lid: p.lid, lidHint, name: p.name, members: [] });
    }
  }

  let idCounter = 0;
  const nextId = (fromMe: boolean) => {
    idCounter++;
    const hex = ((opts.seed ?? 1) * 1_000_003 + idCounter).toString(16).toUpperCase().padStart(16, '0');
    return `${fromMe ? '3EB0' : 'A5C1'}${hex}`;
  };
  const words = (n: number) => {
    let s = pick(WORDS);
    for (let i = 1; i < n; i++) s += ` ${pick(WORDS)}`;
    return s;
  };
  const media = (kind: string, mimetype: string, caption: string | null) => {
    const k = pick(keyBytes);
    return {
      url: `https://mmg.whatsapp.net/v/t62.7118-24/${kind}/${idCounter}.enc`,
      directPath: `/v/t62.7118-24/${kind}/${idCounter}.enc?ccb=11-4`,
      mimetype,
      mediaKey: k,
      fileEncSha256: k,
      fileSha256: k,
      fileLength: 1_000 + Math.floor(rand() * 5_000_000),
      mediaKeyTimestamp: endS,
      ...(caption !== null ? { caption } : {}),
    };
  };
  const contentFor = (recentIds: string[], chatId: string): proto.IMessage => {
    const r = rand();
    let m: proto.IMessage;
    if (r < 0.4) m = { conversation: words(1 + Math.floor(rand() * 20)) };
    else if (r < 0.6) {
      const quoted = recentIds.length > 0 && rand() < 0.3 ? pick(recentIds) : null;
      m = { extendedTextMessage: { text: words(3 + Math.floor(rand() * 40)), ...(quoted ? { contextInfo: { stanzaId: quoted } } : {}) } };
    } else if (r < 0.72) m = { imageMessage: media('image', 'image/jpeg', rand() < 0.6 ? words(1 + Math.floor(rand() * 8)) : null) };
    else if (r < 0.76) m = { videoMessage: media('video', 'video/mp4', rand() < 0.4 ? words(3) : null) };
    else if (r < 0.84) m = { audioMessage: { ...media('audio', 'audio/ogg; codecs=opus', null), ptt: rand() < 0.85, seconds: 1 + Math.floor(rand() * 120) } };
    else if (r < 0.87) {
      const doc = { documentMessage: { ...media('document', 'application/pdf', null), fileName: `${pick(WORDS)}-${idCounter}.pdf` } };
      m = rand() < 0.3 ? { documentWithCaptionMessage: { message: { documentMessage: { ...doc.documentMessage, caption: words(4) } } } } : doc;
    } else if (r < 0.92) m = { stickerMessage: media('sticker', 'image/webp', null) };
    else if (r < 0.95 && recentIds.length > 0) {
      m = { reactionMessage: { key: { remoteJid: chatId, id: pick(recentIds), fromMe: rand() < 0.5 }, text: pick(EMOJI), senderTimestampMs: endS * 1000 } };
    } else if (r < 0.965) m = { locationMessage: { degreesLatitude: 44.4 + rand(), degreesLongitude: 26.1 + rand(), ...(rand() < 0.5 ? { name: 'Cafe' } : {}) } };
    else if (r < 0.98) m = { contactMessage: { displayName: `${pick(FIRST)} ${pick(LAST)}`, vcard: 'BEGIN:VCARD\nVERSION:3.0\nEND:VCARD' } };
    else if (r < 0.99) m = { pollCreationMessageV3: { name: `${words(3)}?`, options: [{ optionName: 'yes' }, { optionName: 'no' }], selectableOptionsCount: 1 } };
    else m = { conversation: words(5) };
    // Disappearing-messages chats wrap everything.
    return rand() < 0.1 ? { ephemeralMessage: { message: m } } : m;
  };
  const noiseContent = (): { message?: proto.IMessage; messageStubType?: number } => {
    const r = rand();
    if (r < 0.4) return { message: { senderKeyDistributionMessage: { groupId: 'x', axolotlSenderKeyDistributionMessage: pick(keyBytes) } } };
    if (r < 0.7) return { message: { protocolMessage: { type: proto.Message.ProtocolMessage.Type.EPHEMERAL_SETTING, ephemeralExpiration: 86_400 } } };
    return { messageStubType: proto.WebMessageInfo.StubType.E2E_ENCRYPTED };
  };

  // Per chat, newest first (WhatsApp's order), times spread over the year before endAt.
  const perChat: { plan: ChatPlan; messages: WAMessage[] }[] = [];
  for (const plan of plans) {
    const noiseCount = Math.floor(opts.messagesPerChat * noise);
    const count = opts.messagesPerChat + noiseCount;
    const isNoise = Array.from({ length: count }, (_, i) => i < noiseCount);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [isNoise[i], isNoise[j]] = [isNoise[j]!, isNoise[i]!];
    }
    const latest = endS - Math.floor(rand() * 30 * 86_400);
    const span = Math.floor(rand() * YEAR_S);
    const times = Array.from({ length: count }, () => latest - Math.floor(rand() * span)).sort((a, b) => b - a);
    const recent: string[] = [];
    const messages: WAMessage[] = [];
    for (let i = 0; i < count; i++) {
      const fromMe = rand() < 0.35;
      const id = nextId(fromMe);
      const member = plan.isGroup && !fromMe ? pick(plan.members) : null;
      const key: Record<string, unknown> = { remoteJid: plan.id, fromMe, id };
      if (plan.isGroup) key.participant = member ? member.jid : own;
      const body = isNoise[i] ? noiseContent() : { message: contentFor(recent, plan.id) };
      const ts = times[i]!;
      const info = proto.WebMessageInfo.fromObject({
        key,
        ...body,
        messageTimestamp: ts,
        ...(!fromMe ? { pushName: member ? member.name : plan.name } : {}),
        ...(fromMe ? { status: rand() < 0.7 ? S.READ : rand() < 0.5 ? S.DELIVERY_ACK : S.SERVER_ACK } : {}),
        ...(fromMe && !plan.isGroup && rand() < 0.5 ? { userReceipt: [{ userJid: plan.pn, receiptTimestamp: ts + 2, readTimestamp: ts + 60 }] } : {}),
      }) as WAMessage;
      // Baileys' key additions (not proto fields): set after fromObject, as the socket does.
      if (plan.lidHint === 'alt') info.key.remoteJidAlt = plan.pn!;
      if (member?.alt) info.key.participantAlt = member.alt;
      messages.push(info);
      if (!isNoise[i] && recent.length < 20) recent.push(id);
    }
    perChat.push({ plan, messages });
  }

  // Pack conversations into chunks. A conversation that does not fit continues in the next chunk,
  // listed again there with its remaining messages, as WhatsApp's chunks do.
  const total = perChat.reduce((n, c) => n + c.messages.length, 0);
  const chunks: HistoryChunk[] = [];
  let seen = 0;
  const newChunk = (order: number): HistoryChunk => ({
    chats: [],
    contacts: [],
    messages: [],
    lidPnMappings: [],
    isLatest: true,
    progress: null,
    syncType: order === 0 ? HT.INITIAL_BOOTSTRAP : HT.FULL,
    chunkOrder: order,
    peerDataRequestSessionId: null,
  });
  let current = newChunk(0);
  const flush = () => {
    current.progress = Math.min(100, Math.round((seen / Math.max(1, total)) * 100));
    chunks.push(current);
    current = newChunk(chunks.length);
  };
  for (const { plan, messages } of perChat) {
    if (current.messages.length >= chunkSize) flush();
    current.chats.push(chatOf(plan, messages));
    current.contacts.push(contactOf(plan));
    if (plan.lidHint === 'mapping') current.lidPnMappings!.push({ lid: plan.lid!, pn: plan.pn! });
    for (const m of plan.members) {
      if (m.alt && rand() < 0.5) current.lidPnMappings!.push(m.jid.endsWith('@lid') ? { lid: m.jid, pn: m.alt } : { lid: m.alt, pn: m.jid });
    }
    for (let i = 0; i < messages.length; i++) {
      if (current.messages.length >= chunkSize) {
        flush();
        current.chats.push(chatOf(plan, messages.slice(i, i + 1)));
      }
      current.messages.push(messages[i]!);
      seen++;
    }
  }
  if (current.messages.length > 0 || current.chats.length > 0 || chunks.length === 0) flush();
  return chunks;
}

function chatOf(plan: ChatPlan, messages: WAMessage[]): Chat {
  const newest = messages[0]?.messageTimestamp;
  return proto.Conversation.fromObject({
    id: plan.id,
    ...(plan.isGroup ? { name: plan.name } : {}),
    ...(plan.lidHint === 'pnJid' ? { pnJid: plan.pn } : {}),
    ...(!plan.isGroup && plan.lidHint === null ? { lidJid: plan.lid } : {}),
    ...(newest != null ? { conversationTimestamp: newest } : {}),
    unreadCount: 0,
  }) as Chat;
}

/** Baileys derives one contact per history conversation (see Utils/history.js). */
function contactOf(plan: ChatPlan): Contact {
  const contact: Contact = { id: plan.id, name: plan.name };
  if (!plan.isGroup && (plan.lidHint === 'pnJid' || plan.lidHint === null)) {
    contact.lid = plan.lid!;
    contact.phoneNumber = plan.pn!;
  }
  return contact;
}

/** Messages across chunks (what `total` adds up to). */
export function countMessages(chunks: readonly HistoryChunk[]): number {
  let n = 0;
  for (const c of chunks) n += c.messages.length;
  return n;
}
