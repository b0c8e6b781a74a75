import type { Readable } from 'node:stream';
import type { BaileysEventMap, WASocket } from '@whiskeysockets/baileys';
import type { MediaRef, MessageRecord } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';

/**
 * The seam to WhatsApp: the subset of Baileys' socket an account actor uses, typed with Baileys' own
 * declarations so the real socket satisfies it as is. The simulated phone implements the same subset
 * and emits exactly what Baileys 7 emits on `ev`.
 */
export type WaSocket = Pick<WASocket, 'ev' | 'sendMessage' | 'fetchMessageHistory' | 'logout' | 'end' | 'user'> & {
  /** Pairing by phone number instead of QR (Baileys' `requestPairingCode`). */
  requestPairingCode: WASocket['requestPairingCode'];
  /** Every group the account is in, with whole metadata; also emitted as `groups.update` (optional for doubles). */
  groupFetchAllParticipating?: WASocket['groupFetchAllParticipating'];
};

export type ConnectorKind = 'baileys' | 'sim';

export interface ConnectorContext {
  accountId: string;
  /** The account's store connection (auth state for the real connector, `getMessage` for retries). */
  store: Store;
  logger: Logger;
}

/** A byte range of a decrypted media file, `end` inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface MediaOpenOptions {
  /** The bytes wanted, or null for the whole file. */
  range: ByteRange | null;
  logger: Logger;
  /**
   * Gets a fresh media reference when WhatsApp's CDN dropped the file: the account's actor asks its
   * phone to re-upload it (`reuploader`). Called at most once per download.
   */
  reupload: (record: MessageRecord) => Promise<MediaRef>;
}

/**
 * Media of stored messages as a connector serves it. Downloads run in the calling thread (the HTTP
 * side streams them straight to the response); only the re-upload request needs the account's live
 * socket, so only it runs in the actor.
 */
export interface ConnectorMedia {
  /** Why no stored media of this connector can be fetched at all (`MEDIA_UNAVAILABLE`), or null when it can. */
  readonly unavailable: string | null;
  /** Whether the record holds everything a download needs (a media key and a URL or direct path). */
  isDownloadable(record: MessageRecord): boolean;
  /**
   * The decrypted media, streamed as it downloads; destroying the stream cancels the download.
   * Failures are typed: `MEDIA_UNAVAILABLE` (expired and its re-uploaded copy unavailable too),
   * `MEDIA_DOWNLOAD_FAILED` (the media server failed or could not be reached).
   */
  open(record: MessageRecord, opts: MediaOpenOptions): Promise<Readable>;
  /**
   * In the actor: what asks the phone behind `sock` to re-upload a message's media and answers with
   * the new reference (`MEDIA_UNAVAILABLE` when the phone says it cannot); null when this socket cannot
   * ask at all (the simulated phone).
   */
  reuploader(sock: WaSocket): ((record: MessageRecord) => Promise<MediaRef>) | null;
}

/**
 * What is known about a connector without connecting: the same in every thread, so the supervisor
 * (main thread) gets it by kind through `connectorTraits` while the actors use their `Connector`.
 */
export interface ConnectorTraits {
  readonly kind: ConnectorKind;
  /**
   * The pairing QR as terminal art. Actors run in worker threads, which do not own the terminal: the
   * QR reaches the main thread as the actor's `qr` event, and the supervisor prints it with this. The
   * QR is a pairing secret for its ~20-60 s of life: it goes to the terminal only, never to the log.
   */
  renderQr(qr: string): Promise<string>;
  readonly media: ConnectorMedia;
}

/** Creates one socket per connection attempt; the actor owns reconnects. */
export interface Connector extends ConnectorTraits {
  connect(ctx: ConnectorContext): Promise<WaSocket>;
  /**
   * Called once a history chunk's messages are committed (or counted, in a dry run), with the very
   * event object the socket emitted: the real connector then drops the chunk from its journal instead
   * of replaying it on the next connection (docs/history-durability.md).
   */
  onHistoryCommitted?(event: BaileysEventMap['messaging-history.set']): Promise<void>;
  /** Resolves once every auth-state write issued so far has settled: wipe the session only after it. */
  settled?(accountId: string): Promise<void>;
  /**
   * For a close the connector knows how to repair before reconnecting (the real one: WhatsApp refusing
   * the client version, repaired by refetching it), the repair; null for any other close. The actor
   * runs it and retries once at once instead of backing off.
   */
  repairBeforeRetry?(ctx: ConnectorContext, error: unknown): Promise<void> | null;
}
