import type { BaileysEventMap, WASocket } from '@whiskeysockets/baileys';
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
};

export interface ConnectorContext {
  accountId: string;
  /** The account's store connection (auth state for the real connector, `getMessage` for retries). */
  store: Store;
  logger: Logger;
}

/** Creates one socket per connection attempt; the actor owns reconnects. */
export interface Connector {
  readonly kind: 'baileys' | 'sim';
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
