import type { DocumentSnapshot, Firestore } from 'firebase-admin/firestore';
import { changedMessageFields, changedThreadFields, loggedMessage, type ChangeEvent } from '../../domain/change-events.js';
import { StoreError } from '../../domain/errors.js';
import {
  applyGroupMutation,
  applyStatus,
  isNewerThan,
  mergeLidThread,
  mergeMessage,
  newThread,
  previewOf,
  withSenderName,
} from '../../domain/merge.js';
import type {
  GroupParticipantsUpdate,
  GroupRosterUpdate,
  JidMapping,
  MediaJobEnqueue,
  MessageEdit,
  MessageRevoke,
  Mutation,
  StatusUpdate,
  ThreadNameUpdate,
} from '../../domain/mutations.js';
import { DISPLAY_NAME_RANK, MEDIA_ARCHIVE_FIELDS, type MessageRecord, type ThreadRecord } from '../../domain/records.js';
import { threadIdOf } from '../../domain/thread-id.js';
import type { Logger } from '../../logging/logger.js';
import { partitionMutations, type PartitionedMutations } from '../partition.js';
import { emptyApplyResult, type ApplyResult } from '../port.js';
import {
  MAX_DOCUMENT_BYTES,
  estimateDocumentBytes,
  type ChangeLogWriter,
  type Committer,
  type LoggedGroup,
  type WriteOp,
} from './batching.js';
import {
  docToMessage,
  docToPending,
  docToThread,
  messageToDoc,
  pendingToDoc,
  sameMessage,
  threadToDoc,
  toTimestamp,
  type MessageIndexDoc,
  type PendingReceipt,
} from './documents.js';
import { assertDocId, isValidDocId } from './paths.js';
import { mediaJobRef, newJobDoc } from './media-queue.js';
import { getAllByPath, type Refs } from './refs.js';

/**
 * `applyMutations` on Firestore: read everything the batch needs in one round trip (two or three in
 * rare cases), apply the mutations in memory with the domain's merge rules and in the port's order
 * (names, messages, receipts, edits, revokes, JID mappings), then write only what changed.
 *
 * Reading first and writing the final state means each thread document is written at most once per
 * batch (Firestore sustains about one write per second per document), replays cost reads but no
 * writes, and the in-batch semantics (a receipt before its message, a mapping after the LID
 * messages it moves) are the same as SQLite's single transaction.
 *
 * What cannot be the same: a batch of more than 500 writes spans several commits, so a failure
 * part-way leaves a prefix written. Commits are ordered so that every prefix is consistent
 * (a message and its index entry share a commit; thread summaries come last), and every write is
 * idempotent, so the caller's retry of the whole batch converges to the same end state.
 */

export interface ApplyContext {
  db: Firestore;
  refs: Refs;
  committer: Committer;
  /** The change log the commits append to; null writes none (benchmarks measure its cost). */
  log: ChangeLogWriter | null;
  now: number;
  logger?: Logger;
}

interface Located {
  record: MessageRecord;
  threadId: string;
}

interface MessageSlot {
  id: string;
  /** As stored before this batch (null: not stored). */
  loaded: Located | null;
  /** The working value (null: unknown to the store and not inserted by this batch). */
  current: Located | null;
  /** The index entry that exists in Firestore, and the thread it names. */
  index: { direction: 'inbound' | 'outbound'; threadId: string | null } | null;
  pendingLoaded: PendingReceipt | null;
  pendingCurrent: PendingReceipt | null;
}

interface ThreadSlot {
  loaded: ThreadRecord | null;
  current: ThreadRecord | null;
  dirty: boolean;
}

export async function applyMutationsFirestore(ctx: ApplyContext, accountId: string, mutations: readonly Mutation[]): Promise<ApplyResult> {
  const result = emptyApplyResult();
  if (mutations.length === 0) return result;
  const p = partition(accountId, mutations);
  const ws = new Workspace(ctx, accountId);
  await ws.load(p);

  for (const m of p.names) ws.applyName(m);
  for (const m of p.groups) ws.applyGroup(m);
  if (p.messages.length > 0) ws.applyMessages(p.messages, result);
  ws.applyMediaJobs(p.mediaJobs, result);
  for (const m of p.statuses) ws.applyReceipt(m, result);
  for (const m of p.edits) ws.applyEdit(m, result);
  for (const m of p.revokes) ws.applyRevoke(m, result);
  for (const m of p.mappings) await ws.applyMapping(m, result);

  await ws.commit();
  return result;
}

