import {
  DISPLAY_NAME_RANK,
  maxStatus,
  type GroupParticipant,
  type MessageRecord,
  type MessageStatus,
  type ThreadRecord,
} from './records.js';
import type { GroupParticipantsUpdate, GroupRosterUpdate } from './mutations.js';
import { threadIdOf } from './thread-id.js';

/**
 * How a stored message absorbs a second sighting of itself (history sync after realtime, a backfill
 * overlapping a sync, a replay after a crash). Pure, so every backend merges the same way and the
 * result does not depend on arrival order for the fields that matter:
 * - identity and time (`createdAt`, `tsClient`, `tsServer`, `direction`, `syncSource`) keep the first value;
 * - `status` takes the maximum; `deliveredAt`/`readAt`/`syncedAt`/`editedAt`/`revokedAt` keep the first non-null;
 * - content fields fill in when the stored one is empty (a stub later completed), never overwrite otherwise;
 *   edits go through `MessageEdit`, not through a second upsert.
 */
export function mergeMessage(stored: MessageRecord, incoming: MessageRecord): MessageRecord {
  return {
    ...stored,
    body: stored.body !== '' ? stored.body : incoming.body,
    status: maxStatus(stored.status, incoming.status),
    messageType: stored.messageType !== 'other' ? stored.messageType : incoming.messageType,
    contentType: stored.contentType !== '' ? stored.contentType : incoming.contentType,
    mediaType: stored.mediaType ?? incoming.mediaType,
    mediaUrl: stored.mediaUrl ?? incoming.mediaUrl,
    mediaMimetype: stored.mediaMimetype ?? incoming.mediaMimetype,
    mediaFilename: stored.mediaFilename ?? incoming.mediaFilename,
    mediaSize: stored.mediaSize ?? incoming.mediaSize,
    media: stored.media ?? incoming.media,
    participant: stored.participant ?? incoming.participant,
    pushName: stored.pushName ?? incoming.pushName,
    syncType: stored.syncType ?? incoming.syncType,
    syncedAt: stored.syncedAt ?? incoming.syncedAt,
    refMessageId: stored.refMessageId ?? incoming.refMessageId,
    deliveredAt: stored.deliveredAt ?? incoming.deliveredAt,
    readAt: stored.readAt ?? incoming.readAt,
    editedAt: stored.editedAt ?? incoming.editedAt,
    revokedAt: stored.revokedAt ?? incoming.revokedAt,
    // A successful later sighting of an outbound message means the send went through.
    sendError: statusAfterSend(incoming.status) ? null : (stored.sendError ?? incoming.sendError),
    rawMessage: stored.rawMessage ?? incoming.rawMessage,
    senderName: stored.senderName ?? incoming.senderName,
    // The archive runner owns these: a second sighting of the message never changes them.
    mediaArchivedAt: stored.mediaArchivedAt,
    mediaSha256: stored.mediaSha256,
    mediaArchiveKey: stored.mediaArchiveKey,
    mediaArchiveError: stored.mediaArchiveError,
  };
}

function statusAfterSend(status: MessageStatus): boolean {
  return status !== 'queued';
}

/**
 * Apply a receipt: status forward only, `deliveredAt`/`readAt` set once. `read` implies delivered,
 * so a read receipt that arrives first also fills `deliveredAt` (with the read time: the best bound known).
 */
export function applyStatus(
  stored: Pick<MessageRecord, 'status' | 'deliveredAt' | 'readAt' | 'sendError'>,
  status: MessageStatus,
  at: number,
): Pick<MessageRecord, 'status' | 'deliveredAt' | 'readAt' | 'sendError'> {
  const next = maxStatus(stored.status, status);
  let deliveredAt = stored.deliveredAt;
  let readAt = stored.readAt;
  if ((status === 'delivered' || status === 'read') && deliveredAt === null) deliveredAt = at;
  if (status === 'read' && readAt === null) readAt = at;
  const sendError = status === 'queued' ? stored.sendError : null;
  return { status: next, deliveredAt, readAt, sendError };
}

/** Preview text: the first 100 characters (code points, so an emoji is never cut in half). */
export function previewOf(record: Pick<MessageRecord, 'body' | 'messageType'>): string {
  const text = record.body !== '' ? record.body : `[${record.messageType}]`;
  const chars = Array.from(text);
  return chars.length <= 100 ? text : chars.slice(0, 100).join('');
}

/** Thread summaries move forward only: (lastMessageAt, lastMessageId) is compared as a pair. */
export function isNewerThan(
  at: number,
  id: string,
  thread: Pick<ThreadRecord, 'lastMessageAt' | 'lastMessageId'> | null | undefined,
): boolean {
  if (!thread || thread.lastMessageAt === null) return true;
  if (at !== thread.lastMessageAt) return at > thread.lastMessageAt;
  return thread.lastMessageId === null || id > thread.lastMessageId;
}

