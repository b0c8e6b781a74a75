import {
  ChangeCollector,
  changedMessageFields,
  changedThreadFields,
  type ChangeEvent,
  type MessageEventRef,
} from '../../domain/change-events.js';
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
  MessageEdit,
  Mutation,
  StatusUpdate,
  ThreadNameUpdate,
} from '../../domain/mutations.js';
import { DISPLAY_NAME_RANK, statusRank, type MessageRecord, type MessageStatus, type ThreadRecord } from '../../domain/records.js';
import { threadIdOf } from '../../domain/thread-id.js';
import { partitionMutations } from '../partition.js';
import { emptyApplyResult, type ApplyResult } from '../port.js';
import { messageValues, parseMessageType, rowToMessage, rowToThread, statusFromRank, threadValues } from './row-mapping.js';
import type { Statements } from './statements.js';
import type { SqliteMediaQueue } from './media-queue.js';

type ReceiptState = Parameters<typeof applyStatus>[0];

/**
 * What one batch changed, for its change-log events, in first-touch order. Messages are logged by
 * reference (SqliteChangeLog resolves them when read), so nothing here keeps or reads them back.
 */
interface Changes {
  collector: ChangeCollector;
}

/**
 * The body of `applyMutations`. Runs inside the caller's `BEGIN IMMEDIATE` transaction and only
 * touches rows of `accountId`. The order (names, messages, receipts, edits, revokes, mappings) is the
 * port's: a receipt in the same batch as its message finds the message, an edit finds the thread
 * summary already moved, and a mapping sees every message of the batch before it moves a LID thread.
 * Returns the change-log events of what it actually changed, messages by reference (the caller
 * appends them in the same transaction): replays that change nothing log nothing.
 */
export function applyMutationsInTxn(
  s: Statements,
  queue: Pick<SqliteMediaQueue, 'enqueue'>,
  accountId: string,
  mutations: readonly Mutation[],
  now: number,
): { result: ApplyResult; events: Array<MessageEventRef | ChangeEvent> } {
  const result = emptyApplyResult();
  const c: Changes = { collector: new ChangeCollector() };
  const p = partitionMutations(accountId, mutations);
  for (const m of p.names) applyThreadName(s, accountId, m, now, c);
  for (const m of p.groups) applyGroup(s, accountId, m, now, c);
  if (p.messages.length > 0) applyMessages(s, accountId, p.messages, now, result, c);
  // In the messages' transaction: a stored media message always has its job (idempotent: INSERT OR IGNORE).
  const jobs = p.mediaJobs.filter((j) => s.messageExists.get(accountId, j.messageId) === 1);
  if (jobs.length > 0) result.mediaJobsEnqueued += queue.enqueue(jobs, now);
  for (const m of p.statuses) applyReceipt(s, accountId, m, result, c);
  for (const m of p.edits) applyEdit(s, accountId, m, now, result, c);
  for (const m of p.revokes) {
    if (s.revokeMessage.run(m.revokedAt, accountId, m.messageId).changes > 0) {
      result.revokes++;
      touched(c, m.messageId, ['revokedAt']);
    }
  }
  for (const m of p.mappings) applyJidMapping(s, accountId, m, now, result, c);
  const events = c.collector.empty
    ? []
    : c.collector.events((threadId) => {
        const row = s.getThread.get(threadId);
        return row ? rowToThread(row) : null;
      });
  return { result, events };
}

/** A message changed after this batch's upsert (or without one). */
function touched(c: Changes, messageId: string, fields: readonly string[]): void {
  c.collector.messageChanged(messageId, fields);
}

function applyThreadName(s: Statements, accountId: string, m: ThreadNameUpdate, now: number, c: Changes): void {
  const threadId = threadIdOf(accountId, m.clientJid);
  const row = s.getThread.get(threadId);
  if (!row) {
    s.insertThread.run(
      ...threadValues({ ...newThread(accountId, m.clientJid, now), displayName: m.displayName, displayNameSource: m.source }),
    );
    c.collector.threadChanged(threadId, ['created']);
    return;
  }
  const storedRank = row.display_name_source === null ? 0 : rankOf(row.display_name_source);
  if (DISPLAY_NAME_RANK[m.source] < storedRank) return;
  if (row.display_name === m.displayName && row.display_name_source === m.source) return;
  s.updateThreadName.run(m.displayName, m.source, now, threadId);
  c.collector.threadChanged(threadId, row.display_name === m.displayName ? ['displayNameSource'] : ['displayName', 'displayNameSource']);
}

function applyGroup(s: Statements, accountId: string, m: GroupRosterUpdate | GroupParticipantsUpdate, now: number, c: Changes): void {
  const threadId = threadIdOf(accountId, m.clientJid);
  const row = s.getThread.get(threadId);
  const before = row ? rowToThread(row) : null;
  const next = applyGroupMutation(before, m, now);
  if (next === null) return;
  const values = threadValues(next);
  if (row) s.updateThread.run(...values.slice(1), threadId);
  else s.insertThread.run(...values);
  c.collector.threadChanged(threadId, changedThreadFields(before, next));
}