/**
 * Sorts the batch by kind (`partitionMutations`) and validates the whole of it before anything is
 * read: an id Firestore cannot address refuses the batch, so nothing of it is written.
 */
function partition(accountId: string, mutations: readonly Mutation[]): PartitionedMutations {
  assertDocId(accountId, 'account id');
  const thread = (jid: string) => assertDocId(threadIdOf(accountId, jid), 'thread id');
  return partitionMutations(accountId, mutations, (m) => {
    switch (m.kind) {
      case 'thread':
        thread(m.clientJid);
        break;
      case 'message':
        assertDocId(m.record.id, 'message id');
        thread(m.record.clientJid);
        break;
      case 'status':
      case 'edit':
      case 'revoke':
        assertDocId(m.messageId, 'message id');
        if (m.clientJid !== null) thread(m.clientJid);
        break;
      case 'jid-mapping':
        assertDocId(m.lid, 'LID');
        thread(m.lid);
        thread(m.pn);
        break;
      case 'group-roster':
      case 'group-participants':
        thread(m.clientJid);
        break;
      case 'media-job':
        assertDocId(m.messageId, 'message id');
        if (m.clientJid !== null) thread(m.clientJid);
        break;
    }
  });
}

class Workspace {
  private readonly messages = new Map<string, MessageSlot>();
  private readonly threads = new Map<string, ThreadSlot>();
  private readonly mappingWrites = new Map<string, string>();
  /** Media-archive jobs to create, by message id (written in the message's commit). */
  private readonly jobWrites = new Map<string, MediaJobEnqueue>();
  /** Jobs that exist already, among those the batch names. */
  private readonly jobsStored = new Set<string>();
  /** PN thread id → the LID thread merged into it by this batch (the merge's `thread.updated` names it). */
  private readonly mergedFrom = new Map<string, string>();

  constructor(
    private readonly ctx: ApplyContext,
    private readonly accountId: string,
  ) {}

  // ---------------------------------------------------------------- loading