/** A thread as it is first created: no messages yet, so no summary. */
export function newThread(accountId: string, clientJid: string, now: number): ThreadRecord {
  return {
    id: threadIdOf(accountId, clientJid),
    accountId,
    clientJid,
    displayName: null,
    lastMessageAt: null,
    lastMessagePreview: null,
    lastBackfillAt: null,
    lastMessageId: null,
    lidJid: null,
    displayNameSource: null,
    isGroup: clientJid.endsWith('@g.us'),
    participants: null,
    groupAddressingMode: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The phone-number thread after a person's LID thread is folded into it (both backends): the newer
 * summary wins, the higher-ranked name wins (the phone-number thread's on a tie), the LID stays on the
 * thread as `lidJid`. `pn` is null when the person had no phone-number thread yet.
 */
export function mergeLidThread(pn: ThreadRecord | null, lid: ThreadRecord, pnJid: string, lidJid: string, now: number): ThreadRecord {
  const base = pn ?? { ...newThread(lid.accountId, pnJid, now), createdAt: lid.createdAt };
  const lidIsNewer = lid.lastMessageAt !== null && isNewerThan(lid.lastMessageAt, lid.lastMessageId ?? '', base);
  const lidNameWins =
    lid.displayNameSource !== null &&
    (base.displayNameSource === null || DISPLAY_NAME_RANK[lid.displayNameSource] > DISPLAY_NAME_RANK[base.displayNameSource]);
  return {
    ...base,
    lastMessageAt: lidIsNewer ? lid.lastMessageAt : base.lastMessageAt,
    lastMessagePreview: lidIsNewer ? lid.lastMessagePreview : base.lastMessagePreview,
    lastMessageId: lidIsNewer ? lid.lastMessageId : base.lastMessageId,
    displayName: lidNameWins ? lid.displayName : base.displayName,
    displayNameSource: lidNameWins ? lid.displayNameSource : base.displayNameSource,
    lastBackfillAt: base.lastBackfillAt ?? lid.lastBackfillAt,
    lidJid,
    createdAt: Math.min(base.createdAt, lid.createdAt),
    updatedAt: now,
  };
}

/**
 * A group roster after a participant update (both backends): `add` appends members not there yet
 * (with the role the update states), `remove` drops them, `promote`/`demote` set or clear the admin
 * role. Members are matched by any of their JIDs, so a member listed by LID is found by phone number.
 */
export function applyParticipantsUpdate(roster: readonly GroupParticipant[], m: Pick<GroupParticipantsUpdate, 'action' | 'participants'>) {
  const matches = (a: GroupParticipant, b: GroupParticipant): boolean => {
    const ids = new Set([a.jid, a.phoneNumber, a.lid].filter((x): x is string => x !== null));
    return ids.has(b.jid) || (b.phoneNumber !== null && ids.has(b.phoneNumber)) || (b.lid !== null && ids.has(b.lid));
  };
  const find = (p: GroupParticipant) => roster.findIndex((r) => matches(r, p));
  switch (m.action) {
    case 'add': {
      const out = [...roster];
      for (const p of m.participants) {
        const i = out.findIndex((r) => matches(r, p));
        if (i < 0) out.push(p);
        else out[i] = { ...out[i]!, phoneNumber: out[i]!.phoneNumber ?? p.phoneNumber, lid: out[i]!.lid ?? p.lid };
      }
      return out;
    }
    case 'remove':
      return roster.filter((r) => !m.participants.some((p) => matches(r, p)));
    case 'promote':
    case 'demote': {
      const out = [...roster];
      for (const p of m.participants) {
        const i = find(p);
        if (i < 0) continue;
        const admin = m.action === 'demote' ? null : (p.admin ?? (out[i]!.admin === 'superadmin' ? 'superadmin' : 'admin'));
        out[i] = { ...out[i]!, admin };
      }
      return out;
    }
  }
}

/**
 * Who sent a group message, as the account knows them when it is stored: the saved contact name of
 * the sender's own thread, else the message's push name, else any name that thread has. Own messages
 * and 1:1 messages keep null (`fromMe` and the thread name say it).
 */
export function withSenderName(record: MessageRecord, senderThread: Pick<ThreadRecord, 'displayName' | 'displayNameSource'> | null) {
  if (record.senderName !== null || record.participant === null || record.fromMe) return record;
  const saved = senderThread?.displayNameSource === 'contactName' ? senderThread.displayName : null;
  const name = saved ?? record.pushName ?? senderThread?.displayName ?? null;
  return name === null ? record : { ...record, senderName: name };
}

/**
 * A group thread after a roster or participant update (both backends); null when nothing changes. A
 * roster creates the thread; a participant update needs a known roster (see `GroupParticipantsUpdate`).
 */
export function applyGroupMutation(
  thread: ThreadRecord | null,
  m: GroupRosterUpdate | GroupParticipantsUpdate,
  now: number,
): ThreadRecord | null {
  if (m.kind === 'group-roster') {
    if (m.source === 'history' && thread?.participants) return null;
    const base = thread ?? newThread(m.accountId, m.clientJid, now);
    const mode = m.addressingMode ?? base.groupAddressingMode;
    if (thread && sameRoster(thread.participants, m.participants) && thread.groupAddressingMode === mode) return null;
    return { ...base, participants: m.participants.map((p) => ({ ...p })), groupAddressingMode: mode, updatedAt: now };
  }
  if (!thread?.participants) return null;
  const participants = applyParticipantsUpdate(thread.participants, m);
  if (sameRoster(thread.participants, participants)) return null;
  return { ...thread, participants, updatedAt: now };
}

function sameRoster(a: readonly GroupParticipant[] | null, b: readonly GroupParticipant[] | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
