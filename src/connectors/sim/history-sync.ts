import { processHistoryMessage, proto, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys';
import { uint64 } from './longs.js';
import type { Rng } from './rng.js';
import type { IdStyle, SimIdentity, SimWorld } from './world.js';

/**
 * History sync as the phone delivers it: a plan of chunks over the world's messages, each chunk
 * materialised only when sent, as a `proto.HistorySync` (what Baileys downloads and decodes) and then
 * turned into the `messaging-history.set` payload by Baileys' own `processHistoryMessage`, so chats,
 * contacts and LID mappings are derived exactly as the library derives them.
 */

export type HistorySetEvent = BaileysEventMap['messaging-history.set'];
export const HistorySyncType = proto.HistorySync.HistorySyncType;

export interface HistoryPlanOptions {
  /** Messages per chunk (WhatsApp sends a few thousand). Default 3000. */
  chunkSize?: number;
  /** Conversations per chunk at most, for histories of many near-empty chats. Default 1000. */
  maxConversationsPerChunk?: number;
  /** The bootstrap chunk carries the newest `bootstrapMessages` of the `bootstrapChats` most recent chats. */
  bootstrapChats?: number;
  bootstrapMessages?: number;
  /** Send the FULL phase (the `syncFullHistory` socket option). Default true. */
  fullHistory?: boolean;
}

/** Messages [from, to) of one chat, by index (0 = newest). */
export interface ChunkSlice {
  chat: number;
  from: number;
  to: number;
}

export interface HistoryChunkPlan {
  syncType: proto.HistorySync.HistorySyncType;
  chunkOrder: number;
  progress: number | null;
  slices: ChunkSlice[];
  messages: number;
}

export function planHistory(world: SimWorld, opts: HistoryPlanOptions = {}): HistoryChunkPlan[] {
  const chunkSize = Math.max(1, opts.chunkSize ?? 3000);
  const maxConvs = Math.max(1, opts.maxConversationsPerChunk ?? 1000);
  const bootChats = Math.min(world.chats.length, opts.bootstrapChats ?? 30);
  const bootMsgs = opts.bootstrapMessages ?? 5;
  const m = world.messagesPerChat;
  // Newest third at most for the bootstrap, then RECENT up to two thirds, FULL for the rest.
  const bootEnd = (c: number): number => (c < bootChats ? Math.min(bootMsgs, Math.floor(m / 3)) : 0);
  const recentEnd = (c: number): number => Math.max(bootEnd(c), Math.ceil((2 * m) / 3));

  const boot: ChunkSlice[] = [];
  const recent: ChunkSlice[] = [];
  const full: ChunkSlice[] = [];
  for (let c = 0; c < world.chats.length; c++) {
    if (bootEnd(c) > 0) boot.push({ chat: c, from: 0, to: bootEnd(c) });
    // A chat without messages still appears, so that every chat of the phone is listed.
    if (recentEnd(c) > bootEnd(c) || m === 0) recent.push({ chat: c, from: bootEnd(c), to: recentEnd(c) });
    if (m > recentEnd(c)) full.push({ chat: c, from: recentEnd(c), to: m });
  }

  const phase = (type: proto.HistorySync.HistorySyncType, slices: ChunkSlice[], withProgress: boolean, atLeastOne: boolean) => {
    const chunks = chunkSlices(slices, chunkSize, maxConvs);
    if (chunks.length === 0 && atLeastOne) chunks.push([]);
    return chunks.map(
      (s, k): HistoryChunkPlan => ({
        syncType: type,
        chunkOrder: k + 1,
        progress: withProgress ? Math.round(((k + 1) * 100) / chunks.length) : null,
        slices: s,
        messages: s.reduce((n, x) => n + x.to - x.from, 0),
      }),
    );
  };
  return [
    ...phase(HistorySyncType.INITIAL_BOOTSTRAP, boot, false, true),
    // The push names of everyone the phone has seen, as WhatsApp sends them right after the bootstrap.
    ...(world.chats.length > 0 ? [{ syncType: HistorySyncType.PUSH_NAME, chunkOrder: 1, progress: null, slices: [], messages: 0 }] : []),
    ...phase(HistorySyncType.RECENT, recent, true, true),
    ...(opts.fullHistory === false ? [] : phase(HistorySyncType.FULL, full, true, false)),
  ];
}

function chunkSlices(slices: ChunkSlice[], chunkSize: number, maxConvs: number): ChunkSlice[][] {
  const chunks: ChunkSlice[][] = [];
  let cur: ChunkSlice[] = [];
  let count = 0;
  const close = () => {
    if (cur.length) chunks.push(cur);
    cur = [];
    count = 0;
  };
  for (const s of slices) {
    let from = s.from;
    do {
      if (count >= chunkSize || cur.length >= maxConvs) close();
      const take = Math.min(s.to - from, chunkSize - count);
      cur.push({ chat: s.chat, from, to: from + take });
      count += take;
      from += take;
    } while (from < s.to);
  }
  close();
  return chunks;
}

/** The `HistorySync` the phone would upload for one planned chunk, as Baileys decodes it. */
export function buildHistorySync(world: SimWorld, plan: HistoryChunkPlan): proto.HistorySync {
  if (plan.syncType === HistorySyncType.PUSH_NAME) {
    return new proto.HistorySync({ syncType: plan.syncType, chunkOrder: plan.chunkOrder, pushnames: world.pushnames() });
  }
  const conversations: proto.Conversation[] = [];
  const pairs = new Map<string, proto.PhoneNumberToLIDMapping>();
  for (const s of plan.slices) {
    const conv = world.conversation(s.chat);
    const messages: proto.HistorySyncMsg[] = [];
    for (let i = s.from; i < s.to; i++) {
      messages.push(
        new proto.HistorySyncMsg({ message: world.message(s.chat, i) as proto.WebMessageInfo, msgOrderId: uint64(world.depth - i) }),
      );
    }
    conv.messages = messages;
    if (s.to === world.messagesPerChat && s.to > s.from) {
      conv.endOfHistoryTransfer = true;
      conv.endOfHistoryTransferType =
        world.archivePerChat > 0
          ? proto.Conversation.EndOfHistoryTransferType.COMPLETE_BUT_MORE_MESSAGES_REMAIN_ON_PRIMARY
          : proto.Conversation.EndOfHistoryTransferType.COMPLETE_AND_NO_MORE_MESSAGE_REMAIN_ON_PRIMARY;
    }
    conversations.push(conv);
    for (const p of world.pairsOf(s.chat)) pairs.set(p.lidJid as string, p);
  }
  return new proto.HistorySync({
    syncType: plan.syncType,
    conversations,
    chunkOrder: plan.chunkOrder,
    ...(plan.progress !== null ? { progress: plan.progress } : {}),
    phoneNumberToLidMappings: [...pairs.values()],
  });
}

export interface HistorySetMeta {
  /** Baileys: true for the first history notification a fresh login processes. */
  isLatest?: boolean;
  peerDataRequestSessionId?: string | null;
}

/** What Baileys emits for a downloaded `HistorySync` (`processMessage` → `messaging-history.set`). */
export function toHistorySetEvent(sync: proto.IHistorySync, meta: HistorySetMeta = {}): HistorySetEvent {
  const item = proto.HistorySync.fromObject(sync);
  const data = processHistoryMessage(item);
  return {
    ...data,
    isLatest: item.syncType !== HistorySyncType.ON_DEMAND ? (meta.isLatest ?? false) : undefined,
    chunkOrder: item.chunkOrder,
    peerDataRequestSessionId: meta.peerDataRequestSessionId ?? null,
  };
}

/** A random message id in the shape of the given client (the phone's own ids, live traffic). */
export function randomMessageId(rng: Rng, style: IdStyle): string {
  if (style === 'web') return `3EB0${rng.hex(18)}`;
  if (style === 'ios') return `3A${rng.hex(18)}`;
  return rng.hex(32);
}

/**
 * The protocol message that announces a history chunk. Baileys upserts it like any message from the
 * own phone (so consumers see it as a `messages.upsert` of a `protocolMessage`) before emitting the
 * chunk itself.
 */
export function historyNotificationMessage(
  identity: Pick<SimIdentity, 'jid' | 'idStyle'>,
  sync: proto.IHistorySync,
  rng: Rng,
  nowSec: number,
  peerDataRequestSessionId?: string,
): WAMessage {
  const file = `${rng.digits(8)}_${rng.digits(16)}_${rng.digits(16)}_n.enc`;
  const directPath = `/v/t62.36145-24/${file}?ccb=11-4&oh=01_Q5Aa${rng.hex(28)}&oe=${rng.hex(8)}&_nc_sid=5e03e0`;
  return {
    key: {
      remoteJid: identity.jid,
      remoteJidAlt: undefined,
      remoteJidUsername: undefined,
      fromMe: true,
      id: randomMessageId(rng, identity.idStyle),
      // Baileys' cleanMessage normalises an absent participant to ''.
      participant: '',
      participantAlt: undefined,
      participantUsername: undefined,
      addressingMode: 'pn',
    },
    category: 'peer',
    messageTimestamp: nowSec,
    pushName: undefined,
    broadcast: false,
    status: proto.WebMessageInfo.Status.SERVER_ACK,
    message: proto.Message.fromObject({
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
        historySyncNotification: {
          fileSha256: rng.bytes(32),
          fileLength: rng.int(20_000, 900_000),
          mediaKey: rng.bytes(32),
          fileEncSha256: rng.bytes(32),
          directPath,
          syncType: sync.syncType ?? 0,
          ...(sync.chunkOrder != null ? { chunkOrder: sync.chunkOrder } : {}),
          ...(sync.progress != null ? { progress: sync.progress } : {}),
          ...(peerDataRequestSessionId ? { peerDataRequestSessionId } : {}),
        },
      },
    }),
  };
}