  async load(p: PartitionedMutations): Promise<void> {
    const { refs } = this.ctx;
    const acc = this.accountId;
    /** Message id → threads where it may be stored (the upsert's own thread, a receipt's hint). */
    const candidates = new Map<string, Set<string>>();
    const addCandidate = (id: string, jid: string | null) => {
      let set = candidates.get(id);
      if (!set) {
        set = new Set();
        candidates.set(id, set);
      }
      if (jid !== null) set.add(threadIdOf(acc, jid));
    };
    const pendingIds = new Set<string>();
    const threadIds = new Set<string>();

    for (const m of p.names) threadIds.add(threadIdOf(acc, m.clientJid));
    for (const m of p.groups) threadIds.add(threadIdOf(acc, m.clientJid));
    for (const r of p.messages) {
      addCandidate(r.id, r.clientJid);
      pendingIds.add(r.id);
      threadIds.add(threadIdOf(acc, r.clientJid));
      // The sender's own thread names a group message (withSenderName); an id Firestore cannot address has none.
      const sender = senderThreadId(acc, r);
      if (sender !== null) threadIds.add(sender);
    }
    for (const m of p.statuses) {
      addCandidate(m.messageId, m.clientJid);
      pendingIds.add(m.messageId);
    }
    for (const m of p.edits) {
      addCandidate(m.messageId, m.clientJid);
      if (m.clientJid !== null) threadIds.add(threadIdOf(acc, m.clientJid));
    }
    for (const m of p.revokes) addCandidate(m.messageId, m.clientJid);
    // A job may come in a later batch than its message (a submission cut across flushes): load the message.
    for (const m of p.mediaJobs) addCandidate(m.messageId, m.clientJid);
    for (const m of p.mappings) {
      threadIds.add(threadIdOf(acc, m.lid));
      threadIds.add(threadIdOf(acc, m.pn));
    }

    const first = [];
    for (const [id, threads] of candidates) {
      for (const t of threads) first.push(refs.message(t, id));
      first.push(refs.inboundDedupe(acc, id), refs.outboundIndex(acc, id));
    }
    for (const id of pendingIds) first.push(refs.pendingReceipt(acc, id));
    for (const m of p.mediaJobs) first.push(mediaJobRef(this.ctx.db, acc, m.messageId));
    for (const t of threadIds) first.push(refs.thread(t));
    const snaps = await getAllByPath(this.ctx.db, first);

    for (const t of threadIds) this.addThreadSlot(t, snaps.get(refs.thread(t).path));
    for (const m of p.mediaJobs) if (snaps.get(mediaJobRef(this.ctx.db, acc, m.messageId).path)?.exists) this.jobsStored.add(m.messageId);

    // Second round: messages whose index entry names a thread we did not guess.
    const elsewhere: Array<{ id: string; threadId: string }> = [];
    for (const [id, threads] of candidates) {
      const slot = this.newSlot(id, snaps.get(refs.inboundDedupe(acc, id).path), snaps.get(refs.outboundIndex(acc, id).path));
      if (pendingIds.has(id)) {
        const pending = snaps.get(refs.pendingReceipt(acc, id).path);
        slot.pendingLoaded = pending?.exists ? docToPending(pending.data() ?? {}) : null;
        slot.pendingCurrent = slot.pendingLoaded;
      }
      const preferred = slot.index?.threadId ?? null;
      const order = preferred !== null && threads.has(preferred) ? [preferred, ...threads] : [...threads];
      for (const t of order) {
        const snap = snaps.get(refs.message(t, id).path);
        if (snap?.exists) {
          this.setLoaded(slot, docToMessage(id, snap.data() ?? {}), t);
          break;
        }
      }
      if (slot.loaded === null && preferred !== null && !threads.has(preferred)) elsewhere.push({ id, threadId: preferred });
      this.messages.set(id, slot);
    }
    if (elsewhere.length > 0) {
      const more = await getAllByPath(
        this.ctx.db,
        elsewhere.map((e) => refs.message(e.threadId, e.id)),
      );
      for (const e of elsewhere) {
        const snap = more.get(refs.message(e.threadId, e.id).path);
        if (snap?.exists) this.setLoaded(this.messages.get(e.id)!, docToMessage(e.id, snap.data() ?? {}), e.threadId);
      }
    }

    // Third round (rare): the threads of stored messages that live outside the threads read so far,
    // needed for summaries (upserts) and previews (edits).
    const needThreads = new Set<string>();
    for (const id of [...p.messages.map((r) => r.id), ...p.edits.map((m) => m.messageId)]) {
      const t = this.messages.get(id)?.loaded?.threadId;
      if (t !== undefined && !this.threads.has(t)) needThreads.add(t);
    }
    await this.loadThreads(needThreads);
  }

  private newSlot(id: string, inbound: DocumentSnapshot | undefined, outbound: DocumentSnapshot | undefined): MessageSlot {
    const indexOf = (snap: DocumentSnapshot | undefined, direction: 'inbound' | 'outbound') => {
      if (!snap?.exists) return null;
      const threadId = snap.get('threadId');
      return { direction, threadId: typeof threadId === 'string' ? threadId : null };
    };
    return {
      id,
      loaded: null,
      current: null,
      index: indexOf(inbound, 'inbound') ?? indexOf(outbound, 'outbound'),
      pendingLoaded: null,
      pendingCurrent: null,
    };
  }

  private setLoaded(slot: MessageSlot, record: MessageRecord, threadId: string): void {
    slot.loaded = { record, threadId };
    slot.current = { record, threadId };
  }

