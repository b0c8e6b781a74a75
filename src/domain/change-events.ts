import type { AccountPatch, BackfillResult, HistorySyncResult, MessageRecord, ThreadRecord } from './records.js';

/**
 * What the per-account change log holds (docs/live-events.md): one entry per committed change a
 * client cares about, written by the store in the same transaction or commit as the change itself
 * (a transactional outbox). The data is the domain's (instants as epoch ms); the HTTP layer renders
 * the REST shapes when it sends an event, so a message reads the same from the feed as from the API.
 */
export const CHANGE_EVENT_TYPES = [
  'message.created',
  'message.updated',
  'thread.updated',
  'account.updated',
  'history-sync.progress',
  'backfill.progress',
  'backfill.completed',
] as const;
export type ChangeEventType = (typeof CHANGE_EVENT_TYPES)[number];

export function isChangeEventType(value: unknown): value is ChangeEventType {
  return typeof value === 'string' && (CHANGE_EVENT_TYPES as readonly string[]).includes(value);
}

/** A message as the log keeps it: no raw proto bytes, no media key (neither ever leaves the process). */
export type LoggedMessage = Omit<MessageRecord, 'rawMessage' | 'media'>;

export interface HistorySyncProgress {
  /** `proto.HistorySync.HistorySyncType` name, null when WhatsApp did not say. */
  syncType: string | null;
  /** WhatsApp's own percentage, when it sends one. */
  progress: number | null;
  /** `chunk`: one chunk stored; `complete` / `paused`: Baileys' `messaging-history.status`. */
  status: 'chunk' | 'complete' | 'paused';
  /** For `complete`/`paused`: WhatsApp said so (true) or Baileys inferred it from silence (false). */
  explicit: boolean | null;
  /** The chunk's counts (status `chunk`). */
  chunk: HistorySyncResult | null;
}

export type BackfillKind = 'backfill' | 'recentSync';

export interface BackfillProgress {
  reason: 'manual' | 'auto' | 'recent';
  kind: BackfillKind;
  threadId: string;
  /** Messages this thread's answer stored. */
  messages: number;
  error: string | null;
  threadsDone: number;
  threadsTotal: number;
}

export interface BackfillCompleted {
  reason: 'manual' | 'auto' | 'recent';
  kind: BackfillKind;
  result: BackfillResult;
  completedAt: number;
}

export type ChangeEvent =
  | { type: 'message.created'; data: { threadId: string; message: LoggedMessage } }
  | { type: 'message.updated'; data: { threadId: string; message: LoggedMessage; changes: string[] } }
  /** `mergedFrom`: a LID thread folded into this one (its messages now belong here). */
  | { type: 'thread.updated'; data: { thread: ThreadRecord; changes: string[]; mergedFrom: string | null } }
  | { type: 'account.updated'; data: { fields: AccountPatch } }
  | { type: 'history-sync.progress'; data: HistorySyncProgress }
  | { type: 'backfill.progress'; data: BackfillProgress }
  | { type: 'backfill.completed'; data: BackfillCompleted };

export function loggedMessage(m: MessageRecord): LoggedMessage {
  const { rawMessage: _raw, media: _media, ...rest } = m;
  return rest;
}

/** Fields of a message that differ between two states (the `changes` of `message.updated`). */
export function changedMessageFields(before: MessageRecord, after: MessageRecord): string[] {
  const out: string[] = [];
  for (const key of Object.keys(after) as Array<keyof MessageRecord>) {
    if (key === 'rawMessage' || key === 'media') continue;
    if (before[key] !== after[key]) out.push(key);
  }
  return out;
}

/** Fields of a thread that differ (bookkeeping `updatedAt` left out). */
export function changedThreadFields(before: ThreadRecord | null, after: ThreadRecord): string[] {
  if (before === null) return ['created'];
  const out: string[] = [];
  for (const key of Object.keys(after) as Array<keyof ThreadRecord>) {
    if (key === 'updatedAt') continue;
    if (!sameValue(before[key], after[key])) out.push(key);
  }
  return out;
}

/** Scalars by identity; arrays and objects (a group's `participants`) by content. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Account fields a client sees in `account.updated`. The event is raised only by a patch that holds a
 * *trigger* (connection status, phone number, display name, caught-up, the history sync's status and
 * progress): the realtime diagnostics the actor writes once a second, leases and bookkeeping raise
 * nothing, and backfill / history-sync chunk results have events of their own.
 */