/**
 * The sender's own thread, whose name a group message takes (`withSenderName`). Looked up once per
 * sender per batch (`seen`): a group's history repeats the same few senders, and nothing in the
 * message loop changes a thread's name (names and rosters are applied before it, summaries after).
 */
function senderThread(
  s: Statements,
  accountId: string,
  record: MessageRecord,
  seen: Map<string, ThreadRecord | null>,
): ThreadRecord | null {
  if (record.participant === null || record.fromMe || record.senderName !== null) return null;
  const cached = seen.get(record.participant);
  if (cached !== undefined) return cached;
  const row = s.getThread.get(threadIdOf(accountId, record.participant));
  const found = row ? rowToThread(row) : null;
  seen.set(record.participant, found);
  return found;
}

/** Rank of a stored source; an unknown value (hand-edited row) ranks below every real source. */
function rankOf(source: string): number {
  return Object.hasOwn(DISPLAY_NAME_RANK, source) ? DISPLAY_NAME_RANK[source as keyof typeof DISPLAY_NAME_RANK] : 0;
}

function applyMessages(
  s: Statements,
  accountId: string,
  records: readonly MessageRecord[],
  now: number,
  result: ApplyResult,
  c: Changes,
): void {
  // One cheap probe per batch: almost always no receipt is waiting, and then no message pays for a lookup.
  const receiptsWaiting = s.hasPendingReceipts.get(accountId) === 1;
  /**
   * Newest message of the batch per thread, keyed by chat JID (the record's own string, no thread id
   * built per message): each thread summary is written at most once per batch.
   */
  const newestByChat = new Map<string, MessageRecord>();
  const senders = new Map<string, ThreadRecord | null>();

  for (const incoming of records) {
    let record = withSenderName(incoming, senderThread(s, accountId, incoming, senders));
    let hadPending = false;
    if (receiptsWaiting) {
      const pending = s.getPendingReceipt.get(accountId, incoming.id);
      if (pending) {
        record = foldPendingReceipt(record, pending);
        hadPending = true;
      }
    }

    let stored: MessageRecord;
    const incomingThreadId = threadIdOf(accountId, record.clientJid);
    const values = messageValues(record, incomingThreadId);
    if (s.insertMessage.run(values).changes === 1) {
      result.inserted++;
      result.insertedIds.push(record.id);
      stored = record;
      c.collector.messageCreated(record.id);
    } else {
      const row = s.getMessage.get(accountId, record.id);
      if (!row) throw new StoreError(`message ${record.id} conflicted on insert but cannot be read`);
      const existing = rowToMessage(row);
      stored = mergeMessage(existing, record);
      result.merged++;
      // Replays are the common case for a conflict (history sync after realtime, crash recovery):
      // skip the write when the merge changed nothing.
      if (!shallowEqual(existing, stored)) {
        const threadId = threadIdOf(accountId, stored.clientJid);
        const merged = messageValues(stored, threadId);
        s.updateMessage.run(...merged.slice(2), accountId, stored.id);
        c.collector.messageChanged(stored.id, changedMessageFields(existing, stored));
      }
    }
    if (hadPending) s.deletePendingReceipt.run(accountId, incoming.id);

    const best = newestByChat.get(stored.clientJid);
    if (!best || isNewerThan(stored.createdAt, stored.id, { lastMessageAt: best.createdAt, lastMessageId: best.id })) {
      newestByChat.set(stored.clientJid, stored);
    }
  }

  for (const [clientJid, newest] of newestByChat) moveThreadSummary(s, accountId, threadIdOf(accountId, clientJid), newest, now, c);
}

/**
 * Folds a receipt kept for a message that had not arrived yet. Replays the receipt through
 * `applyStatus` (times first, so each is set once with its own instant) rather than copying fields,
 * so the receipt rule stays in domain/merge.ts.
 */
function foldPendingReceipt(
  record: MessageRecord,
  pending: { status: number; delivered_at: number | null; read_at: number | null },
): MessageRecord {
  let state: ReceiptState = record;
  if (pending.delivered_at !== null) state = applyStatus(state, 'delivered', pending.delivered_at);
  if (pending.read_at !== null) state = applyStatus(state, 'read', pending.read_at);
  const status = statusFromRank(pending.status);
  state = applyStatus(state, status, pending.read_at ?? pending.delivered_at ?? record.createdAt);
  return { ...record, ...state };
}

