import { proto, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import type { Mutation } from '../domain/mutations.js';
import { NOT_ARCHIVED, type MessageRecord, type MessageStatus, type SyncSource } from '../domain/records.js';
import { MutationCollector } from './collector.js';
import { classifyContent, type SkipReason } from './content.js';
import { canonicalJid, isGroupJid, isLidJid, isPnJid, isStatusBroadcast, LearningResolver, type JidResolver } from './jids.js';
import { isoTimestamp, msToMillis, toMillis, toMillisOrNull } from './timestamps.js';

export interface IngestContext {
  accountId: string;
  /** The mapping time: `tsServer`, `syncedAt`, and the fallback for missing or future WhatsApp times. */
  now: number;
  source: SyncSource;
  /** `proto.HistorySync.HistorySyncType` of the history chunk being mapped, if any. */
  syncType?: number | null;
  resolver: JidResolver;
  /** Source recorded for ON_DEMAND history chunks (answers to `fetchMessageHistory`); default `backfill`. */
  onDemandSource?: SyncSource;
  /**
   * The account's own PN and LID JIDs, when known: LID ↔ PN pairs linking someone else to them are
   * refused (see `LearningResolver`). Optional because Baileys itself trusts key alts unconditionally.
   */
  ownJids?: ReadonlySet<string>;
}

export type MapResult = { mutations: Mutation[] } | { skip: SkipReason };

/** Per-event constants, computed once rather than per message. */
export interface MessageEnv {
  accountId: string;
  now: number;
  source: SyncSource;
  syncedAt: number | null;
  syncType: string | null;
}

export function messageEnv(ctx: IngestContext, source: SyncSource = ctx.source, syncType = ctx.syncType): MessageEnv {
  const fromHistory = source === 'history_sync' || source === 'backfill';
  return {
    accountId: ctx.accountId,
    now: ctx.now,
    source,
    syncedAt: fromHistory ? ctx.now : null,
    syncType: fromHistory && syncType != null ? (proto.HistorySync.HistorySyncType[syncType] ?? String(syncType)) : null,
  };
}

/**
 * Maps one message on its own. Event mappers use `ingestMessage` with a shared collector so that an
 * event's pairs, names and receipts are reduced across its messages.
 */
export function mapWAMessage(msg: WAMessage, ctx: IngestContext): MapResult {
  const c = new MutationCollector(new LearningResolver(ctx.resolver, ctx.accountId, ctx.ownJids));
  const reason = ingestMessage(msg, messageEnv(ctx), c);
  return reason === null ? { mutations: c.finish().mutations } : { skip: reason };
}

const Status = proto.WebMessageInfo.Status;
const SEND_ERROR = 'WhatsApp reported the send as failed (status ERROR)';

/** Learns the LID ↔ PN pairs a key carries (`remoteJidAlt` in 1:1 chats, `participantAlt` in groups). */
export function learnFromKey(key: WAMessageKey | null | undefined, resolver: LearningResolver): void {
  if (!key) return;
  if (key.remoteJidAlt) resolver.learnPair(key.remoteJid, key.remoteJidAlt);
  if (key.participantAlt) resolver.learnPair(key.participant, key.participantAlt);
}

/**
 * Maps one message into the collector; returns the skip reason, or null when it produced mutations.
 * Never throws on malformed input: a history sync must not stop on one odd entry.
 */
export function ingestMessage(msg: WAMessage | null | undefined, env: MessageEnv, c: MutationCollector): SkipReason | null {
  const key = msg?.key;
  if (!msg || !key) return skip(c, 'missing_key');
  const id = key.id;
  if (!id) return skip(c, 'missing_id');
  const remoteJid = key.remoteJid;
  if (!remoteJid) return skip(c, 'missing_remote_jid');
  if (isStatusBroadcast(remoteJid)) return skip(c, 'status_broadcast');

  const content = classifyContent(msg.message);
  if (content.kind === 'skip') {
    return skip(c, content.reason === 'no_content' && msg.messageStubType ? 'stub' : content.reason);
  }

  const resolver = c.resolver;
  learnFromKey(key, resolver);
  const clientJid = canonicalJid(remoteJid, resolver);
  // The message's own WhatsApp time, never the sync time: a history sync would otherwise stamp
  // months of messages with the same instant.
  const createdAt = toMillis(msg.messageTimestamp, env.now);

  if (content.kind === 'revoke') {
    c.revoke({ kind: 'revoke', accountId: env.accountId, clientJid, messageId: content.targetId, revokedAt: createdAt });
    return null;
  }
  if (content.kind === 'edit') {
    const editedAt = content.timestampMs !== null ? msToMillis(content.timestampMs, env.now) : createdAt;
    c.edit({ kind: 'edit', accountId: env.accountId, clientJid, messageId: content.targetId, body: content.body, editedAt });
    return null;
  }

  const fromMe = key.fromMe === true;
  const group = isGroupJid(remoteJid);
  const sender = group ? key.participant || msg.participant : null;
  const pushName = msg.pushName || null;

  let status: MessageStatus = 'delivered';
  let sendError: string | null = null;
  let deliveredAt: number | null = null;
  let readAt: number | null = null;
  if (fromMe) {
    status = outboundStatus(msg.status);
    if (msg.status === Status.ERROR) sendError = SEND_ERROR;
    const receipts = msg.userReceipt;
    if (receipts && receipts.length > 0) {
      // Groups: the earliest receipt of any participant, the same rule as live receipts.
      for (const r of receipts) {
        const d = toMillisOrNull(r.receiptTimestamp, env.now);
        if (d !== null && (deliveredAt === null || d < deliveredAt)) deliveredAt = d;
        const rd = toMillisOrNull(r.readTimestamp, env.now) ?? toMillisOrNull(r.playedTimestamp, env.now);
        if (rd !== null && (readAt === null || rd < readAt)) readAt = rd;
      }
      if (readAt !== null) {
        status = 'read';
        deliveredAt ??= readAt;
      } else if (deliveredAt !== null && status !== 'read') {
        status = 'delivered';
      }
      if (deliveredAt !== null) sendError = null;
    }
  }

  const record: MessageRecord = {
    id,
    accountId: env.accountId,
    clientJid,
    direction: fromMe ? 'outbound' : 'inbound',
    body: content.body,
    waMessageId: id,
    status,
    messageType: content.messageType,
    mediaType: content.mediaType,
    mediaUrl: content.mediaUrl,
    mediaMimetype: content.mediaMimetype,
    mediaFilename: content.mediaFilename,
    tsClient: isoTimestamp(createdAt),
    tsServer: env.now,
    createdAt,
    syncedAt: env.syncedAt,
    syncSource: env.source,
    deliveredAt,
    readAt,
    contentType: content.contentType,
    fromMe,
    participant: sender ? canonicalJid(sender, resolver) : null,
    pushName,
    syncType: env.syncType,
    mediaSize: content.mediaSize,
    media: content.media,
    refMessageId: content.refMessageId,
    editedAt: null,
    revokedAt: null,
    sendError,
    // Only what Baileys may ask for again: own messages (retry `getMessage`) and media (downloads).
    rawMessage: fromMe || content.mediaType !== null ? encodeMessage(msg.message) : null,
    senderName: null,
    ...NOT_ARCHIVED,
  };
  c.message({ kind: 'message', record });

  // A person's pushName names their 1:1 thread; in a group it names the sender, not the group.
  if (!fromMe && pushName !== null && (isPnJid(clientJid) || isLidJid(clientJid))) {
    c.thread({ kind: 'thread', accountId: env.accountId, clientJid, displayName: pushName, source: 'pushName' }, createdAt);
  }
  return null;
}

function skip(c: MutationCollector, reason: SkipReason): SkipReason {
  c.skip(reason);
  return reason;
}

/** `proto.WebMessageInfo.Status` of an own message → the record's status (README, Data model). A missing status means it was sent. */
export function outboundStatus(status: proto.WebMessageInfo.Status | null | undefined): MessageStatus {
  switch (status) {
    case Status.PENDING:
    case Status.ERROR:
      return 'queued';
    case Status.DELIVERY_ACK:
      return 'delivered';
    case Status.READ:
    case Status.PLAYED:
      return 'read';
    default:
      return 'sent';
  }
}

function encodeMessage(message: proto.IMessage | null | undefined): Uint8Array | null {
  if (!message) return null;
  try {
    // protobufjs hands out small Buffers as views into a shared 8 KiB pool slab; a record holding
    // one would keep the slab alive and a structured clone (worker hand-off) would copy all of it.
    return new Uint8Array(proto.Message.encode(message).finish());
  } catch {
    // A hand-built object protobuf cannot encode: the record is still worth storing without it.
    return null;
  }
}
