import { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../domain/errors.js';
import type { HistorySyncState } from '../domain/history-sync.js';
import type { LeaseFence } from '../store/port.js';
import {
  MEDIA_MESSAGE_TYPES,
  SYNC_SOURCES,
  type BackfillResult,
  type ConnectionStatus,
  type HistorySyncResult,
  type MediaRef,
  type MessageRecord,
  type MessageStatus,
  type SyncSource,
} from '../domain/records.js';

/**
 * The contract between the supervisor (main thread) and an account actor (worker thread).
 * Commands go over comlink; events go the other way as plain structured-clone messages.
 */

export interface ActorInit {
  accountId: string;
  /** The environment the actor parses its configuration from (same variables as the server). */
  env: Record<string, string>;
  /** comlink endpoint for commands (a transferred MessagePort). */
  commandPort: MessagePort;
  /**
   * The owner lease this incarnation runs under: its session writes and status patches carry it, and
   * the store refuses them once a newer owner epoch holds the account. Null: unfenced (tests, tools).
   */
  fence: LeaseFence | null;
}

/** How an actor's stop ends its account's record. */
export interface StopOptions {
  /** End the WhatsApp session too (the account is being removed). */
  logout: boolean;
  timeoutMs: number;
  /**
   * The account moves to another instance (rebalance, lost lease): no final status is written, the
   * next owner writes its own. Default false: `stopped` (or `logged_out` with `logout`).
   */
  handover?: boolean;
}

/** comlink drops error classes and codes: every command answers with a result value instead. */
export type ActorResult<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

export interface ActorStatus {
  accountId: string;
  connection: ConnectionStatus;
  reason: string | null;
  qr: string | null;
  me: string | null;
  pendingWrites: number;
  reconnectAttempts: number;
}

export interface SendCommand {
  to: string;
  text: string;
  messageId?: string;
}

export interface SendOutcome {
  messageId: string;
  threadId: string;
  clientJid: string;
  status: MessageStatus;
}

/**
 * Which end of each thread a backfill asks the phone from. `fetchMessageHistory` answers with messages
 * older than the anchor: `oldest` deepens the stored history (manual and auto backfill); `newest`
 * re-fetches the recent window, filling gaps a disconnect left below the latest stored message
 * (recent sync).
 */
export type BackfillAnchor = 'oldest' | 'newest';

/**
 * Which account fields a run reports into. The recent sync keeps its own (`lastRecentSyncAt`,
 * `lastRecentSyncResult`) so that a gap filler every two minutes does not hide when the account and
 * its threads were last backfilled (`lastBackfillAt`, the runbook's field).
 */
export type BackfillRecord = 'backfill' | 'recentSync';

export interface BackfillCommand {
  threads: number;
  count: number;
  reason: 'manual' | 'auto' | 'recent';
  /** Default `oldest`. */
  anchor?: BackfillAnchor;
  /** Default `backfill`. */
  record?: BackfillRecord;
}

export interface ActorApi {
  start(): Promise<ActorResult<ActorStatus>>;
  /** Flushes pending writes (bounded), closes the socket; with `logout`, ends the WhatsApp session too. */
  stop(opts: StopOptions): Promise<ActorResult<{ flushed: boolean }>>;
  status(): Promise<ActorResult<ActorStatus>>;
  send(cmd: SendCommand): Promise<ActorResult<SendOutcome>>;
  backfill(cmd: BackfillCommand): Promise<ActorResult<BackfillResult>>;
  regenerateQr(): Promise<ActorResult<ActorStatus>>;
  requestPairingCode(phoneNumber: string): Promise<ActorResult<string>>;
  /**
   * Asks the phone to re-upload a stored message's media that expired on WhatsApp's CDN, and answers
   * with the new reference. Only this step needs the account's socket: the download itself runs on
   * the HTTP side (`AccountsService.openMedia`). Nothing is stored.
   */
  updateMediaMessage(messageId: string): Promise<ActorResult<MediaRef>>;
  /** Test hook for the crash test and chaos drills: throws on the worker's event loop. */
  crash(reason: string): Promise<ActorResult<void>>;
}

/** What an actor reports about itself every second (`ActorEvent` `health`). */
export interface ActorHealth {
  /** Event-loop delay of the actor's thread over the last report's window (`LoopMonitor`). */
  loopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
  /** The batch writer: pending operations, the oldest one's age, retries of a busy or unreachable store. */
  writes: { pending: number; oldestPendingMs: number; retrying: boolean; inFlightMs: number; retries: number };
}

/** What an actor reports of the messages one commit stored. */
export interface MessagesSummary {
  source: SyncSource;
  /** Messages the commit wrote (new and merged). */
  count: number;
  /**
   * How many of them were new to the store (the rest merged into rows already there: a replay, a
   * second sighting, the echo of a send). `wasync_messages_stored_total` counts these.
   */
  inserted: number;
  /** The newest `createdAt` among them (ms), or null. */
  newestCreatedAt: number | null;
  /** Whether any of them is a media message (image, video, audio, document, sticker). */
  media: boolean;
}

/** The summary of the messages among a commit's records (pure: the actor posts it). */
export function summarizeMessages(
  source: SyncSource,
  records: Iterable<Pick<MessageRecord, 'createdAt' | 'messageType'>>,
  inserted: number,
): MessagesSummary {
  let count = 0;
  let newest = Number.NEGATIVE_INFINITY;
  let media = false;
  for (const r of records) {
    count++;
    if (r.createdAt > newest) newest = r.createdAt;
    if (!media && MEDIA_MESSAGE_TYPES.has(r.messageType)) media = true;
  }
  return { source, count, inserted, newestCreatedAt: Number.isFinite(newest) ? newest : null, media };
}

export type ActorEvent =
  | { type: 'ready'; accountId: string }
  | { type: 'connection'; accountId: string; status: ActorStatus }
  | { type: 'qr'; accountId: string; qr: string }
  /** WhatsApp delivered what it queued while the device was away (`receivedPendingNotifications`). */
  | { type: 'caught-up'; accountId: string }
  /**
   * Emitted only after the write that holds these messages has committed: a summary, not the records.
   * The supervisor needs counts, the newest time and whether media came (the archive's wake-up); the
   * records themselves reach readers through the store and the change log. Cloning every record into
   * the main thread cost about 3 µs a message to post and receive (a commit of 50 records: 155–171 µs,
   * the summary 5–7 µs), and a 100,000-message history sync about a third of a second, half of it on
   * the thread that serves the API.
   */
  | ({ type: 'messages'; accountId: string } & MessagesSummary)
  | {
      type: 'statuses';
      accountId: string;
      updates: Array<{ messageId: string; clientJid: string | null; status: MessageStatus; at: number }>;
    }
  | { type: 'history-sync'; accountId: string; syncType: string | null; progress: number | null; result: HistorySyncResult }
  /** The account's history-sync state changed (src/domain/history-sync.ts); written on the account too. */
  | { type: 'history-sync-status'; accountId: string; state: HistorySyncState }
  | { type: 'backfill'; accountId: string; reason: BackfillCommand['reason']; record: BackfillRecord; result: BackfillResult }
  | { type: 'error'; accountId: string; error: SerializedError; context: string }
  | { type: 'flush'; accountId: string; ops: number; durationMs: number; failed: boolean }
  | ({ type: 'health'; accountId: string } & ActorHealth)
  /** A write of this actor appended to the account's change log and has committed (the feed reads it). */
  | { type: 'changes'; accountId: string }
  /**
   * The account belongs to another wasync instance now (a fenced write was refused, or WhatsApp
   * replaced the connection for a newer owner): the actor has stepped aside without writing a status.
   */
  | { type: 'lease-lost'; accountId: string; reason: string };

// ---- boundary checks ------------------------------------------------------------------------------
//
// Structured clone delivers whatever the other thread posted: these checks make a malformed message
// (a bug, a version skew during development) a named error at the boundary instead of a wrong field
// deep in the supervisor. They look at the discriminant and the fields the receiver relies on, not at
// every field of every record: one cheap pass per message.

/** A message between the supervisor and an actor that does not follow this protocol. */
export class ActorProtocolError extends Error {
  override readonly name = 'ActorProtocolError';
}

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null;
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number';
const isStringOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const isNumberOrNull = (v: unknown): boolean => v === null || typeof v === 'number';

const MESSAGE_SOURCES: ReadonlySet<unknown> = new Set(SYNC_SOURCES);

/** One check per event type: a new type fails to compile until it has one. */
const EVENT_CHECKS: { readonly [K in ActorEvent['type']]: (e: Fields) => boolean } = {
  ready: () => true,
  connection: (e) => isObject(e.status) && isString(e.status.connection) && isNumber(e.status.pendingWrites),
  qr: (e) => isString(e.qr),
  'caught-up': () => true,
  messages: (e) =>
    MESSAGE_SOURCES.has(e.source) &&
    isNumber(e.count) &&
    isNumber(e.inserted) &&
    isNumberOrNull(e.newestCreatedAt) &&
    typeof e.media === 'boolean',
  statuses: (e) => Array.isArray(e.updates),
  'history-sync': (e) => isStringOrNull(e.syncType) && isNumberOrNull(e.progress) && isObject(e.result),
  'history-sync-status': (e) => isObject(e.state) && isString(e.state.status) && typeof e.state.stalled === 'boolean',
  backfill: (e) => isString(e.reason) && isString(e.record) && isObject(e.result),
  error: (e) => isObject(e.error) && isString(e.error.code) && isString(e.error.message) && isString(e.context),
  'lease-lost': (e) => isString(e.reason),
  flush: (e) => isNumber(e.ops) && isNumber(e.durationMs) && typeof e.failed === 'boolean',
  health: (e) =>
    isObject(e.loopDelay) &&
    isNumber(e.loopDelay.p99Ms) &&
    isObject(e.writes) &&
    isNumber(e.writes.pending) &&
    isNumber(e.writes.oldestPendingMs) &&
    typeof e.writes.retrying === 'boolean',
  changes: () => true,
};

/** An event as the supervisor receives it from `accountId`'s actor; throws `ActorProtocolError`. */
export function parseActorEvent(data: unknown, accountId: string): ActorEvent {
  if (!isObject(data) || !isString(data.type) || !Object.hasOwn(EVENT_CHECKS, data.type)) {
    throw new ActorProtocolError(`not an actor event: ${describe(data)}`);
  }
  if (data.accountId !== accountId) {
    throw new ActorProtocolError(`a ${data.type} event of account ${String(data.accountId)} arrived from the actor of ${accountId}`);
  }
  if (!EVENT_CHECKS[data.type as ActorEvent['type']](data)) throw new ActorProtocolError(`malformed ${data.type} event`);
  return data as unknown as ActorEvent;
}

/** A command's answer as the supervisor receives it (the value itself is the command's own business). */
export function parseActorResult(data: unknown, command: string): ActorResult<unknown> {
  if (isObject(data) && data.ok === true) return data as ActorResult<unknown>;
  if (isObject(data) && data.ok === false && isObject(data.error) && isString(data.error.code) && isString(data.error.message)) {
    return data as unknown as ActorResult<unknown>;
  }
  throw new ActorProtocolError(`malformed answer to ${command}: ${describe(data)}`);
}

/** The worker's start-up data; throws `ActorProtocolError`. */
export function parseActorInit(data: unknown): ActorInit {
  if (!isObject(data) || !isString(data.accountId) || data.accountId === '') throw new ActorProtocolError('actor init: accountId missing');
  if (!isObject(data.env) || !Object.values(data.env).every(isString))
    throw new ActorProtocolError('actor init: env must map names to strings');
  if (!(data.commandPort instanceof MessagePort)) throw new ActorProtocolError('actor init: commandPort must be a MessagePort');
  const fence = data.fence;
  if (fence !== null && !(isObject(fence) && isString(fence.holder) && isNumber(fence.epoch))) {
    throw new ActorProtocolError('actor init: fence must be null or { holder, epoch }');
  }
  return data as unknown as ActorInit;
}

function describe(data: unknown): string {
  if (!isObject(data)) return typeof data;
  return `object with type ${JSON.stringify(data.type) ?? 'undefined'}`;
}
