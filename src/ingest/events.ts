import { proto, type BaileysEventMap, type Chat, type Contact, type WAMessageKey } from '@whiskeysockets/baileys';
import type { DisplayNameSource, MessageStatus, SyncSource } from '../domain/records.js';
import { MutationCollector, type IngestBatch } from './collector.js';
import { editOf, type SkipReason } from './content.js';
import { historyGroupRoster } from './groups.js';
import { canonicalJid, isGroupJid, isLidJid, isPnJid, isStatusBroadcast, LearningResolver } from './jids.js';
import { ingestMessage, learnFromKey, messageEnv, outboundStatus, type IngestContext } from './message.js';
import { msToMillis, toMillis, toMillisOrNull } from './timestamps.js';

const ON_DEMAND = proto.HistorySync.HistorySyncType.ON_DEMAND;
const Status = proto.WebMessageInfo.Status;
const REVOKE_STUB = proto.WebMessageInfo.StubType.REVOKE;

function collector(ctx: IngestContext): MutationCollector {
  return new MutationCollector(new LearningResolver(ctx.resolver, ctx.accountId, ctx.ownJids));
}

/**
 * `messaging-history.set`: one chunk of a history sync (or of an on-demand fetch). Pairs come first —
 * the chunk's `lidPnMappings`, contacts, chats, then every message key — so that all messages of the
 * chunk resolve to the same thread whatever their order. `total` is the chunk's message count.
 */
export function mapHistorySet(data: BaileysEventMap['messaging-history.set'], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  const r = c.resolver;
  const syncType = data.syncType ?? ctx.syncType ?? null;
  const source: SyncSource = syncType === ON_DEMAND ? (ctx.onDemandSource ?? 'backfill') : 'history_sync';

  // Baileys always sets these lists; the fallbacks keep a malformed chunk from throwing mid-sync.
  const contacts = data.contacts ?? [];
  const chats = data.chats ?? [];
  const messages = data.messages ?? [];
  if (data.lidPnMappings) for (const m of data.lidPnMappings) r.learn(m?.lid, m?.pn);
  for (const contact of contacts) learnFromContact(contact, r);
  for (const chat of chats) learnFromChat(chat, r);
  for (const msg of messages) learnFromKey(msg?.key, r);

  for (const contact of contacts) contactNames(contact, ctx, c);
  for (const chat of chats) chatName(chat, ctx, c);
  for (const chat of chats) historyGroupRoster(chat, ctx, c);

  c.total = messages.length;
  const env = messageEnv(ctx, source, syncType);
  for (const msg of messages) ingestMessage(msg, env, c);
  return c.finish();
}

/**
 * `messages.upsert`: `notify` (live) and `append` (offline catch-up, own sends from other devices)
 * alike — every one is stored. Protocol REVOKE / MESSAGE_EDIT arriving here become revoke/edit
 * mutations (Baileys also re-emits them as `messages.update`; both map to the same mutation keys).
 */
export function mapMessagesUpsert(data: BaileysEventMap['messages.upsert'], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  const messages = data.messages ?? [];
  for (const msg of messages) learnFromKey(msg?.key, c.resolver);
  c.total = messages.length;
  const env = messageEnv(ctx);
  for (const msg of messages) ingestMessage(msg, env, c);
  return c.finish();
}

/**
 * `messages.update`. What we store from it:
 * - `status`: a receipt for a 1:1 message (Baileys puts the receipt time in `messageTimestamp`, which
 *   is used as `at` when present; otherwise `ctx.now`). PENDING and ERROR cannot move a status forward
 *   and are skipped (`status_pending`, `status_error`).
 * - an edit: `message.editedMessage` (Baileys' shape) or a protocol MESSAGE_EDIT; `editedAt` from
 *   `messageTimestamp`, else now.
 * - a revoke: `messageStubType === REVOKE` with the content gone (`message: null`).
 * Anything else (stars, poll tallies, media re-uploads) is skipped as `irrelevant_update`.
 */
