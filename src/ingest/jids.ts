import { jidDecode, jidNormalizedUser } from '@whiskeysockets/baileys';
import type { JidMapping, Mutation } from '../domain/mutations.js';

/**
 * Canonical JIDs. One person is one thread: Baileys 7 addresses many 1:1 chats by LID (`…@lid`) and
 * gives the phone-number JID only sometimes (key alts, chat/contact fields, mapping events). The
 * canonical `clientJid` is the phone-number JID when known, else the LID; a later mapping lets the
 * store fold the LID thread into the PN thread.
 */

/** Read-only view of the LID → PN pairs the caller has learned so far (the caller owns the map). */
export interface JidResolver {
  pnForLid(lid: string): string | undefined;
}

export const STATUS_BROADCAST_JID = 'status@broadcast';

export function mapResolver(map: ReadonlyMap<string, string>): JidResolver {
  return { pnForLid: (lid) => map.get(lid) };
}

/** Applies the `jid-mapping` mutations ingest returned to the caller's map; returns how many changed it. */
export function applyJidMappings(map: Map<string, string>, mutations: readonly Mutation[]): number {
  let changed = 0;
  for (const m of mutations) {
    if (m.kind !== 'jid-mapping' || map.get(m.lid) === m.pn) continue;
    map.set(m.lid, m.pn);
    changed++;
  }
  return changed;
}

export function isPnJid(jid: string): boolean {
  return jid.endsWith('@s.whatsapp.net');
}
export function isLidJid(jid: string): boolean {
  return jid.endsWith('@lid');
}
export function isGroupJid(jid: string): boolean {
  return jid.endsWith('@g.us');
}
export function isStatusBroadcast(jid: string): boolean {
  return jid === STATUS_BROADCAST_JID;
}

/**
 * Strips device and agent (`123:4@s.whatsapp.net` → `123@s.whatsapp.net`), maps the legacy `c.us`
 * server and the hosted servers (`@hosted`, `@hosted.lid`, as Baileys' `cleanMessage` does) to their
 * plain forms. Returns the input itself when it is already normal: this runs for every message, and
 * almost every JID is.
 */
export function normalizeJid(jid: string): string {
  const at = jid.indexOf('@');
  if (at < 0) return jid;
  const colon = jid.indexOf(':');
  const underscore = jid.indexOf('_');
  const plainUser = (colon < 0 || colon > at) && (underscore < 0 || underscore > at);
  if (jid.endsWith('@hosted') || jid.endsWith('@hosted.lid')) {
    const user = jidDecode(jid)?.user ?? '';
    return `${user}@${jid.endsWith('@hosted') ? 's.whatsapp.net' : 'lid'}`;
  }
  if (plainUser && !jid.endsWith('@c.us')) return jid;
  return jidNormalizedUser(jid);
}

/** The canonical form of a user/chat JID given what the resolver knows. */
export function canonicalJid(jid: string, resolver: JidResolver): string {
  const n = normalizeJid(jid);
  if (isLidJid(n)) return resolver.pnForLid(n) ?? n;
  return n;
}

/**
 * A resolver that also learns: pairs seen while mapping one event resolve the rest of that event at
 * once, and each new pair becomes exactly one `jid-mapping` mutation. Pairs the base resolver already
 * holds produce nothing, so steady-state traffic emits no mapping mutations.
 */
export class LearningResolver implements JidResolver {
  readonly mappings: JidMapping[] = [];
  private readonly learned = new Map<string, string>();

  constructor(
    private readonly base: JidResolver,
    private readonly accountId: string,
    /**
     * The account's own PN and LID, when known. A pair linking someone else's LID to our own PN (or
     * the reverse) would merge a contact's thread into our notes-to-self; such pairs are refused.
     */
    private readonly ownJids?: ReadonlySet<string>,
  ) {}

  pnForLid(lid: string): string | undefined {
    return this.learned.get(lid) ?? this.base.pnForLid(lid);
  }

  /**
   * Records a LID ↔ PN pair; either side may carry a device suffix. Returns whether the pair is
   * valid (new or already known); malformed or refused pairs are ignored.
   */
  learn(lid: string | null | undefined, pn: string | null | undefined): boolean {
    if (!lid || !pn) return false;
    const l = normalizeJid(lid);
    const p = normalizeJid(pn);
    if (!isLidJid(l) || !isPnJid(p)) return false;
    if (this.ownJids && this.ownJids.has(l) !== this.ownJids.has(p)) return false;
    if (this.pnForLid(l) === p) return true;
    this.learned.set(l, p);
    this.mappings.push({ kind: 'jid-mapping', accountId: this.accountId, lid: l, pn: p });
    return true;
  }

  /**
   * Learns from a JID and its alternate form (`remoteJid`/`remoteJidAlt`, `participant`/`participantAlt`,
   * `id`/`pnJid`…), in either order.
   */
  learnPair(jid: string | null | undefined, alt: string | null | undefined): boolean {
    if (!jid || !alt) return false;
    if (jid.endsWith('@lid') || jid.endsWith('@hosted.lid')) return this.learn(jid, alt);
    if (alt.endsWith('@lid') || alt.endsWith('@hosted.lid')) return this.learn(alt, jid);
    return false;
  }
}
