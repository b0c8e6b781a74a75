import type {
  GroupParticipantsUpdate,
  GroupRosterUpdate,
  MessageEdit,
  MessageRevoke,
  MessageUpsert,
  Mutation,
  StatusUpdate,
  ThreadNameUpdate,
} from '../domain/mutations.js';
import { DISPLAY_NAME_RANK, statusRank } from '../domain/records.js';
import type { SkipReason } from './content.js';
import type { LearningResolver } from './jids.js';

/** What mapping one Baileys event yields. `total` counts the event's items (messages for message events). */
export interface IngestBatch {
  mutations: Mutation[];
  total: number;
  skipped: number;
  skipReasons: Record<string, number>;
}

/**
 * Gathers one event's mutations. The batch writer coalesces threads by JID (`coalescingKey`) and the
 * store applies receipts, edits and revokes of one message id in order, so two thread names (or two
 * receipts) for the same key in one event would meet there with no rule for which wins. They are reduced here, with
 * the domain's rules: the best-ranked name (newest on ties), the furthest status (earliest time on
 * ties), the latest edit, the first revoke.
 *
 * Output order: mappings first, then messages, names, group rosters and participant updates (in
 * arrival order: an update applies to the roster before it), and finally statuses/edits/revokes. The order
 * does not decide how the store applies a batch: `applyMutations` sorts every batch by kind and
 * applies mappings last, after the batch's messages (store/port.ts). It matters when the batch writer
 * cuts one event across two flushes: a pairing is then stored no later than the messages this event
 * already canonicalised with it, and a receipt no earlier than the message it may refer to.
 */
export class MutationCollector {
  total = 0;
  skipped = 0;
  readonly skipReasons: Record<string, number> = {};
  private readonly messages: MessageUpsert[] = [];
  private readonly threads = new Map<string, { m: ThreadNameUpdate; at: number }>();
  private readonly statuses = new Map<string, StatusUpdate>();
  private readonly edits = new Map<string, MessageEdit>();
  private readonly revokes = new Map<string, MessageRevoke>();
  private readonly groups: Array<GroupRosterUpdate | GroupParticipantsUpdate> = [];

  constructor(readonly resolver: LearningResolver) {}

  skip(reason: SkipReason): void {
    this.skipped++;
    this.skipReasons[reason] = (this.skipReasons[reason] ?? 0) + 1;
  }

  message(m: MessageUpsert): void {
    this.messages.push(m);
  }

  /** `at` orders equal-rank names: the one seen with the newest message wins. */
  thread(m: ThreadNameUpdate, at: number): void {
    const prev = this.threads.get(m.clientJid);
    if (prev) {
      const a = DISPLAY_NAME_RANK[m.source];
      const b = DISPLAY_NAME_RANK[prev.m.source];
      if (a < b || (a === b && at < prev.at)) return;
    }
    this.threads.set(m.clientJid, { m, at });
  }

  group(m: GroupRosterUpdate | GroupParticipantsUpdate): void {
    this.groups.push(m);
  }

  status(m: StatusUpdate): void {
    const prev = this.statuses.get(m.messageId);
    if (prev) {
      const a = statusRank(m.status);
      const b = statusRank(prev.status);
      if (a < b || (a === b && m.at >= prev.at)) {
        if (prev.clientJid === null && m.clientJid !== null) prev.clientJid = m.clientJid;
        return;
      }
      if (m.clientJid === null) m.clientJid = prev.clientJid;
    }
    this.statuses.set(m.messageId, m);
  }

  edit(m: MessageEdit): void {
    const prev = this.edits.get(m.messageId);
    if (prev && prev.editedAt > m.editedAt) return;
    this.edits.set(m.messageId, m);
  }

  revoke(m: MessageRevoke): void {
    const prev = this.revokes.get(m.messageId);
    if (prev && prev.revokedAt <= m.revokedAt) return;
    this.revokes.set(m.messageId, m);
  }

  finish(): IngestBatch {
    const out: Mutation[] = [];
    for (const m of this.resolver.mappings) out.push(m);
    for (const m of this.messages) out.push(m);
    for (const { m } of this.threads.values()) out.push(m);
    for (const m of this.groups) out.push(m);
    for (const m of this.statuses.values()) out.push(m);
    for (const m of this.edits.values()) out.push(m);
    for (const m of this.revokes.values()) out.push(m);
    return { mutations: out, total: this.total, skipped: this.skipped, skipReasons: this.skipReasons };
  }
}