function moveThreadSummary(s: Statements, accountId: string, threadId: string, newest: MessageRecord, now: number, c: Changes): void {
  const preview = previewOf(newest);
  const row = s.getThread.get(threadId);
  if (!row) {
    s.insertThread.run(
      ...threadValues({
        ...newThread(accountId, newest.clientJid, now),
        lastMessageAt: newest.createdAt,
        lastMessagePreview: preview,
        lastMessageId: newest.id,
      }),
    );
    c.collector.threadChanged(threadId, ['created']);
    return;
  }
  const summary = { lastMessageAt: row.last_message_at, lastMessageId: row.last_message_id };
  if (isNewerThan(newest.createdAt, newest.id, summary)) {
    s.updateThreadSummary.run(newest.createdAt, preview, newest.id, now, threadId);
    c.collector.threadChanged(threadId, ['lastMessageAt', 'lastMessagePreview', 'lastMessageId']);
  } else if (row.last_message_id === newest.id && row.last_message_preview !== preview) {
    // The summary's own message seen again with content filled in (a stub completed by a later sync).
    s.updateThreadSummary.run(newest.createdAt, preview, newest.id, now, threadId);
    c.collector.threadChanged(threadId, ['lastMessagePreview']);
  }
}

function applyReceipt(s: Statements, accountId: string, m: StatusUpdate, result: ApplyResult, c: Changes): void {
  const row = s.getMessageStatus.get(accountId, m.messageId);
  if (row) {
    const current: ReceiptState = {
      status: statusFromRank(row.status),
      deliveredAt: row.delivered_at,
      readAt: row.read_at,
      sendError: row.send_error,
    };
    const next = applyStatus(current, m.status, m.at);
    if (
      next.status !== current.status ||
      next.deliveredAt !== current.deliveredAt ||
      next.readAt !== current.readAt ||
      next.sendError !== current.sendError
    ) {
      s.updateMessageStatus.run(statusRank(next.status), next.deliveredAt, next.readAt, next.sendError, accountId, m.messageId);
      const fields = (['status', 'deliveredAt', 'readAt', 'sendError'] as const).filter((k) => next[k] !== current[k]);
      touched(c, m.messageId, fields);
    }
    result.statusesApplied++;
    return;
  }

  // The message is not stored yet: keep the receipt (status max, first times) until it arrives.
  const pending = s.getPendingReceipt.get(accountId, m.messageId);
  const base: ReceiptState = pending
    ? { status: statusFromRank(pending.status), deliveredAt: pending.delivered_at, readAt: pending.read_at, sendError: null }
    : { status: 'queued' satisfies MessageStatus, deliveredAt: null, readAt: null, sendError: null };
  const next = applyStatus(base, m.status, m.at);
  s.upsertPendingReceipt.run(accountId, m.messageId, statusRank(next.status), next.deliveredAt, next.readAt);
  result.statusesDeferred++;
}

function applyEdit(s: Statements, accountId: string, m: MessageEdit, now: number, result: ApplyResult, c: Changes): void {
  const row = s.getMessageForEdit.get(accountId, m.messageId);
  if (!row) return;
  // Edits can be replayed out of order (history sync after realtime): the latest edit wins.
  if (row.edited_at !== null && m.editedAt < row.edited_at) return;
  s.editMessage.run(m.body, m.editedAt, accountId, m.messageId);
  const preview = previewOf({ body: m.body, messageType: parseMessageType(row.message_type) });
  if (s.refreshThreadPreview.run(preview, now, row.thread_id, m.messageId).changes > 0) {
    c.collector.threadChanged(row.thread_id, ['lastMessagePreview']);
  }
  result.edits++;
  touched(c, m.messageId, ['body', 'editedAt']);
}

/**
 * Records the pairing and folds the LID thread into the phone-number thread. Messages keep their
 * primary key (account, id) while only their thread columns change, so the move can neither lose
 * nor duplicate a message; a repeated mapping finds no LID thread and changes nothing.
 */
function applyJidMapping(s: Statements, accountId: string, m: JidMapping, now: number, result: ApplyResult, c: Changes): void {
  s.upsertJidMapping.run(accountId, m.lid, m.pn);
  if (m.lid === m.pn) return;
  const lidId = threadIdOf(accountId, m.lid);
  const pnId = threadIdOf(accountId, m.pn);
  const lidRow = s.getThread.get(lidId);
  const pnRow = s.getThread.get(pnId);

  if (!lidRow) {
    if (pnRow && pnRow.lid_jid !== m.lid) {
      s.setThreadLidJid.run(m.lid, now, pnId);
      c.collector.threadChanged(pnId, ['lidJid']);
    }
    return;
  }

  s.moveThreadMessages.run(pnId, m.pn, accountId, lidId);
  const lid = rowToThread(lidRow);
  const combined: ThreadRecord = mergeLidThread(pnRow ? rowToThread(pnRow) : null, lid, m.pn, m.lid, now);
  s.deleteThread.run(lidId);
  const values = threadValues(combined);
  if (pnRow) s.updateThread.run(...values.slice(1), pnId);
  else s.insertThread.run(...values);
  result.threadsMerged++;
  c.collector.threadDeleted(lidId);
  c.collector.threadChanged(pnId, ['clientJid', 'lidJid'], lidId);
}

function shallowEqual(a: MessageRecord, b: MessageRecord): boolean {
  for (const key of Object.keys(b) as Array<keyof MessageRecord>) {
    if (a[key] !== b[key]) return false;
  }
  return true;
}
