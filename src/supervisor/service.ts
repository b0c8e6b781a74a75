import type { Readable } from 'node:stream';
import type { ActorHealth } from '../account-actor/protocol.js';
import type { AccountRecord, ConnectionStatus, MessageStatus } from '../domain/records.js';
import type { FleetView } from './fleet/fleet.js';
import type { OwnerView } from './fleet/registry.js';

export type { FleetView, InstanceView } from './fleet/fleet.js';
export type { OwnerView } from './fleet/registry.js';

/**
 * What the HTTP layer may ask of the running system about accounts. The supervisor implements it;
 * reads of threads and messages go straight to the store port instead (no actor hop on the read path).
 */

/** Live, in-memory state of an account's actor, next to its stored record. */
export interface AccountRuntime {
  /**
   * `running`: actor alive; `restarting`: crashed, waiting for backoff; `failed`: gave up (see reason);
   * `remote`: another instance of the fleet runs it (see `owner`; `connection` is then its stored status).
   */
  actor: 'starting' | 'running' | 'restarting' | 'stopped' | 'failed' | 'remote';
  connection: ConnectionStatus;
  reason: string | null;
  restarts: number;
  /** A QR is waiting to be scanned. */
  qrAvailable: boolean;
  pendingWrites: number;
  me: string | null;
  /**
   * The actor's last health report (event-loop delay, batch writer), null before the first one or when
   * it is older than three reports (the actor's loop is stuck, or it stopped).
   */
  health?: (ActorHealth & { reportedAt: number }) | null;
  /** The instance that holds the account's owner lease (several instances on one store); null: nobody. */
  owner?: OwnerView | null;
}

/** The write path as `/health` sees it: degraded while writes wait on the store (README, Health). */
export interface WriteHealth {
  degraded: boolean;
  /** Why, in words fit for an unauthenticated probe (no account ids). */
  reasons: string[];
  pendingWrites: number;
  oldestPendingWriteMs: number;
  /** Accounts whose writer is retrying a failed write right now. */
  retryingAccounts: number;
  /** Running actors that have not reported for three report periods. */
  silentActors: number;
}

export interface AccountView {
  account: AccountRecord;
  runtime: AccountRuntime;
}

export interface QrView {
  accountId: string;
  connection: ConnectionStatus;
  /** The raw QR string, or null when none is pending (already paired, or not yet issued). */
  qr: string | null;
  /** `data:image/png;base64,…` of the same QR. */
  qrDataUrl: string | null;
}

export interface SendInput {
  accountId: string;
  /** A JID or a phone number (digits, optional leading +). */
  to: string;
  text: string;
  /** Retry a failed send idempotently by passing the id it was given. */
  messageId?: string;
}

export interface SendResult {
  messageId: string;
  threadId: string;
  clientJid: string;
  status: MessageStatus;
}

/**
 * A byte range as a client asks for it (HTTP semantics): `start`..`end` inclusive, `end` absent for
 * "to the end of the file", or the last `suffix` bytes.
 */
export type MediaRange = { start: number; end?: number } | { suffix: number };

/** A stored message's media: from the media archive, or decrypted as it streams from WhatsApp's CDN. */
export interface MediaStream {
  stream: Readable;
  mimetype: string | null;
  fileName: string | null;
  /** Size of the whole decrypted file as WhatsApp declared it (`fileLength`), null when unknown. */
  size: number | null;
  /** The bytes the stream holds (`end` inclusive), or null when it holds the whole file. */
  range: { start: number; end: number } | null;
  /** Where the bytes come from: the media archive, or WhatsApp (its CDN, or the phone re-uploading). */
  source: 'archive' | 'whatsapp';
}

export interface AccountsService {
  list(): Promise<AccountView[]>;
  /** `NotFoundError` when unknown. */
  get(accountId: string): Promise<AccountView>;
  /** Creates `account_{env}_{random}` or the given id and starts its actor; `ConflictError` if it exists. */
  create(input: { accountId?: string }): Promise<AccountView>;
  /** Stops the actor, logs the session out, and keeps or purges the threads and messages. */
  remove(accountId: string, opts: { purge: boolean }): Promise<void>;
  regenerateQr(accountId: string): Promise<QrView>;
  getQr(accountId: string): Promise<QrView>;
  requestPairingCode(accountId: string, phoneNumber: string): Promise<{ code: string }>;
  send(input: SendInput): Promise<SendResult>;
  /** Starts a backfill; resolves once it has started (it runs asynchronously). */
  startBackfill(accountId: string): Promise<void>;
  /**
   * Opens the decrypted media of a stored message, re-requesting it from the phone when it expired on
   * the CDN. `NotFoundError` for an unknown account or message; `MEDIA_UNAVAILABLE` when there is no
   * media to get; `RangeNotSatisfiableError` for a range outside the file.
   */
  openMedia(accountId: string, messageId: string, range?: MediaRange): Promise<MediaStream>;
  /** The fleet: every registered instance with the accounts it owns, lease ages and epochs. */
  instances(): Promise<FleetView>;
}
