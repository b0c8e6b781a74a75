/**
 * The REST API's shapes as the console reads them (README, API and Data model). Declared here, not
 * imported from the server: the console is a client of the public contract like any other. Most account
 * fields are optional because a live `account.updated` event may carry only some of them; fields not
 * every server has (group participants, instances) are shown when present.
 */

export type ConnectionStatus =
  | 'created'
  | 'connecting'
  | 'qr'
  | 'open'
  | 'reconnecting'
  | 'logged_out'
  | 'forbidden'
  | 'replaced'
  | 'stopped'
  | 'failed';

export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'read';
export type SyncSource = 'history_sync' | 'realtime' | 'backfill' | 'outbound_api';

export interface BackfillResult {
  threads: number;
  messages: number;
  errors: number;
  threadResults?: Array<{ threadId: string; messages: number; error?: string }>;
}

export interface HistorySyncResult {
  saved: number;
  skipped: number;
  errors: number;
  total: number;
  dryRun: boolean;
}

/** README, Data model, "History sync": the state of the account's current history sync. */
export type HistorySyncStatus = 'waiting' | 'running' | 'paused' | 'complete';

/** The two sync types WhatsApp reports a progress for, in the order it sends them. */
export const PROGRESS_SYNC_TYPES = ['RECENT', 'FULL'] as const;
export type ProgressSyncType = (typeof PROGRESS_SYNC_TYPES)[number];

/** `historySyncProgress`: each the highest progress (0–100) its chunks reported, null before the first. */
export type HistorySyncProgress = Record<ProgressSyncType, number | null>;

export interface AccountRuntime {
  actor: 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';
  connection: ConnectionStatus;
  reason: string | null;
  restarts: number;
  qrAvailable: boolean;
  pendingWrites?: number;
  me: string | null;
}

export interface ApiAccount {
  id: string;
  createdAt?: string | null;
  status?: ConnectionStatus;
  statusReason?: string | null;
  phoneNumber?: string | null;
  displayName?: string | null;
  reconnectAttempts?: number;
  lastConnectedAt?: string | null;
  caughtUp?: boolean;

  lastHistorySyncAt?: string | null;
  /** Messages stored by history syncs, all chunks together. */
  historySyncCount?: number;
  lastHistorySyncResult?: HistorySyncResult | null;
  // The current history sync (README, Data model, "History sync"); the accounts API always sends them.
  historySyncStatus?: HistorySyncStatus;
  historySyncProgress?: HistorySyncProgress;
  /** Chunks received per sync type (`INITIAL_BOOTSTRAP`, `PUSH_NAME`, `RECENT`, `FULL`, …). */
  historySyncChunks?: Record<string, number>;
  /** Messages this sync newly stored (`historySyncCount` counts every sync since the account was created). */
  historySyncMessagesSaved?: number;
  historySyncStartedAt?: string | null;
  historySyncUpdatedAt?: string | null;
  historySyncLastChunkAt?: string | null;
  historySyncCompletedAt?: string | null;
  /** No chunk for `HISTORY_SYNC_STALL_MS` while connected and not complete; cleared by the next chunk. */
  historySyncStalled?: boolean;
  historySyncStalledAt?: string | null;

  lastBackfillAt?: string | null;
  lastBackfillResult?: BackfillResult | null;
  lastAutoBackfillStatus?: 'running' | 'ok' | 'error' | null;
  lastAutoBackfillAt?: string | null;
  lastAutoBackfillAttemptAt?: string | null;
  lastAutoBackfillSuccessAt?: string | null;
  lastAutoBackfillResult?: (BackfillResult & { durationMs?: number; error?: string }) | null;
  autoBackfillLeaseHolder?: string | null;
  autoBackfillLeaseUntil?: string | null;
  lastRecentSyncAt?: string | null;
  lastRecentSyncResult?: BackfillResult | null;
  ownerLeaseHolder?: string | null;
  ownerLeaseUntil?: string | null;