  private addThreadSlot(threadId: string, snap: DocumentSnapshot | undefined): void {
    const loaded = snap?.exists ? docToThread(threadId, snap.data() ?? {}) : null;
    this.threads.set(threadId, { loaded, current: loaded, dirty: false });
  }

  private async loadThreads(ids: ReadonlySet<string>): Promise<void> {
    if (ids.size === 0) return;
    const snaps = await getAllByPath(
      this.ctx.db,
      [...ids].map((t) => this.ctx.refs.thread(t)),
    );
    for (const t of ids) this.addThreadSlot(t, snaps.get(this.ctx.refs.thread(t).path));
  }

  private thread(threadId: string): ThreadSlot {
    const slot = this.threads.get(threadId);
    // Loading reads every thread a mutation can touch; a miss here is a bug in `load`, not data.
    if (!slot) throw new StoreError(`internal: thread ${threadId} was not loaded for this batch`);
    return slot;
  }

  private setThread(threadId: string, next: ThreadRecord | null): void {
    const slot = this.thread(threadId);
    slot.current = next;
    slot.dirty = true;
  }

  // ---------------------------------------------------------------- mutations (the port's order)

  applyName(m: ThreadNameUpdate): void {
    const threadId = threadIdOf(this.accountId, m.clientJid);
    const current = this.thread(threadId).current;
    const now = this.ctx.now;
    if (!current) {
      this.setThread(threadId, { ...newThread(this.accountId, m.clientJid, now), displayName: m.displayName, displayNameSource: m.source });
      return;
    }
    const storedRank = current.displayNameSource === null ? 0 : DISPLAY_NAME_RANK[current.displayNameSource];
    if (DISPLAY_NAME_RANK[m.source] < storedRank) return;
    if (current.displayName === m.displayName && current.displayNameSource === m.source) return;
    this.setThread(threadId, { ...current, displayName: m.displayName, displayNameSource: m.source, updatedAt: now });
  }

  applyGroup(m: GroupRosterUpdate | GroupParticipantsUpdate): void {
    const threadId = threadIdOf(this.accountId, m.clientJid);
    const next = applyGroupMutation(this.thread(threadId).current, m, this.ctx.now);
    if (next !== null) this.setThread(threadId, next);
  }

  applyMessages(records: readonly MessageRecord[], result: ApplyResult): void {
    const newestByThread = new Map<string, MessageRecord>();
    for (const incoming of records) {
      const slot = this.messages.get(incoming.id)!;
      const sender = senderThreadId(this.accountId, incoming);
      let record = withSenderName(incoming, sender === null ? null : this.thread(sender).current);
      if (slot.pendingCurrent !== null) {
        record = foldPendingReceipt(incoming, slot.pendingCurrent);
        slot.pendingCurrent = null;
      }
      if (slot.current === null) {
        slot.current = { record, threadId: threadIdOf(this.accountId, record.clientJid) };
        result.inserted++;
        result.insertedIds.push(record.id);
      } else {
        slot.current = { record: mergeMessage(slot.current.record, record), threadId: slot.current.threadId };
        result.merged++;
      }
      const stored = slot.current.record;
      const best = newestByThread.get(slot.current.threadId);
      if (!best || isNewerThan(stored.createdAt, stored.id, { lastMessageAt: best.createdAt, lastMessageId: best.id })) {
        newestByThread.set(slot.current.threadId, stored);
      }
    }
    for (const [threadId, newest] of newestByThread) this.moveThreadSummary(threadId, newest);
  }

  /** Jobs for messages the store holds (or this batch inserts) and that have none yet. */
  applyMediaJobs(jobs: readonly MediaJobEnqueue[], result: ApplyResult): void {
    for (const j of jobs) {
      if (this.jobsStored.has(j.messageId) || this.jobWrites.has(j.messageId)) continue;
      if (this.messages.get(j.messageId)?.current == null) continue;
      this.jobWrites.set(j.messageId, j);
      result.mediaJobsEnqueued++;
    }
  }

