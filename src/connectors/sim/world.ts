import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { buildContent, CONTENT_WEIGHTS, previewText, wrapEphemeral, type ContentKind } from './content.js';
import { int64, uint64 } from './longs.js';
import { fmix32, hashSeed, hex32, permute64, Rng, type Seed128 } from './rng.js';
import { COUNTRY_CODES, FIRST_NAMES, GROUP_SUBJECTS, LAST_NAMES, NICKNAMES } from './vocab.js';

/**
 * The simulated phone's world: who the account is, whom it talks to, and every message it holds.
 *
 * Nothing but the roster is stored. A message is a pure function of (seed, chat, index) — index 0 is
 * a chat's newest message, `messagesPerChat` and beyond are the older ones only fetchable on demand —
 * so the phone can hand out any chunk or any backfill page of a 100k-message history without
 * generating, or keeping, the rest. Timestamps fall strictly with the index, which makes "messages
 * older than X" a binary search.
 */

export interface WorldOptions {
  chats: number;
  messagesPerChat: number;
  /** Older messages per chat that only on-demand backfill returns. Default `floor(messagesPerChat / 2)`. */
  archivePerChat?: number;
  seed: string;
  /**
   * End of the history, epoch ms. Default: the start of the current UTC day, so that a restarted
   * process regenerates the same timestamps for the same ids (within the day) and the store converges.
   */
  now?: number;
  /** The account's JID (`<phone>[:device]@s.whatsapp.net`). Default derived from the seed. */
  ownJid?: string;
  ownName?: string;
}

export type IdStyle = 'android' | 'ios' | 'web';

export interface SimIdentity {
  /** Phone number digits. */
  phone: string;
  /** The companion device number the simulated socket is. */
  device: number;
  /** `<phone>:<device>@s.whatsapp.net`: Baileys' `user.id`. */
  id: string;
  /** `<lid>:<device>@lid`: Baileys' `user.lid`. */
  lid: string;
  /** `<phone>@s.whatsapp.net` */
  jid: string;
  /** `<lid>@lid` */
  lidJid: string;
  name: string;
  idStyle: IdStyle;
}

export interface SimPerson {
  index: number;
  pn: string;
  lid: string | null;
  name: string;
  pushName: string;
  /** In the account's address book: the chat then carries the saved name. */
  saved: boolean;
  idStyle: IdStyle;
}

export interface SimChat {
  index: number;
  jid: string;
  kind: 'pn' | 'lid' | 'group';
  peer: SimPerson | null;
  /** LID-addressed chat whose phone number the history does not state (it can still be learned from receipts). */
  pnHidden: boolean;
  subject: string | null;
  members: SimPerson[];
  /** Group addressed by LID: participants are LIDs. */
  lidGroup: boolean;
  ownAdmin: boolean;
  /** Disappearing-messages timer in seconds, 0 = off. */
  expiration: number;
  /** Seconds: the newest message's time. */
  lastTs: number;
  /** Mean spacing of its messages in seconds. */
  gap: number;
  unreadCount: number;
  archived: boolean;
  pinned: boolean;
}

export interface MessageHeader {
  id: string;
  ts: number;
  fromMe: boolean;
  sender: SimPerson | null;
}

const DOMAIN = { person: 1, chat: 2, message: 3, identity: 5 } as const;
const DAY_MS = 86_400_000;
/** Chats spread their last activity over this many seconds (older chats are quieter). */
const CHAT_SPREAD_S = 400 * 86_400;
/** A chat's whole history (synced + archive) spans at most this many seconds. */
const MAX_CHAT_SPAN_S = 3 * 365 * 86_400;
/** People who appear only in groups. */
const STRANGERS = 200;
const STATUS = proto.WebMessageInfo.Status;

export function defaultNow(): number {
  return Math.floor(Date.now() / DAY_MS) * DAY_MS;
}

/** An affine bijection on [0, 1e8): the unique tail of generated phone numbers and LIDs. */
function tail8(n: number, a: number, b: number): string {
  return String((n * a + b) % 100_000_000).padStart(8, '0');
}

export class SimWorld {
  readonly identity: SimIdentity;
  readonly chats: readonly SimChat[];
  readonly messagesPerChat: number;
  readonly archivePerChat: number;
  /** Synced + archived messages per chat. */
  readonly depth: number;
  readonly nowMs: number;
  private readonly base: Seed128;
  private readonly idKey: Seed128;
  private readonly people = new Map<number, SimPerson>();
  private readonly tailB: number;
  private jidIndex: Map<string, number> | null = null;

