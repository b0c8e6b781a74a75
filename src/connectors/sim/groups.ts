import {
  WAMessageAddressingMode,
  WAMessageStubType,
  type proto,
  type GroupMetadata,
  type GroupParticipant,
  type ParticipantAction,
  type WAMessage,
} from '@whiskeysockets/baileys';
import { randomMessageId } from './history-sync.js';
import type { Emit } from './realtime.js';
import type { Rng } from './rng.js';
import { GROUP_SUBJECTS } from './vocab.js';
import type { SimChat, SimPerson, SimWorld } from './world.js';

type Role = 'admin' | 'superadmin' | null;
interface Member {
  person: SimPerson | 'me';
  admin: Role;
}

/**
 * The simulated phone's groups as they change after the history: subjects and rosters start as the
 * world generates them and change with live group events (a new subject, members added, removed,
 * promoted, demoted). Kept per account across connections, like the phone's own state, so a group
 * metadata fetch after a change returns the changed roster.
 */
export class SimGroups {
  private readonly subjects = new Map<number, string>();
  private readonly rosters = new Map<number, Member[]>();

  constructor(private readonly world: SimWorld) {}

  /** Every group chat's metadata, as Baileys' `groupFetchAllParticipating` answers it. */
  metadata(): Record<string, GroupMetadata> {
    const out: Record<string, GroupMetadata> = {};
    for (const chat of this.world.chats) if (chat.kind === 'group') out[chat.jid] = this.metadataOf(chat);
    return out;
  }

  metadataOf(chat: SimChat): GroupMetadata {
    const roster = this.roster(chat);
    return {
      id: chat.jid,
      subject: this.subjects.get(chat.index) ?? chat.subject ?? '',
      owner: undefined,
      addressingMode: chat.lidGroup ? WAMessageAddressingMode.LID : WAMessageAddressingMode.PN,
      creation: chat.lastTs - 400 * 86_400,
      size: roster.length,
      participants: roster.map((m) => this.participant(chat, m)),
      ...(chat.expiration > 0 ? { ephemeralDuration: chat.expiration } : {}),
    };
  }

  /**
   * One live group event in a random group, emitted as Baileys emits it: the stub message it upserts
   * for the notification, then `group-participants.update` or `groups.update` (+ the chat's new name).
   * Returns false when the world has no group.
   */
  emitRandomChange(emit: Emit, rng: Rng, nowSec: number): boolean {
    const groups = this.world.chats.filter((c) => c.kind === 'group');
    if (groups.length === 0) return false;
    const chat = rng.pick(groups);
    const roster = this.roster(chat);
    const others = roster.filter((m) => m.person !== 'me');
    const author = others.find((m) => m.admin !== null) ?? others[0];
    const authorJid = author ? this.jidOf(chat, author.person) : this.jidOf(chat, 'me');
    const r = rng.next();
    if (r < 0.3 || others.length < 2) {
      const subject = `${rng.pick(GROUP_SUBJECTS)} ${rng.int(2, 99)}`;
      this.subjects.set(chat.index, subject);
      emit('messages.upsert', {
        messages: [stub(chat, authorJid, WAMessageStubType.GROUP_CHANGE_SUBJECT, [subject], rng, nowSec)],
        type: 'notify',
      });
      emit('groups.update', [{ id: chat.jid, subject, author: authorJid }]);
      emit('chats.update', [{ id: chat.jid, name: subject }]);
      return true;
    }
    let action: ParticipantAction;
    let member: Member;
    if (r < 0.6) {
      action = 'add';
      const taken = new Set(roster.map((m) => (m.person === 'me' ? -1 : m.person.index)));
      let p = rng.int(0, this.world.chats.length + 199);
      while (taken.has(p)) p = (p + 1) % (this.world.chats.length + 200);
      member = { person: this.world.person(p), admin: null };
      roster.push(member);
    } else if (r < 0.8) {
      action = 'remove';
      const removable = others.filter((m) => m !== author);
      member = rng.pick(removable.length > 0 ? removable : others);
      roster.splice(roster.indexOf(member), 1);
    } else {
      // The creator (superadmin) keeps their role; anyone else is promoted or demoted.
      const candidates = others.filter((m) => m.admin !== 'superadmin');
      member = candidates.length > 0 ? rng.pick(candidates) : rng.pick(others);
      action = member.admin === null ? 'promote' : 'demote';
      if (member.admin !== 'superadmin') member.admin = action === 'promote' ? 'admin' : null;
    }
    const participant = this.participant(chat, member);
    const stubType = {
      add: WAMessageStubType.GROUP_PARTICIPANT_ADD,
      remove: WAMessageStubType.GROUP_PARTICIPANT_REMOVE,
      promote: WAMessageStubType.GROUP_PARTICIPANT_PROMOTE,
      demote: WAMessageStubType.GROUP_PARTICIPANT_DEMOTE,
      modify: WAMessageStubType.GROUP_PARTICIPANT_CHANGE_NUMBER,
    }[action];
    emit('messages.upsert', { messages: [stub(chat, authorJid, stubType, [JSON.stringify(participant)], rng, nowSec)], type: 'notify' });
    emit('group-participants.update', { id: chat.jid, author: authorJid, participants: [participant], action });
    return true;
  }

  private roster(chat: SimChat): Member[] {
    let roster = this.rosters.get(chat.index);
    if (!roster) {
      roster = [
        { person: 'me', admin: chat.ownAdmin ? 'admin' : null },
        ...chat.members.map((p, k): Member => ({ person: p, admin: k === 0 ? 'superadmin' : null })),
      ];
      this.rosters.set(chat.index, roster);
    }
    return roster;
  }

  private jidOf(chat: SimChat, person: SimPerson | 'me'): string {
    if (person === 'me') return chat.lidGroup ? this.world.identity.lidJid : this.world.identity.jid;
    return this.world.senderJid(chat, person);
  }

  /** As Baileys' `extractGroupMetadata` gives it: `id` as the group addresses the member, the other form alongside. */
  private participant(chat: SimChat, m: Member): GroupParticipant {
    const id = this.jidOf(chat, m.person);
    const pn = m.person === 'me' ? this.world.identity.jid : m.person.pn;
    const lid = m.person === 'me' ? this.world.identity.lidJid : m.person.lid;
    return {
      id,
      ...(id.endsWith('@lid') ? { phoneNumber: pn } : lid ? { lid } : {}),
      admin: m.admin,
    };
  }
}

function stub(chat: SimChat, author: string, type: proto.WebMessageInfo.StubType, params: string[], rng: Rng, nowSec: number): WAMessage {
  return {
    key: { remoteJid: chat.jid, fromMe: false, id: randomMessageId(rng, 'android'), participant: author },
    messageTimestamp: nowSec,
    messageStubType: type,
    messageStubParameters: params,
  };
}
