import { proto, toNumber } from '@whiskeysockets/baileys';
import { compareAge, type LidPnPairs, type MessageArchive } from './archive.js';
import type { Long } from './scenario-codec.js';
import type { SimWorld } from './world.js';

/**
 * The phone's answer to a `fetchMessageHistory` request: a `HistorySync` of type ON_DEMAND with up to
 * `count` messages of the chat strictly older than the anchor (time, then id), newest first. The
 * chat may be asked for by LID or by phone number; both forms are searched when the pairing is known.
 */

export interface Anchor {
  /** Seconds (may be fractional when the caller gave milliseconds). */
  ts: number;
  id: string;
}

/**
 * Baileys' parameter is named `oldestMsgTimestamp` and ends up in `oldestMsgTimestampMs`, while its
 * own examples pass `messageTimestamp` (seconds). Both are accepted: values above 1e11 are read as
 * milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
 */
export function anchorSeconds(ts: number | Long | null | undefined): number {
  const n = toNumber(ts ?? 0);
  return n > 1e11 ? n / 1000 : n;
}

interface Candidate {
  ts: number;
  id: string;
  msg: proto.IWebMessageInfo;
}

export interface OnDemandRequest {
  world: SimWorld | null;
  archive: MessageArchive;
  pairs: LidPnPairs;
  jid: string;
  anchor: Anchor;
  count: number;
}

export function onDemandHistorySync(req: OnDemandRequest): proto.HistorySync {
  const { world, archive, pairs, jid, anchor } = req;
  const count = Math.max(0, Math.floor(req.count));
  const alt = pairs.alternate(jid);
  let chatIndex = world?.chatIndexOf(jid);
  if (chatIndex === undefined && alt) chatIndex = world?.chatIndexOf(alt);
  const forms = new Set<string>([jid]);
  if (alt) forms.add(alt);
  if (world && chatIndex !== undefined) {
    const chat = world.chatAt(chatIndex);
    forms.add(chat.jid);
    if (chat.peer) {
      forms.add(chat.peer.pn);
      if (chat.peer.lid) forms.add(chat.peer.lid);
    }
  }

  const candidates: Candidate[] = [];
  let more = false;
  if (world && chatIndex !== undefined && count > 0) {
    const first = world.firstOlder(chatIndex, anchor.ts, anchor.id);
    const end = Math.min(world.depth, first + count);
    for (let i = first; i < end; i++) {
      const h = world.header(chatIndex, i);
      candidates.push({ ts: h.ts, id: h.id, msg: world.message(chatIndex, i) });
    }
    more = end < world.depth;
  }
  for (const form of forms) {
    for (const a of archive.olderThan(form, anchor, count + 1)) candidates.push(a);
  }
  candidates.sort((a, b) => compareAge(b, a));
  const seen = new Set<string>();
  const picked: Candidate[] = [];
  for (const c of candidates) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    if (picked.length === count) {
      more = true;
      break;
    }
    picked.push(c);
  }

  const known = chatIndex !== undefined || picked.length > 0 || [...forms].some((f) => archive.has(f));
  if (!known) return new proto.HistorySync({ syncType: proto.HistorySync.HistorySyncType.ON_DEMAND, conversations: [] });

  let conversation: proto.Conversation;
  let mappings: proto.PhoneNumberToLIDMapping[];
  if (world && chatIndex !== undefined) {
    conversation = world.conversation(chatIndex);
    mappings = world.pairsOf(chatIndex);
  } else {
    const id = picked[0]?.msg.key?.remoteJid ?? jid;
    const other = pairs.alternate(id);
    conversation = new proto.Conversation({ id });
    mappings = [];
    if (other) {
      const idIsLid = id.endsWith('@lid');
      if (idIsLid) conversation.pnJid = other;
      else conversation.lidJid = other;
      mappings.push(new proto.PhoneNumberToLIDMapping(idIsLid ? { lidJid: id, pnJid: other } : { lidJid: other, pnJid: id }));
    }
  }
  // As decoded from the phone's upload: every message a proto instance.
  conversation.messages = picked.map(
    (c) => new proto.HistorySyncMsg({ message: c.msg instanceof proto.WebMessageInfo ? c.msg : proto.WebMessageInfo.fromObject(c.msg) }),
  );
  conversation.endOfHistoryTransfer = true;
  conversation.endOfHistoryTransferType = more
    ? proto.Conversation.EndOfHistoryTransferType.COMPLETE_ON_DEMAND_SYNC_BUT_MORE_MSG_REMAIN_ON_PRIMARY
    : proto.Conversation.EndOfHistoryTransferType.COMPLETE_AND_NO_MORE_MESSAGE_REMAIN_ON_PRIMARY;
  return new proto.HistorySync({
    syncType: proto.HistorySync.HistorySyncType.ON_DEMAND,
    conversations: [conversation],
    phoneNumberToLidMappings: mappings,
  });
}