  lastRealtimeIngestAt?: string | null;
  lastRealtimeMessageAt?: string | null;
  lastRealtimeError?: string | null;
  runtime?: AccountRuntime;
}

export interface ApiThread {
  id: string;
  accountId: string;
  clientJid: string;
  displayName: string | null;
  lastMessageAt: string | null;
  lastMessagePreview: string | null;
  lastMessageId?: string | null;
  lidJid?: string | null;
  isGroup?: boolean;
  lastBackfillAt?: string | null;
  /** Group threads, when the server reports them. */
  participants?: Array<string | { jid: string; name?: string | null; admin?: string | null }> | null;
}

export interface ApiMessage {
  id: string;
  accountId: string;
  clientJid: string;
  direction: 'inbound' | 'outbound';
  body: string | null;
  status: MessageStatus;
  messageType: string;
  mediaType?: string | null;
  mediaMimetype?: string | null;
  mediaFilename?: string | null;
  mediaSize?: number | null;
  createdAt: string | null;
  syncSource?: SyncSource | string | null;
  fromMe?: boolean;
  participant?: string | null;
  pushName?: string | null;
  editedAt?: string | null;
  revokedAt?: string | null;
  sendError?: string | null;
  deliveredAt?: string | null;
  readAt?: string | null;
  /** Present on live-feed events (`message.created` / `message.updated`). */
  threadId?: string;
}

export interface Page {
  count: number;
  nextCursor: string | null;
}

export interface ThreadsPage extends Page {
  threads: ApiThread[];
}

export interface MessagesPage extends Page {
  thread: ApiThread;
  messages: ApiMessage[];
}

export interface QrAnswer {
  accountId: string;
  connection: ConnectionStatus;
  qr: string | null;
}

export interface SendAnswer {
  messageId: string;
  threadId: string;
  clientJid: string;
  status: MessageStatus;
}

export interface ReadyAnswer {
  ready: boolean;
  mode: 'active' | 'passive';
  instanceId: string;
  draining?: boolean;
}

/** One account an instance holds (its owner lease), as `GET /api/whatsapp/instances` lists it. */
export interface ApiHeldAccount {
  accountId: string;
  /** The fencing epoch: it grows on every change of owner. */
  epoch: number;
  acquiredAt: string | null;
  until: string | null;
  leaseAgeSeconds: number | null;
  expiresInSeconds: number | null;
}

/** One instance of the fleet (README, API: `GET /api/whatsapp/instances`). */
export interface ApiInstance {
  instanceId: string;
  url: string | null;
  mode: 'active' | 'passive';
  /** `running`, or `draining` while it shuts down. */
  state: string;
  /** Its heartbeat is recent enough to count it in placement. */
  alive: boolean;
  /** The instance that answered this request. */
  self: boolean;
  startedAt: string | null;
  heartbeatAt: string | null;
  heartbeatAgeSeconds: number | null;
  /** 0: no cap (MAX_ACCOUNTS_PER_INSTANCE). */
  maxAccounts: number;
  accountCount: number;
  accounts: ApiHeldAccount[];
}

/** `GET /api/whatsapp/instances`: the fleet, which any instance answers. */
export interface ApiFleet {
  self: string;
  mode: 'active' | 'passive';
  leaseMs: number;
  tickMs: number;
  count: number;
  instances: ApiInstance[];
  /** Accounts no live instance holds right now (they are being taken over). */
  unowned: string[];
  /** Accounts waiting for a person (logged out, failed…): nobody runs them. */
  parked: string[];
}

/** States in which an account will not come back by itself: someone has to act (pair again, fix the cause). */
export const STOPPED_STATES: ReadonlySet<ConnectionStatus> = new Set(['logged_out', 'forbidden', 'replaced', 'stopped', 'failed']);

export function connectionOf(a: ApiAccount): ConnectionStatus {
  return a.runtime?.connection ?? a.status ?? 'created';
}
