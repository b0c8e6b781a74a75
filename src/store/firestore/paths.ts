import { StoreError } from '../../domain/errors.js';
import { threadIdOf } from '../../domain/thread-id.js';

/**
 * Collection names. The first four are the runbook's public contract (docs/firestore.md) (the inbox and the runbook's console
 * checks read them); the `wasync*` ones hold data no client may read and are denied in firestore.rules.
 */
export const COLLECTIONS = {
  accounts: 'accounts',
  threads: 'threads',
  /** Subcollection of `threads/{threadId}`. */
  messages: 'messages',
  inboundDedupe: 'inboundDedupe',
  /** The outbound twin of `inboundDedupe`: message id → thread for messages we sent. */
  outboundIndex: 'outboundIndex',
  /** `wasyncAuth/{accountId}` holds the creds; its `keys` subcollection the signal keys. */
  auth: 'wasyncAuth',
  authKeys: 'keys',
  /** `wasyncPrivate/{accountId}` is never written itself; only its subcollections are. */
  private: 'wasyncPrivate',
  lidMappings: 'lidMappings',
  pendingReceipts: 'pendingReceipts',
  /** `wasyncSettings/{key}`: process-wide settings (src/store/settings.ts). */
  settings: 'wasyncSettings',
  /** `wasyncMediaQueue/{accountId}__{messageId}`: media-archive jobs (src/store/media-queue.ts). */
  mediaJobs: 'wasyncMediaQueue',
  /** `wasyncFeed/{accountId}__{seq}`: the change log, one document per committed batch (change-log.ts). */
  feed: 'wasyncFeed',
  /** `wasyncFeedHeads/{accountId}`: hints that an account's log moved, for other instances' readers. */
  feedHeads: 'wasyncFeedHeads',
  /** `wasyncFeedMeta/log`: the log's epoch. */
  feedMeta: 'wasyncFeedMeta',
  /** `wasyncOnce/{key}`: single-use keys (websocket tickets). */
  once: 'wasyncOnce',
  /** `wasyncWebhooks/{id}`: webhook endpoints and their delivery state. */
  webhooks: 'wasyncWebhooks',
  /**
   * `wasyncFences/{accountId}`: the owner lease's holder and epoch, written with every acquisition
   * (the account document keeps the lease too). Fenced writes read this one, not the busy account
   * document, so they never contend with lease renewals and status patches.
   */
  fences: 'wasyncFences',
  /** `wasyncInstances/{instanceId}`: the instance registry's heartbeats (src/store/instances.ts). */
  instances: 'wasyncInstances',
  /** A document that never exists: `health()` reads it to time a round trip. */
  healthProbe: 'wasyncHealth',
} as const;

const MAX_DOC_ID_BYTES = 1500;

/**
 * Firestore document ids must not contain `/`, must not be `.` or `..`, must not look like `__x__`
 * and are at most 1500 bytes. A message id or JID breaking these rules would silently address a
 * different path (a `/` adds path segments), so it is refused before anything is read or written.
 */
export function isValidDocId(id: string): boolean {
  return (
    id.length > 0 &&
    !id.includes('/') &&
    id !== '.' &&
    id !== '..' &&
    !/^__.*__$/.test(id) &&
    Buffer.byteLength(id, 'utf8') <= MAX_DOC_ID_BYTES
  );
}

export function assertDocId(id: string, what: string): string {
  if (!isValidDocId(id)) throw new StoreError(`${what} cannot be used as a Firestore document id: ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

export function threadDocId(accountId: string, clientJid: string): string {
  return threadIdOf(accountId, clientJid);
}

/** `inboundDedupe/{accountId}__{messageId}` (the runbook's); `outboundIndex` uses the same id form. */
export function messageIndexId(accountId: string, messageId: string): string {
  return `${accountId}__${messageId}`;
}

/**
 * Signal key ids may contain `/` (and anything else Baileys chooses), and the type and id share one
 * document id, so both are percent-encoded and joined by `:` (which encodeURIComponent always
 * escapes, so the join is unambiguous). `.` and `_` are escaped too so that no encoded id can be
 * `.`/`..` or match the reserved `__x__` form.
 */
export function authKeyDocId(type: string, id: string): string {
  return `${encodeKeyPart(type)}:${encodeKeyPart(id)}`;
}

function encodeKeyPart(part: string): string {
  return encodeURIComponent(part).replace(/\./g, '%2E').replace(/_/g, '%5F');
}
