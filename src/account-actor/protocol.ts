import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../domain/errors.js';
import type { BackfillResult, ConnectionStatus, HistorySyncResult, MediaRef, MessageRecord, MessageStatus } from '../domain/records.js';

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
  stop(opts: { logout: boolean; timeoutMs: number }): Promise<ActorResult<{ flushed: boolean }>>;
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

/** A message as events carry it: everything but the raw proto bytes. */
export type MessageEventRecord = Omit<MessageRecord, 'rawMessage'>;

export type ActorEvent =
  | { type: 'ready'; accountId: string }
  | { type: 'connection'; accountId: string; status: ActorStatus }
  | { type: 'qr'; accountId: string; qr: string }
  /** WhatsApp delivered what it queued while the device was away (`receivedPendingNotifications`). */
  | { type: 'caught-up'; accountId: string }
  /** Emitted only after the write that holds these rows has committed. */
  | {
      type: 'messages';
      accountId: string;
      source: 'history_sync' | 'realtime' | 'backfill' | 'outbound_api';
      messages: MessageEventRecord[];
    }
  | {
      type: 'statuses';
      accountId: string;
      updates: Array<{ messageId: string; clientJid: string | null; status: MessageStatus; at: number }>;
    }
  | { type: 'history-sync'; accountId: string; syncType: string | null; progress: number | null; result: HistorySyncResult }
  | { type: 'backfill'; accountId: string; reason: BackfillCommand['reason']; record: BackfillRecord; result: BackfillResult }
  | { type: 'error'; accountId: string; error: SerializedError; context: string }
  | { type: 'flush'; accountId: string; ops: number; durationMs: number; failed: boolean };