  private moveThreadSummary(threadId: string, newest: MessageRecord): void {
    const preview = previewOf(newest);
    const current = this.thread(threadId).current;
    const now = this.ctx.now;
    if (!current) {
      this.setThread(threadId, {
        ...newThread(this.accountId, newest.clientJid, now),
        lastMessageAt: newest.createdAt,
        lastMessagePreview: preview,
        lastMessageId: newest.id,
      });
      return;
    }
    const movesForward = isNewerThan(newest.createdAt, newest.id, current);
    // The summary's own message seen again with content filled in (a stub completed by a later sync).
    const refreshes = current.lastMessageId === newest.id && current.lastMessagePreview !== preview;
    if (movesForward || refreshes) {
      this.setThread(threadId, {
        ...current,
        lastMessageAt: newest.createdAt,
        lastMessagePreview: preview,
        lastMessageId: newest.id,
        updatedAt: now,
      });
    }
  }

  applyReceipt(m: StatusUpdate, result: ApplyResult): void {
    const slot = this.messages.get(m.messageId)!;
    if (slot.current !== null) {
      const record = slot.current.record;
      const next = applyStatus(record, m.status, m.at);
      slot.current = { ...slot.current, record: { ...record, ...next } };
      result.statusesApplied++;
      return;
    }
    // Not stored yet: keep the receipt (status max, first times) until the message arrives.
    const base = slot.pendingCurrent ?? { status: 'queued', deliveredAt: null, readAt: null };
    const next = applyStatus({ ...base, sendError: null }, m.status, m.at);
    slot.pendingCurrent = { status: next.status, deliveredAt: next.deliveredAt, readAt: next.readAt };
    result.statusesDeferred++;
  }

  applyEdit(m: MessageEdit, result: ApplyResult): void {
    const slot = this.messages.get(m.messageId)!;
    if (slot.current === null) return;
    const record = slot.current.record;
    // Edits can be replayed out of order (history sync after realtime): the latest edit wins.
    if (record.editedAt !== null && m.editedAt < record.editedAt) return;
    slot.current = { ...slot.current, record: { ...record, body: m.body, editedAt: m.editedAt } };
    const thread = this.thread(slot.current.threadId).current;
    if (thread && thread.lastMessageId === m.messageId) {
      const preview = previewOf({ body: m.body, messageType: record.messageType });
      if (thread.lastMessagePreview !== preview) {
        this.setThread(thread.id, { ...thread, lastMessagePreview: preview, updatedAt: this.ctx.now });
      }
    }
    result.edits++;
  }

  applyRevoke(m: MessageRevoke, result: ApplyResult): void {
    const slot = this.messages.get(m.messageId)!;
    if (slot.current === null) return;
    const record = slot.current.record;
    slot.current = { ...slot.current, record: { ...record, revokedAt: record.revokedAt ?? m.revokedAt } };
    result.revokes++;
  }

  /**
   * Records the pairing and folds the LID thread into the phone-number thread: its messages move to
   * the PN thread's subcollection (delete + set, in one commit per message, with the index entry
   * repointed), the summaries combine as in SQLite, and the LID thread document is deleted.
   */
  async applyMapping(m: JidMapping, result: ApplyResult): Promise<void> {
    this.mappingWrites.set(m.lid, m.pn);
    if (m.lid === m.pn) return;
    const now = this.ctx.now;
    const lidId = threadIdOf(this.accountId, m.lid);
    const pnId = threadIdOf(this.accountId, m.pn);
    const lid = this.thread(lidId).current;
    const pn = this.thread(pnId).current;

    if (!lid) {
      if (pn && pn.lidJid !== m.lid) this.setThread(pnId, { ...pn, lidJid: m.lid, updatedAt: now });
      return;
    }

    await this.loadThreadMessages(lidId);
    for (const slot of this.messages.values()) {
      if (slot.current?.threadId !== lidId) continue;
      slot.current = { record: { ...slot.current.record, clientJid: m.pn }, threadId: pnId };
    }

    this.setThread(lidId, null);
    this.setThread(pnId, mergeLidThread(pn, lid, m.pn, m.lid, now));
    this.mergedFrom.set(pnId, lidId);
    result.threadsMerged++;
  }