const ACCOUNT_TRIGGER_FIELDS = [
  'status',
  'phoneNumber',
  'displayName',
  'caughtUp',
  // The history sync's state on the account (HistorySyncTracker: status changes at once, progress throttled).
  'historySyncStatus',
  'historySyncProgress',
  'historySyncChunks',
  'historySyncMessagesSaved',
  'historySyncStalled',
] as const satisfies ReadonlyArray<keyof AccountPatch>;
const ACCOUNT_FEED_FIELDS = [
  ...ACCOUNT_TRIGGER_FIELDS,
  'statusReason',
  'statusAt',
  'reconnectAttempts',
  'lastConnectedAt',
  'caughtUpAt',
  'historySyncStartedAt',
  'historySyncUpdatedAt',
  'historySyncLastChunkAt',
  'historySyncCompletedAt',
  'historySyncStalledAt',
] as const satisfies ReadonlyArray<keyof AccountPatch>;

export function accountChangeEvent(patch: AccountPatch): ChangeEvent | null {
  if (!ACCOUNT_TRIGGER_FIELDS.some((k) => patch[k] !== undefined)) return null;
  const fields: Record<string, unknown> = {};
  for (const key of ACCOUNT_FEED_FIELDS) if (patch[key] !== undefined) fields[key] = patch[key];
  return { type: 'account.updated', data: { fields: fields as AccountPatch } };
}

/**
 * A `message.created` / `message.updated` event by reference: the message's id (and, for an update,
 * the changed fields), resolved to the message as stored when the event is read.
 */
export type MessageEventRef =
  | { kind: 'message-ref'; id: string; created: true }
  | { kind: 'message-ref'; id: string; created: false; changes: string[] };

/**
 * Collects a batch's events in first-touch order, one per message and per thread: a message created
 * and then receipted in the same batch is one `message.created` with its final state.
 */
export class ChangeCollector {
  /** `changes` stays null for a message created in this batch (its event carries no changes): one Set fewer per message. */
  private readonly messages = new Map<string, { created: boolean; changes: Set<string> | null }>();
  private readonly threads = new Map<string, { changes: Set<string>; mergedFrom: string | null }>();
  private readonly order: Array<{ kind: 'message' | 'thread'; id: string }> = [];

  messageCreated(id: string): void {
    if (this.messages.has(id)) return;
    this.messages.set(id, { created: true, changes: null });
    this.order.push({ kind: 'message', id });
  }

  messageChanged(id: string, fields: readonly string[]): void {
    if (fields.length === 0) return;
    let entry = this.messages.get(id);
    if (!entry) {
      entry = { created: false, changes: new Set() };
      this.messages.set(id, entry);
      this.order.push({ kind: 'message', id });
    }
    if (entry.created) return;
    entry.changes ??= new Set();
    for (const f of fields) entry.changes.add(f);
  }

  threadChanged(threadId: string, fields: readonly string[], mergedFrom: string | null = null): void {
    if (fields.length === 0 && mergedFrom === null) return;
    let entry = this.threads.get(threadId);
    if (!entry) {
      entry = { changes: new Set(), mergedFrom: null };
      this.threads.set(threadId, entry);
      this.order.push({ kind: 'thread', id: threadId });
    }
    for (const f of fields) entry.changes.add(f);
    if (mergedFrom !== null) entry.mergedFrom = mergedFrom;
  }

  /** A thread deleted by a merge: nothing to announce for it (the merge names it as `mergedFrom`). */
  threadDeleted(threadId: string): void {
    this.threads.delete(threadId);
  }

  get empty(): boolean {
    return this.order.length === 0;
  }

  /**
   * The events, messages in first-touch order, then threads (a summary moves after the messages that
   * moved it). Messages come as references (`MessageEventRef`): the log that keeps them reads each
   * message when the event is read, so a batch of history looks up and copies none of its messages
   * here. `thread` reads a thread's final state; a thread whose row is gone is skipped.
   */
  events(thread: (id: string) => ThreadRecord | null): Array<MessageEventRef | ChangeEvent> {
    const out: Array<MessageEventRef | ChangeEvent> = [];
    const threadEvents: ChangeEvent[] = [];
    for (const { kind, id } of this.order) {
      if (kind === 'message') {
        const entry = this.messages.get(id);
        if (!entry) continue;
        out.push(
          entry.created
            ? { kind: 'message-ref', id, created: true }
            : { kind: 'message-ref', id, created: false, changes: [...(entry.changes ?? [])] },
        );
      } else {
        const entry = this.threads.get(id);
        const t = entry ? thread(id) : null;
        if (!entry || !t) continue;
        threadEvents.push({ type: 'thread.updated', data: { thread: t, changes: [...entry.changes], mergedFrom: entry.mergedFrom } });
      }
    }
    return out.concat(threadEvents);
  }
}