export function mapMessagesUpdate(updates: BaileysEventMap['messages.update'], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  c.total = updates.length;
  for (const u of updates) learnFromKey(u?.key, c.resolver);
  for (const u of updates) {
    const target = targetOf(u?.key, c);
    if (typeof target === 'string') {
      c.skip(target);
      continue;
    }
    const { id, clientJid } = target;
    const update = u.update ?? {};
    const at = update.messageTimestamp != null ? toMillis(update.messageTimestamp, ctx.now) : ctx.now;
    let produced = false;
    let reason: SkipReason = 'irrelevant_update';

    if (update.status != null) {
      const status = forwardStatus(update.status);
      if (status.kind === 'skip') reason = status.reason;
      else {
        c.status({ kind: 'status', accountId: ctx.accountId, clientJid, messageId: id, status: status.status, at });
        produced = true;
      }
    }

    if (update.messageStubType === REVOKE_STUB && update.message == null) {
      c.revoke({ kind: 'revoke', accountId: ctx.accountId, clientJid, messageId: id, revokedAt: at });
      produced = true;
    } else if (update.message) {
      const edit = editOf(update.message);
      if (edit !== null) {
        const isProtocol = edit.kind === 'edit';
        c.edit({
          kind: 'edit',
          accountId: ctx.accountId,
          clientJid,
          messageId: isProtocol ? edit.targetId : id,
          body: edit.body,
          editedAt: isProtocol && edit.timestampMs !== null ? msToMillis(edit.timestampMs, ctx.now) : at,
        });
        produced = true;
      }
    }
    if (!produced) c.skip(reason);
  }
  return c.finish();
}

/**
 * `message-receipt.update` (group and status receipts, one participant each): `readTimestamp` or
 * `playedTimestamp` → `read` at that time, `receiptTimestamp` → `delivered` at that time. In groups the
 * first participant's receipt advances the message's status (WhatsApp's own UI waits for all; a
 * per-participant ledger is not part of the record), so `deliveredAt`/`readAt` mean "first".
 */
export function mapReceipts(updates: BaileysEventMap['message-receipt.update'], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  c.total = updates.length;
  for (const u of updates) {
    const target = targetOf(u?.key, c);
    if (typeof target === 'string') {
      c.skip(target);
      continue;
    }
    const receipt = u.receipt;
    const readAt = toMillisOrNull(receipt?.readTimestamp, ctx.now) ?? toMillisOrNull(receipt?.playedTimestamp, ctx.now);
    const deliveredAt = toMillisOrNull(receipt?.receiptTimestamp, ctx.now);
    if (readAt === null && deliveredAt === null) {
      c.skip('no_receipt_time');
      continue;
    }
    const base = { kind: 'status' as const, accountId: ctx.accountId, clientJid: target.clientJid, messageId: target.id };
    if (deliveredAt !== null) c.status({ ...base, status: 'delivered', at: deliveredAt });
    if (readAt !== null) c.status({ ...base, status: 'read', at: readAt });
  }
  return c.finish();
}

/** `contacts.upsert` / `contacts.update`: names (`name` > `verifiedName` > `notify`) and LID ↔ PN pairs. */
export function mapContacts(contacts: readonly Partial<Contact>[], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  c.total = contacts.length;
  const paired = contacts.map((contact) => learnFromContact(contact, c.resolver));
  for (let i = 0; i < contacts.length; i++) {
    if (!contactNames(contacts[i], ctx, c) && !paired[i]) c.skip('no_name');
  }
  return c.finish();
}

/** `chats.upsert` / `chats.update`: chat names and the chat's `pnJid`/`lidJid` pair. */
export function mapChats(chats: readonly Partial<Chat>[], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  c.total = chats.length;
  const paired = chats.map((chat) => learnFromChat(chat, c.resolver));
  for (let i = 0; i < chats.length; i++) {
    if (!chatName(chats[i], ctx, c) && !paired[i]) c.skip('no_name');
  }
  return c.finish();
}

/** `lid-mapping.update`: one pair. A pair the resolver already holds yields nothing. */
export function mapLidMapping(data: BaileysEventMap['lid-mapping.update'], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  c.total = 1;
  c.resolver.learn(data?.lid, data?.pn);
  return c.finish();
}