  constructor(opts: WorldOptions) {
    if (!Number.isInteger(opts.chats) || opts.chats < 0) throw new RangeError('chats must be a non-negative integer');
    if (!Number.isInteger(opts.messagesPerChat) || opts.messagesPerChat < 0) {
      throw new RangeError('messagesPerChat must be a non-negative integer');
    }
    this.base = hashSeed(opts.seed);
    this.idKey = hashSeed(`${opts.seed}/ids`);
    this.tailB = (this.base[0] as number) % 100_000_000;
    this.messagesPerChat = opts.messagesPerChat;
    this.archivePerChat = opts.archivePerChat ?? Math.floor(opts.messagesPerChat / 2);
    this.depth = this.messagesPerChat + this.archivePerChat;
    this.nowMs = opts.now ?? defaultNow();
    this.identity = this.makeIdentity(opts.ownJid, opts.ownName);
    const chats: SimChat[] = [];
    for (let c = 0; c < opts.chats; c++) chats.push(this.makeChat(c, opts.chats));
    this.chats = chats;
  }

  person(p: number): SimPerson {
    let person = this.people.get(p);
    if (!person) {
      person = this.makePerson(p);
      this.people.set(p, person);
    }
    return person;
  }

  /** The JID a person speaks under in a chat (LID in LID-addressed groups). */
  senderJid(chat: SimChat, person: SimPerson): string {
    return chat.lidGroup && person.lid ? person.lid : person.pn;
  }

  /** Chat index for a chat JID in either of its forms (LID or phone number). */
  chatIndexOf(jid: string): number | undefined {
    if (!this.jidIndex) {
      const index = new Map<string, number>();
      for (const chat of this.chats) {
        index.set(chat.jid, chat.index);
        if (chat.peer) {
          index.set(chat.peer.pn, chat.index);
          if (chat.peer.lid) index.set(chat.peer.lid, chat.index);
        }
      }
      this.jidIndex = index;
    }
    return this.jidIndex.get(jid);
  }

  timestamp(c: number, i: number): number {
    const chat = this.chatAt(c);
    const h = fmix32(fmix32((this.base[1] as number) ^ fmix32(c + 0x3c6ef372)) ^ fmix32(i + 0x1b873593));
    return chat.lastTs - i * chat.gap - Math.floor(((h / 4294967296) * chat.gap) / 2);
  }

  header(c: number, i: number): MessageHeader {
    return this.headerWith(Rng.derive(this.base, DOMAIN.message, c, i), c, i);
  }

  /**
   * Message `i` of chat `c`: a `proto.WebMessageInfo` exactly as Baileys decodes it from a history
   * upload (class instances, `Long` timestamps and lengths, Buffers).
   */
  message(c: number, i: number, allowQuote = true): WAMessage {
    const chat = this.chatAt(c);
    const rng = Rng.derive(this.base, DOMAIN.message, c, i);
    const h = this.headerWith(rng, c, i);
    const key = new proto.MessageKey({ remoteJid: chat.jid, fromMe: h.fromMe, id: h.id });
    if (chat.kind === 'group' && h.sender) key.participant = this.senderJid(chat, h.sender);

    if (rng.chance(0.012)) {
      // A message deleted for everyone: history keeps only the stub.
      return new proto.WebMessageInfo({
        key,
        messageTimestamp: uint64(h.ts),
        messageStubType: proto.WebMessageInfo.StubType.REVOKE,
      }) as WAMessage;
    }

    const kind: ContentKind = rng.weighted(CONTENT_WEIGHTS);
    let quote: { id: string; participant: string; text: string } | undefined;
    if (allowQuote && kind === 'extendedText' && rng.chance(0.6) && i + 1 < this.depth) {
      const j = Math.min(this.depth - 1, i + rng.int(1, 3));
      const quoted = this.message(c, j, false);
      const qh = this.header(c, j);
      const participant = qh.fromMe ? this.identity.jid : qh.sender ? this.senderJid(chat, qh.sender) : chat.jid;
      quote = { id: qh.id, participant, text: previewText(quoted.message) || '…' };
    }
    const content = wrapEphemeral(buildContent(rng, kind, { ts: h.ts, expiration: chat.expiration, quote }), chat.expiration);

    const msg = new proto.WebMessageInfo({ key, message: content, messageTimestamp: uint64(h.ts) });
    if (h.fromMe) {
      const isVoice = kind === 'audio' && content.audioMessage?.ptt === true;
      const status = i < 3 ? rng.pick([STATUS.SERVER_ACK, STATUS.DELIVERY_ACK, STATUS.READ]) : isVoice ? STATUS.PLAYED : STATUS.READ;
      msg.status = status;
      if (chat.peer && status >= STATUS.DELIVERY_ACK) {
        // Receipts name the peer by phone number: Baileys learns the PN of a LID chat from them.
        msg.userReceipt = [
          new proto.UserReceipt({
            userJid: chat.peer.pn,
            receiptTimestamp: int64(h.ts + rng.int(1, 600)),
            ...(status >= STATUS.READ ? { readTimestamp: int64(h.ts + rng.int(600, 7200)) } : {}),
          }),
        ];
      }
    } else {
      const speaker = h.sender ?? chat.peer;
      if (speaker && rng.chance(chat.kind === 'group' ? 0.6 : 0.15)) msg.pushName = speaker.pushName;
    }
    return msg as WAMessage;
  }