  /**
   * Brings every stored message of a thread into the workspace (with its index entry), so a move
   * covers the messages earlier batches wrote as well as this batch's.
   */
  private async loadThreadMessages(threadId: string): Promise<void> {
    const { refs } = this.ctx;
    const snapshot = await refs.messages(threadId).get();
    const fresh = snapshot.docs.filter((d) => !this.messages.has(d.id));
    if (fresh.length === 0) return;
    const acc = this.accountId;
    const indexes = await getAllByPath(
      this.ctx.db,
      fresh.flatMap((d) => [refs.inboundDedupe(acc, d.id), refs.outboundIndex(acc, d.id)]),
    );
    for (const d of fresh) {
      const slot = this.newSlot(d.id, indexes.get(refs.inboundDedupe(acc, d.id).path), indexes.get(refs.outboundIndex(acc, d.id).path));
      this.setLoaded(slot, docToMessage(d.id, d.data()), threadId);
      this.messages.set(d.id, slot);
    }
  }

  // ---------------------------------------------------------------- writing

  /**
   * Writes the difference between what was loaded and the working state, in three phases: message
   * groups (document, index entry, consumed receipt, old location on a move — one commit each), then
   * receipts kept for later, then thread documents and mapping records.
   */
  async commit(): Promise<void> {
    const { refs, now } = this.ctx;
    const acc = this.accountId;
    const messageGroups: LoggedGroup[] = [];
    const pendingGroups: LoggedGroup[] = [];
    const threadGroups: LoggedGroup[] = [];
    const plain = (ops: WriteOp[]): LoggedGroup => ({ ops, events: [] });

    for (const slot of this.messages.values()) {
      const group: WriteOp[] = [];
      const { loaded, current } = slot;
      if (current !== null) {
        const moved = loaded !== null && loaded.threadId !== current.threadId;
        if (loaded === null || moved || !sameMessage(loaded.record, current.record)) {
          if (moved) group.push({ type: 'delete', ref: refs.message(loaded.threadId, slot.id) });
          const ref = refs.message(current.threadId, slot.id);
          group.push({ type: 'set', ref, data: this.fitMessage(ref.path, current.record, moved), merge: true });
        }
        const direction = current.record.direction;
        const indexRef = direction === 'inbound' ? refs.inboundDedupe(acc, slot.id) : refs.outboundIndex(acc, slot.id);
        if (slot.index === null || slot.index.direction !== direction) {
          const entry: MessageIndexDoc = { accountId: acc, messageId: slot.id, threadId: current.threadId, createdAt: toTimestamp(now) };
          group.push({ type: 'set', ref: indexRef, data: entry, merge: false });
        } else if (slot.index.threadId !== current.threadId) {
          group.push({ type: 'set', ref: indexRef, data: { threadId: current.threadId }, merge: true });
        }
      }
      if (slot.pendingLoaded !== null && slot.pendingCurrent === null) {
        group.push({ type: 'delete', ref: refs.pendingReceipt(acc, slot.id) });
      }
      const job = this.jobWrites.get(slot.id);
      if (job) group.push({ type: 'set', ref: mediaJobRef(this.ctx.db, acc, slot.id), data: newJobDoc(job, now), merge: false });
      const event = messageEvent(slot);
      if (group.length > 0) messageGroups.push({ ops: group, events: event ? [event] : [] });
      if (slot.pendingCurrent !== null && !samePending(slot.pendingLoaded, slot.pendingCurrent)) {
        pendingGroups.push(
          plain([
            {
              type: 'set',
              ref: refs.pendingReceipt(acc, slot.id),
              data: pendingToDoc(acc, slot.id, slot.pendingCurrent, now),
              merge: false,
            },
          ]),
        );
      }
    }

    for (const [threadId, slot] of this.threads) {
      if (!slot.dirty) continue;
      if (slot.current !== null) {
        const event = this.threadEvent(threadId, slot);
        threadGroups.push({
          ops: [{ type: 'set', ref: refs.thread(threadId), data: threadToDoc(slot.current), merge: true }],
          events: event ? [event] : [],
        });
      } else if (slot.loaded !== null) threadGroups.push(plain([{ type: 'delete', ref: refs.thread(threadId) }]));
    }
    for (const [lid, pn] of this.mappingWrites) {
      threadGroups.push(
        plain([
          { type: 'set', ref: refs.lidMapping(acc, lid), data: { accountId: acc, lid, pn, updatedAt: toTimestamp(now) }, merge: false },
        ]),
      );
    }

    await this.ctx.committer.commitLogged(
      'applyMutations',
      [...messageGroups, ...pendingGroups, ...threadGroups],
      this.ctx.log ? { accountId: acc, writer: this.ctx.log } : null,
    );
  }