/** The message a status/receipt/edit refers to, or why there is none. */
function targetOf(
  key: WAMessageKey | null | undefined,
  c: MutationCollector,
): { id: string; clientJid: string | null } | 'missing_key' | 'missing_id' | 'status_broadcast' {
  if (!key) return 'missing_key';
  if (!key.id) return 'missing_id';
  const remoteJid = key.remoteJid;
  if (remoteJid && isStatusBroadcast(remoteJid)) return 'status_broadcast';
  return { id: key.id, clientJid: remoteJid ? canonicalJid(remoteJid, c.resolver) : null };
}

const SKIP_PENDING = { kind: 'skip', reason: 'status_pending' } as const;
const SKIP_ERROR = { kind: 'skip', reason: 'status_error' } as const;
const SKIP_UNKNOWN = { kind: 'skip', reason: 'unknown_status' } as const;

/** A status that can move a message forward; PENDING/ERROR cannot (a `StatusUpdate` has no error field). */
function forwardStatus(
  s: proto.WebMessageInfo.Status,
): { kind: 'status'; status: MessageStatus } | { kind: 'skip'; reason: 'status_pending' | 'status_error' | 'unknown_status' } {
  switch (s) {
    case Status.PENDING:
      return SKIP_PENDING;
    case Status.ERROR:
      return SKIP_ERROR;
    case Status.SERVER_ACK:
    case Status.DELIVERY_ACK:
    case Status.READ:
    case Status.PLAYED:
      return { kind: 'status', status: outboundStatus(s) };
    default:
      return SKIP_UNKNOWN;
  }
}

/** Learns the contact's LID ↔ PN pair; returns whether it carried a valid one (known or new). */
function learnFromContact(contact: Partial<Contact> | null | undefined, r: LearningResolver): boolean {
  if (!contact) return false;
  const id = contact.id;
  const lid = contact.lid || (id && isLidish(id) ? id : undefined);
  const pn = contact.phoneNumber || (id && !isLidish(id) ? id : undefined);
  return r.learn(lid, pn);
}

function learnFromChat(chat: Partial<Chat> | null | undefined, r: LearningResolver): boolean {
  if (!chat) return false;
  if (chat.lidJid && chat.pnJid) return r.learn(chat.lidJid, chat.pnJid);
  return r.learnPair(chat.id, chat.pnJid || chat.lidJid);
}

function isLidish(jid: string): boolean {
  return jid.endsWith('@lid') || jid.endsWith('@hosted.lid');
}

/** The canonical thread JID of a contact or chat, or null for JIDs that are not threads we keep. */
function threadJidOf(id: string | null | undefined, pn: string | null | undefined, c: MutationCollector): string | null {
  const raw = pn || id;
  if (!raw) return null;
  const jid = canonicalJid(raw, c.resolver);
  if (isStatusBroadcast(jid)) return null;
  return isPnJid(jid) || isLidJid(jid) || isGroupJid(jid) || jid.endsWith('@newsletter') || jid.endsWith('@broadcast') ? jid : null;
}

/** Emits the contact's best name; returns whether one was emitted. */
function contactNames(contact: Partial<Contact> | null | undefined, ctx: IngestContext, c: MutationCollector): boolean {
  if (!contact) return false;
  let displayName: string;
  let source: DisplayNameSource;
  if (hasText(contact.name)) [displayName, source] = [contact.name, 'contactName'];
  else if (hasText(contact.verifiedName)) [displayName, source] = [contact.verifiedName, 'verifiedName'];
  else if (hasText(contact.notify)) [displayName, source] = [contact.notify, 'pushName'];
  else return false;
  const clientJid = threadJidOf(contact.id, contact.phoneNumber, c);
  if (clientJid === null) return false;
  c.thread({ kind: 'thread', accountId: ctx.accountId, clientJid, displayName, source }, ctx.now);
  return true;
}

function chatName(chat: Partial<Chat> | null | undefined, ctx: IngestContext, c: MutationCollector): boolean {
  if (!chat) return false;
  const name = hasText(chat.name) ? chat.name : chat.displayName;
  if (!hasText(name)) return false;
  const clientJid = threadJidOf(chat.id, chat.pnJid, c);
  if (clientJid === null) return false;
  c.thread({ kind: 'thread', accountId: ctx.accountId, clientJid, displayName: name, source: 'chatName' }, ctx.now);
  return true;
}

function hasText(s: string | null | undefined): s is string {
  return typeof s === 'string' && s.trim() !== '';
}