  /**
   * The first index whose message is strictly older than (ts, id) — WhatsApp's order: time, then id.
   * Returns `depth` when there is none.
   */
  firstOlder(c: number, anchorTs: number, anchorId: string): number {
    let lo = 0;
    let hi = this.depth;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const ts = this.timestamp(c, mid);
      const older = ts < anchorTs || (ts === anchorTs && this.header(c, mid).id < anchorId);
      if (older) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The chat as a history-sync `Conversation` (a proto instance), without messages. */
  conversation(c: number): proto.Conversation {
    const chat = this.chatAt(c);
    const conv = new proto.Conversation({
      id: chat.jid,
      conversationTimestamp: uint64(chat.lastTs),
      ...(chat.unreadCount > 0 ? { unreadCount: chat.unreadCount } : {}),
      ...(chat.archived ? { archived: true } : {}),
      ...(chat.pinned ? { pinned: chat.lastTs } : {}),
    });
    if (chat.expiration > 0) {
      conv.ephemeralExpiration = chat.expiration;
      conv.ephemeralSettingTimestamp = int64(chat.lastTs - 30 * 86_400);
    }
    if (chat.peer) {
      if (chat.peer.saved) conv.name = chat.peer.name;
      if (chat.kind === 'lid' && !chat.pnHidden) conv.pnJid = chat.peer.pn;
      if (chat.kind === 'pn' && chat.peer.lid) conv.lidJid = chat.peer.lid;
    } else {
      conv.name = chat.subject;
      const Rank = proto.GroupParticipant.Rank;
      conv.participant = [
        new proto.GroupParticipant({
          userJid: chat.lidGroup ? this.identity.lidJid : this.identity.jid,
          rank: chat.ownAdmin ? Rank.ADMIN : Rank.REGULAR,
        }),
        ...chat.members.map(
          (m, k) => new proto.GroupParticipant({ userJid: this.senderJid(chat, m), rank: k === 0 ? Rank.SUPERADMIN : Rank.REGULAR }),
        ),
      ];
    }
    return conv;
  }

  /** LID↔PN pairs the phone states alongside a chat's history. */
  pairsOf(c: number): proto.PhoneNumberToLIDMapping[] {
    const chat = this.chatAt(c);
    const out: proto.PhoneNumberToLIDMapping[] = [];
    const pair = (pnJid: string, lidJid: string) => out.push(new proto.PhoneNumberToLIDMapping({ pnJid, lidJid }));
    if (chat.peer?.lid && !chat.pnHidden) pair(chat.peer.pn, chat.peer.lid);
    if (chat.lidGroup) for (const m of chat.members) if (m.lid) pair(m.pn, m.lid);
    return out;
  }

  /** Push names of every person in the world, under the JID they write from. */
  pushnames(): proto.Pushname[] {
    const out = new Map<string, proto.Pushname>();
    for (const chat of this.chats) {
      if (chat.peer) out.set(chat.jid, new proto.Pushname({ id: chat.jid, pushname: chat.peer.pushName }));
      for (const m of chat.members) {
        const id = this.senderJid(chat, m);
        out.set(id, new proto.Pushname({ id, pushname: m.pushName }));
      }
    }
    return [...out.values()];
  }

  chatAt(c: number): SimChat {
    const chat = this.chats[c];
    if (!chat) throw new RangeError(`no chat ${c}`);
    return chat;
  }

  private headerWith(rng: Rng, c: number, i: number): MessageHeader {
    const chat = this.chatAt(c);
    const fromMe = rng.chance(0.35);
    const sender = chat.kind === 'group' && !fromMe ? rng.pick(chat.members) : null;
    const style: IdStyle = fromMe ? (rng.chance(0.1) ? 'web' : this.identity.idStyle) : ((sender ?? chat.peer)?.idStyle ?? 'android');
    const [hi, lo] = permute64(this.idKey, c, i);
    const core = hex32(hi) + hex32(lo);
    // WhatsApp id shapes per sending client: web `3EB0…` (22), iOS `3A…` (20), Android 32 hex digits.
    const id = style === 'web' ? `3EB0${core}${rng.hex(2)}` : style === 'ios' ? `3A${core}${rng.hex(2)}` : `${core}${rng.hex(16)}`;
    return { id, ts: this.timestamp(c, i), fromMe, sender };
  }

  private makeIdentity(ownJid: string | undefined, ownName: string | undefined): SimIdentity {
    const rng = Rng.derive(this.base, DOMAIN.identity);
    let phone: string;
    let device: number;
    if (ownJid) {
      const m = /^(\d+)(?::(\d+))?@s\.whatsapp\.net$/.exec(ownJid);
      if (!m) throw new RangeError(`ownJid must look like <phone>[:device]@s.whatsapp.net, got ${ownJid}`);
      phone = m[1] as string;
      device = m[2] !== undefined ? Number(m[2]) : rng.int(2, 40);
    } else {
      // A tail no generated person can have (persons use indices below 1e8 - 1).
      phone = `407${tail8(99_999_999, 73_939_133, this.tailB)}`;
      device = rng.int(2, 40);
    }
    const lidUser = `${rng.int(1, 9)}${rng.digits(5)}${tail8(99_999_999, 91_230_827, this.tailB)}`;
    const name = ownName ?? `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
    return {
      phone,
      device,
      id: `${phone}:${device}@s.whatsapp.net`,
      lid: `${lidUser}:${device}@lid`,
      jid: `${phone}@s.whatsapp.net`,
      lidJid: `${lidUser}@lid`,
      name,
      idStyle: rng.chance(0.7) ? 'android' : 'ios',
    };
  }

  private makePerson(p: number): SimPerson {
    const rng = Rng.derive(this.base, DOMAIN.person, p);
    const [cc, len] = rng.pick(COUNTRY_CODES);
    const pn = `${cc}${rng.int(1, 9)}${rng.digits(Math.max(0, len - 9))}${tail8(p, 73_939_133, this.tailB)}@s.whatsapp.net`;
    const lid = rng.chance(0.92) ? `${rng.int(1, 9)}${rng.digits(5)}${tail8(p, 91_230_827, this.tailB)}@lid` : null;
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const r = rng.next();
    const pushName = r < 0.7 ? first : r < 0.85 ? `${first} ${last}` : rng.pick(NICKNAMES);
    return { index: p, pn, lid, name: `${first} ${last}`, pushName, saved: rng.chance(0.7), idStyle: rng.chance(0.7) ? 'android' : 'ios' };
  }

  private makeChat(c: number, total: number): SimChat {
    const rng = Rng.derive(this.base, DOMAIN.chat, c);
    const nowS = Math.floor(this.nowMs / 1000);
    const lastTs = nowS - Math.floor(CHAT_SPREAD_S * (c / Math.max(1, total)) ** 2) - rng.int(60, 5400);
    const gapCap = Math.max(1, Math.floor(MAX_CHAT_SPAN_S / Math.max(1, this.depth)));
    const gap = Math.max(1, Math.min(gapCap, Math.floor(Math.exp(Math.log(20) + rng.next() * Math.log(28_800 / 20)))));
    const expiration = rng.chance(0.08) ? rng.pick([86_400, 604_800, 7_776_000]) : 0;
    const common = {
      index: c,
      expiration,
      lastTs,
      gap,
      unreadCount: c < 8 && rng.chance(0.4) ? rng.int(1, 6) : 0,
      archived: c > total / 2 && rng.chance(0.05),
      pinned: c < 4 && rng.chance(0.3),
    };
    if (total > 1 && rng.chance(0.12)) {
      const size = rng.int(3, 14);
      const members: SimPerson[] = [];
      const seen = new Set<number>();
      for (let k = 0; k < size * 2 && members.length < size; k++) {
        const p = rng.chance(0.6) ? rng.int(0, total - 1) : total + rng.int(0, STRANGERS - 1);
        if (p === c || seen.has(p)) continue;
        seen.add(p);
        members.push(this.person(p));
      }
      if (members.length === 0) members.push(this.person(total));
      const [hi] = permute64(this.idKey, 0x7fffffff, c);
      return {
        ...common,
        jid: `120363${String(hi % 10_000).padStart(4, '0')}${tail8(c, 61_546_379, this.tailB)}@g.us`,
        kind: 'group',
        peer: null,
        pnHidden: false,
        subject: `${rng.pick(GROUP_SUBJECTS)}${rng.chance(0.2) ? ` ${rng.int(2, 9)}` : ''}`,
        members,
        lidGroup: rng.chance(0.7),
        ownAdmin: rng.chance(0.25),
      };
    }
    const peer = this.person(c);
    const byLid = peer.lid !== null && rng.chance(0.45);
    return {
      ...common,
      jid: byLid ? (peer.lid as string) : peer.pn,
      kind: byLid ? 'lid' : 'pn',
      peer,
      pnHidden: byLid && rng.chance(0.12),
      subject: null,
      members: [],
      lidGroup: false,
      ownAdmin: false,
    };
  }
}
