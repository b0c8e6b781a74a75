import {
  Browsers,
  DEFAULT_CONNECTION_CONFIG,
  WAMessageAddressingMode,
  jidNormalizedUser,
  proto,
  type GroupMetadata,
  type AuthenticationState,
  type SocketConfig,
  type UserFacingSocketConfig,
  type WAMessageKey,
  type WAVersion,
} from '@whiskeysockets/baileys';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../logging/logger.js';
import type { Store } from '../../store/port.js';
import type { ThreadRecord } from '../../domain/records.js';
import { threadIdOf } from '../../domain/thread-id.js';

/**
 * Baileys' level for its own logs. Baileys logs at info for routine protocol traffic (and at info it
 * logs whole history-sync notifications, media keys included), so it stays at warn unless the operator
 * asked for debug output, and never gets louder than the operator's level.
 */
export function baileysLogLevel(level: Config['LOG_LEVEL']): Config['LOG_LEVEL'] {
  switch (level) {
    case 'debug':
    case 'trace':
    case 'error':
    case 'fatal':
    case 'silent':
      return level;
    default:
      return 'warn';
  }
}

/**
 * Baileys' default (lib/Defaults/index.js, DEFAULT_CONNECTION_CONFIG.shouldSyncHistoryMessage:
 * `return syncType !== proto.HistorySync.HistorySyncType.FULL`) silently drops every FULL chunk, i.e.
 * everything older than the RECENT window, even with `syncFullHistory: true`. We keep a complete copy,
 * so every type is accepted; chats.js still restricts processing to PROCESSABLE_HISTORY_TYPES.
 */
export const acceptEveryHistoryChunk: SocketConfig['shouldSyncHistoryMessage'] = () => true;

/**
 * Answers Baileys' `getMessage` (retry receipts, poll decryption) from the store: own sends and media
 * messages keep their encoded `proto.Message` in `rawMessage`.
 */
export function storeMessageLookup(store: Store, accountId: string, logger: Logger): SocketConfig['getMessage'] {
  return async (key: WAMessageKey) => {
    if (!key.id) return undefined;
    try {
      const record = await store.getMessage(accountId, key.id, key.remoteJid ?? null);
      if (!record?.rawMessage) return undefined;
      return proto.Message.decode(record.rawMessage);
    } catch (err) {
      // A failed lookup only costs the peer a retry; it must not break Baileys' receipt handling.
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'getMessage lookup failed');
      return undefined;
    }
  };
}

/**
 * Answers Baileys' `cachedGroupMetadata` from the store, as Baileys recommends (README, "Caching Group
 * Metadata"): on every send to a group, `relayMessage` asks it first and queries WhatsApp only when it
 * answers undefined. The roster is the group thread's `participants` (group metadata, the history sync,
 * participant updates), addressed as the group addresses its members; a group whose roster is unknown
 * answers undefined, so Baileys fetches it (and the actor's `groupFetchAllParticipating` fills the store).
 */
export function storeGroupMetadata(store: Store, accountId: string, logger: Logger): SocketConfig['cachedGroupMetadata'] {
  return async (jid: string) => {
    try {
      const thread = await store.getThread(accountId, threadIdOf(accountId, jidNormalizedUser(jid)));
      return thread ? groupMetadataOf(thread) : undefined;
    } catch (err) {
      // A failed lookup costs one metadata query, never the send.
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cachedGroupMetadata lookup failed');
      return undefined;
    }
  };
}

/** A stored group thread as Baileys' `GroupMetadata`, or undefined when its roster is not known. */
export function groupMetadataOf(thread: ThreadRecord): GroupMetadata | undefined {
  if (!thread.isGroup || thread.participants === null) return undefined;
  const mode = thread.groupAddressingMode ?? (thread.participants.every((p) => p.jid.endsWith('@lid')) ? 'lid' : 'pn');
  return {
    id: thread.clientJid,
    subject: thread.displayName ?? '',
    owner: undefined,
    addressingMode: mode === 'lid' ? WAMessageAddressingMode.LID : WAMessageAddressingMode.PN,
    size: thread.participants.length,
    participants: thread.participants.map((p) => ({
      id: p.jid,
      ...(p.phoneNumber && p.phoneNumber !== p.jid ? { phoneNumber: p.phoneNumber } : {}),
      ...(p.lid && p.lid !== p.jid ? { lid: p.lid } : {}),
      admin: p.admin,
      isAdmin: p.admin !== null,
      isSuperAdmin: p.admin === 'superadmin',
    })),
  };
}

export interface SocketConfigInput {
  auth: AuthenticationState;
  logger: Logger;
  syncFullHistory: boolean;
  getMessage: SocketConfig['getMessage'];
  /** Group rosters for sends (`storeGroupMetadata`); default: Baileys' (none: every group send queries WhatsApp). */
  cachedGroupMetadata?: SocketConfig['cachedGroupMetadata'];
  /** Wraps Baileys' Signal repository (the history journal's pre-ack hook); default: Baileys' own. */
  makeSignalRepository?: SocketConfig['makeSignalRepository'];
  /** The WhatsApp Web version to announce (wa-version.ts); default: the one bundled with Baileys. */
  version?: WAVersion;
}

/** Everything `makeWASocket` is given, as a pure function so it is tested without opening a connection. */
export function buildSocketConfig(input: SocketConfigInput): UserFacingSocketConfig {
  return {
    auth: input.auth,
    logger: input.logger,
    // 'Mac OS' + 'Desktop' registers as the desktop app (validate-connection.js:36-38, webSubPlatform
    // DARWIN) rather than a browser tab: WhatsApp offers desktop clients the full history.
    browser: Browsers.macOS('Desktop'),
    syncFullHistory: input.syncFullHistory,
    shouldSyncHistoryMessage: acceptEveryHistoryChunk,
    getMessage: input.getMessage,
    ...(input.cachedGroupMetadata ? { cachedGroupMetadata: input.cachedGroupMetadata } : {}),
    // Appearing online would silence the phone's notifications for the business's staff.
    markOnlineOnConnect: false,
    makeSignalRepository: input.makeSignalRepository ?? DEFAULT_CONNECTION_CONFIG.makeSignalRepository,
    ...(input.version ? { version: input.version } : {}),
  };
}
