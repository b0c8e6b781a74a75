import {
  proto,
  type BaileysEventMap,
  type Chat,
  type GroupMetadata,
  type GroupParticipant as BaileysParticipant,
} from '@whiskeysockets/baileys';
import type { GroupAddressingMode, GroupAdminRole, GroupParticipant } from '../domain/records.js';
import { MutationCollector, type IngestBatch } from './collector.js';
import { isGroupJid, isLidJid, isPnJid, LearningResolver, normalizeJid } from './jids.js';
import type { IngestContext } from './message.js';

/**
 * Groups: the subject as the thread's `displayName` (source `groupSubject`), the roster with roles on
 * the thread (`participants`), kept current by participant updates. Members addressed by LID are
 * resolved to their phone number where the event says it or the account has learned the pairing, and
 * every pairing an event states is learned (a `jid-mapping`), as for messages.
 */

function collector(ctx: IngestContext): MutationCollector {
  return new MutationCollector(new LearningResolver(ctx.resolver, ctx.accountId, ctx.ownJids));
}

/** `groups.upsert`: a group the account joined or created, with its whole metadata. */
export function mapGroupsUpsert(groups: readonly GroupMetadata[], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  c.total = groups.length;
  for (const g of groups) if (!groupMetadata(g, ctx, c)) c.skip('not_a_group');
  return c.finish();
}

/**
 * `groups.update`: a change to a group (a new subject, settings), or the whole metadata when Baileys
 * re-fetched it (`groupFetchAllParticipating`, after a "dirty groups" notification): then it carries
 * the roster too.
 */
export function mapGroupsUpdate(updates: readonly Partial<GroupMetadata>[], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  c.total = updates.length;
  for (const u of updates) {
    const produced = groupMetadata(u, ctx, c);
    if (produced === null) c.skip('not_a_group');
    else if (!produced) c.skip('irrelevant_update');
  }
  return c.finish();
}

/** `group-participants.update`: members added, removed, promoted or demoted (number changes are not tracked). */
export function mapGroupParticipants(data: BaileysEventMap['group-participants.update'], ctx: IngestContext): IngestBatch {
  const c = collector(ctx);
  c.total = 1;
  const jid = groupJidOf(data?.id);
  if (jid === null) {
    c.skip('not_a_group');
    return c.finish();
  }
  const action = data.action;
  if (action !== 'add' && action !== 'remove' && action !== 'promote' && action !== 'demote') {
    c.skip('unsupported_action');
    return c.finish();
  }
  const participants = (data.participants ?? []).flatMap((p) => participantOf(p, c.resolver));
  if (participants.length === 0) {
    c.skip('irrelevant_update');
    return c.finish();
  }
  c.group({ kind: 'group-participants', accountId: ctx.accountId, clientJid: jid, action, participants });
  return c.finish();
}

/**
 * A history chunk's group conversation: its `participant` list (with ranks) is the roster as the phone
 * knows it. The chunk's `name` is handled with the other chat names (source `chatName`, below a live subject).
 */
export function historyGroupRoster(chat: Partial<Chat> | null | undefined, ctx: IngestContext, c: MutationCollector): void {
  const jid = groupJidOf(chat?.id);
  const list = chat?.participant;
  if (jid === null || !Array.isArray(list) || list.length === 0) return;
  const Rank = proto.GroupParticipant.Rank;
  const participants = list.flatMap((p) => {
    if (!p?.userJid) return [];
    const admin: GroupAdminRole | null = p.rank === Rank.SUPERADMIN ? 'superadmin' : p.rank === Rank.ADMIN ? 'admin' : null;
    return participantOf({ id: p.userJid, admin }, c.resolver);
  });
  if (participants.length === 0) return;
  c.group({
    kind: 'group-roster',
    accountId: ctx.accountId,
    clientJid: jid,
    source: 'history',
    participants,
    addressingMode: inferredMode(participants),
  });
}

/** Emits what one metadata object says; returns null when it is no group, false when it says nothing we keep. */
function groupMetadata(g: Partial<GroupMetadata> | null | undefined, ctx: IngestContext, c: MutationCollector): boolean | null {
  const jid = groupJidOf(g?.id);
  if (!g || jid === null) return null;
  let produced = false;
  if (typeof g.subject === 'string' && g.subject.trim() !== '') {
    c.thread({ kind: 'thread', accountId: ctx.accountId, clientJid: jid, displayName: g.subject, source: 'groupSubject' }, ctx.now);
    produced = true;
  }
  if (Array.isArray(g.participants)) {
    const participants = g.participants.flatMap((p) => participantOf(p, c.resolver));
    const mode: GroupAddressingMode | null = g.addressingMode === 'lid' || g.addressingMode === 'pn' ? g.addressingMode : null;
    c.group({
      kind: 'group-roster',
      accountId: ctx.accountId,
      clientJid: jid,
      source: 'metadata',
      participants,
      addressingMode: mode ?? inferredMode(participants),
    });
    produced = true;
  }
  return produced;
}

function groupJidOf(id: string | null | undefined): string | null {
  if (typeof id !== 'string' || id === '') return null;
  const jid = normalizeJid(id);
  return isGroupJid(jid) ? jid : null;
}

/**
 * One member as the roster keeps it: the JID the group addresses them by, their phone number and LID
 * when known (from the event, else from the pairings learned so far), their role. Learns the pair.
 */
function participantOf(p: Partial<BaileysParticipant> | null | undefined, r: LearningResolver): GroupParticipant[] {
  if (!p?.id) return [];
  const jid = normalizeJid(p.id);
  const given = (v: string | null | undefined, is: (j: string) => boolean): string | null => {
    if (!v) return null;
    const n = normalizeJid(v);
    return is(n) ? n : null;
  };
  let phoneNumber: string | null = null;
  let lid: string | null = null;
  if (isLidJid(jid)) {
    lid = jid;
    phoneNumber = given(p.phoneNumber, isPnJid);
    if (phoneNumber) r.learn(lid, phoneNumber);
    phoneNumber ??= r.pnForLid(lid) ?? null;
  } else if (isPnJid(jid)) {
    phoneNumber = jid;
    lid = given(p.lid, isLidJid);
    if (lid) r.learn(lid, phoneNumber);
  } else {
    return [];
  }
  return [{ jid, phoneNumber, lid, admin: adminOf(p) }];
}

function adminOf(p: Partial<BaileysParticipant>): GroupAdminRole | null {
  if (p.admin === 'superadmin' || p.isSuperAdmin) return 'superadmin';
  if (p.admin === 'admin' || p.isAdmin) return 'admin';
  return null;
}

/** A group lists its members the way it addresses them: by LID in a LID-addressed group. */
function inferredMode(participants: readonly GroupParticipant[]): GroupAddressingMode | null {
  if (participants.length === 0) return null;
  return participants.every((p) => isLidJid(p.jid)) ? 'lid' : 'pn';
}