  /** `thread.updated` for a thread this batch wrote (a deleted one is named by its merge instead). */
  private threadEvent(threadId: string, slot: ThreadSlot): ChangeEvent | null {
    if (slot.current === null) return null;
    const changes = changedThreadFields(slot.loaded, slot.current);
    const mergedFrom = this.mergedFrom.get(threadId) ?? null;
    if (changes.length === 0 && mergedFrom === null) return null;
    return { type: 'thread.updated', data: { thread: slot.current, changes, mergedFrom } };
  }

  /**
   * Firestore refuses documents over 1 MiB. Only `rawMessage` (kept for retries and media) can get
   * that large; losing it is better than losing the message, so it is dropped with a warning.
   */
  private fitMessage(path: string, record: MessageRecord, moved: boolean) {
    const doc = messageToDoc(record);
    // The archive runner's fields are written by `recordMediaArchive` alone: a merge of a record read
    // before the runner wrote them would put the old values back. A message moved to another thread
    // (a LID merge) is a new document, which takes them along.
    if (!moved) for (const field of MEDIA_ARCHIVE_FIELDS) delete doc[field];
    if (doc.rawMessage !== null && estimateDocumentBytes(path, doc) > MAX_DOCUMENT_BYTES - 1024) {
      this.ctx.logger?.warn(
        { messageId: record.id, rawBytes: doc.rawMessage.byteLength },
        'message document over 1 MiB: rawMessage not stored',
      );
      return { ...doc, rawMessage: null };
    }
    return doc;
  }
}

function senderThreadId(accountId: string, r: MessageRecord): string | null {
  if (r.participant === null || r.fromMe || r.senderName !== null) return null;
  const id = threadIdOf(accountId, r.participant);
  return isValidDocId(id) ? id : null;
}

/**
 * `message.created` for a message this batch inserted, `message.updated` for one whose stored fields
 * it changed. A message that only moved with its LID thread logs nothing: the merge's
 * `thread.updated` says all its messages moved.
 */
function messageEvent(slot: MessageSlot): ChangeEvent | null {
  const { loaded, current } = slot;
  if (current === null) return null;
  const message = loggedMessage(current.record);
  if (loaded === null) return { type: 'message.created', data: { threadId: current.threadId, message } };
  let changes = changedMessageFields(loaded.record, current.record);
  if (loaded.threadId !== current.threadId) changes = changes.filter((f) => f !== 'clientJid');
  if (changes.length === 0) return null;
  return { type: 'message.updated', data: { threadId: current.threadId, message, changes } };
}

/**
 * A receipt kept for a message that had not arrived: replayed through `applyStatus` (times first, so
 * each is set once with its own instant), as the SQLite backend does.
 */
function foldPendingReceipt(record: MessageRecord, pending: PendingReceipt): MessageRecord {
  let state: Parameters<typeof applyStatus>[0] = record;
  if (pending.deliveredAt !== null) state = applyStatus(state, 'delivered', pending.deliveredAt);
  if (pending.readAt !== null) state = applyStatus(state, 'read', pending.readAt);
  state = applyStatus(state, pending.status, pending.readAt ?? pending.deliveredAt ?? record.createdAt);
  return { ...record, ...state };
}

function samePending(a: PendingReceipt | null, b: PendingReceipt): boolean {
  return a !== null && a.status === b.status && a.deliveredAt === b.deliveredAt && a.readAt === b.readAt;
}
