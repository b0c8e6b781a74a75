import { isLidUser, jidNormalizedUser, proto, toNumber, type WAMessage } from '@whiskeysockets/baileys';

/** LID ↔ phone-number pairs the phone knows, for matching a chat asked for in either form. */
export class LidPnPairs {
  private readonly other = new Map<string, string>();

  learn(lid: string | null | undefined, pn: string | null | undefined): void {
    if (!lid || !pn) return;
    const l = jidNormalizedUser(lid);
    const p = jidNormalizedUser(pn);
    if (!l || !p || l === p) return;
    this.other.set(l, p);
    this.other.set(p, l);
  }

  /** Learns from a JID and its alternative form, in whichever order they come. */
  learnEither(jid: string | null | undefined, alt: string | null | undefined): void {
    if (!jid || !alt) return;
    if (isLidUser(jid)) this.learn(jid, alt);
    else if (isLidUser(alt)) this.learn(alt, jid);
  }

  alternate(jid: string): string | undefined {
    return this.other.get(jidNormalizedUser(jid) || jid);
  }

  get size(): number {
    return this.other.size / 2;
  }
}

export interface ArchivedMessage {
  ts: number;
  id: string;
  /** A plain `WebMessageInfo` snapshot (proto fields only, as a history upload would carry). */
  msg: proto.IWebMessageInfo;
}

/** WhatsApp's order: time, then id. */
export function compareAge(a: { ts: number; id: string }, b: { ts: number; id: string }): number {
  return a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Messages of each chat the simulated phone keeps by default (`WA_SIM_KEEP_PER_CHAT`). */
export const DEFAULT_KEEP_PER_CHAT = 200;

/**
 * Messages the phone holds beyond the generated world: a scenario's archive lines, and what arrived
 * or was sent while connected. Kept per chat JID in ascending age; snapshots are taken on insert so
 * later changes by consumers to the emitted objects cannot leak into a backfill.
 *
 * Only the newest `keepPerChat` of each chat are kept (0 = all). A real phone keeps its messages on
 * its own storage; this one lives in the worker that runs the account, so keeping every live message
 * forever made a long sim run's memory grow with every message (about 550 bytes of heap each) and
 * counted the phone's storage as wasync's. A backfill reaching past the kept ones finds no more, as on a phone that deleted
 * its oldest messages.
 */
export class MessageArchive {
  private readonly byChat = new Map<string, ArchivedMessage[]>();
  private readonly ids = new Set<string>();
  private readonly keepPerChat: number;

  constructor(opts: { keepPerChat?: number } = {}) {
    const keep = opts.keepPerChat ?? DEFAULT_KEEP_PER_CHAT;
    if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`keepPerChat must be a whole number ≥ 0, got ${keep}`);
    this.keepPerChat = keep;
  }

  add(message: WAMessage): void {
    const jid = message.key.remoteJid;
    const id = message.key.id;
    if (!jid || !id) return;
    const uid = `${jid}/${id}`;
    if (this.ids.has(uid)) return;
    const ts = toNumber(message.messageTimestamp ?? 0);
    let list = this.byChat.get(jid);
    // Full, and older than everything kept: it would be dropped at once.
    if (list && this.keepPerChat > 0 && list.length >= this.keepPerChat && compareAge({ ts, id }, list[0] as ArchivedMessage) < 0) return;
    this.ids.add(uid);
    const entry: ArchivedMessage = {
      ts,
      id,
      msg: proto.WebMessageInfo.toObject(proto.WebMessageInfo.fromObject(message)),
    };
    if (!list) {
      list = [];
      this.byChat.set(jid, list);
    }
    // Live traffic arrives in order: appending is the common case.
    let at = list.length;
    while (at > 0 && compareAge(list[at - 1] as ArchivedMessage, entry) > 0) at--;
    list.splice(at, 0, entry);
    if (this.keepPerChat > 0 && list.length > this.keepPerChat) {
      // Live traffic appends one at a time, so this drops one: a shift of `keepPerChat` pointers.
      for (const dropped of list.splice(0, list.length - this.keepPerChat)) this.ids.delete(`${jid}/${dropped.id}`);
    }
  }

  /** Up to `count` messages of `jid` strictly older than the anchor, newest first. */
  olderThan(jid: string, anchor: { ts: number; id: string }, count: number): ArchivedMessage[] {
    const list = this.byChat.get(jid);
    if (!list || count <= 0) return [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareAge(list[mid] as ArchivedMessage, anchor) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: ArchivedMessage[] = [];
    for (let i = lo - 1; i >= 0 && out.length < count; i--) out.push(list[i] as ArchivedMessage);
    return out;
  }

  has(jid: string): boolean {
    return this.byChat.has(jid);
  }

  get size(): number {
    return this.ids.size;
  }
}
