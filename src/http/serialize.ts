import {
  ACCOUNT_INSTANT_FIELDS,
  type AccountInstantField,
  type AccountRecord,
  type MessageRecord,
  type ThreadRecord,
} from '../domain/records.js';
import type { AccountRuntime, AccountView, FleetView, InstanceView, OwnerView } from '../supervisor/service.js';
import type { ProtocolVersionStatus } from '../domain/protocol-version.js';
import { historySyncOf, historySyncPatch, type HistorySyncState } from '../domain/history-sync.js';
import type { HistorySyncProgress, HistorySyncStatus } from '../domain/records.js';

/**
 * Records → API JSON. Field names are the public contract (README, API and Data model: extend, never
 * rename); every epoch-ms instant is rendered as an ISO 8601 string.
 */

/** Null when unset (or, defensively, not a valid instant). */
export function iso(ms: number | null | undefined): string | null {
  // Out-of-range values would make toISOString throw and turn a whole page into a 500.
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return new Date(ms).toISOString();
}

type ThreadTimeKey = 'lastMessageAt' | 'lastBackfillAt' | 'createdAt' | 'updatedAt';
export type ApiThread = { [K in keyof ThreadRecord]: K extends ThreadTimeKey ? string | null : ThreadRecord[K] };

export function serializeThread(t: ThreadRecord): ApiThread {
  return {
    id: t.id,
    accountId: t.accountId,
    clientJid: t.clientJid,
    displayName: t.displayName,
    lastMessageAt: iso(t.lastMessageAt),
    lastMessagePreview: t.lastMessagePreview,
    lastBackfillAt: iso(t.lastBackfillAt),
    lastMessageId: t.lastMessageId,
    lidJid: t.lidJid,
    displayNameSource: t.displayNameSource,
    isGroup: t.isGroup,
    participants: t.participants,
    groupAddressingMode: t.groupAddressingMode,
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
  };
}

type MessageTimeKey = 'tsServer' | 'createdAt' | 'syncedAt' | 'deliveredAt' | 'readAt' | 'editedAt' | 'revokedAt' | 'mediaArchivedAt';
/**
 * `rawMessage` (the encoded proto) and `media` (it holds the media decryption key) never leave the
 * process. The mapped type makes the literal below list every other field: a field added to
 * `MessageRecord` fails the type check here until it is deliberately exposed or left out.
 */
type HiddenMessageKey = 'rawMessage' | 'media';
export type ApiMessage = {
  [K in Exclude<keyof MessageRecord, HiddenMessageKey>]: K extends MessageTimeKey ? string | null : MessageRecord[K];
};

export function serializeMessage(m: MessageRecord): ApiMessage {
  return {
    id: m.id,
    accountId: m.accountId,
    clientJid: m.clientJid,
    direction: m.direction,
    body: m.body,
    waMessageId: m.waMessageId,
    status: m.status,
    messageType: m.messageType,
    mediaType: m.mediaType,
    mediaUrl: m.mediaUrl,
    mediaMimetype: m.mediaMimetype,
    mediaFilename: m.mediaFilename,
    tsClient: m.tsClient,
    tsServer: iso(m.tsServer),
    createdAt: iso(m.createdAt),
    syncedAt: iso(m.syncedAt),
    syncSource: m.syncSource,
    deliveredAt: iso(m.deliveredAt),
    readAt: iso(m.readAt),
    contentType: m.contentType,
    fromMe: m.fromMe,
    participant: m.participant,
    pushName: m.pushName,
    syncType: m.syncType,
    mediaSize: m.mediaSize,
    refMessageId: m.refMessageId,
    editedAt: iso(m.editedAt),
    revokedAt: iso(m.revokedAt),
    sendError: m.sendError,
    senderName: m.senderName,
    mediaArchivedAt: iso(m.mediaArchivedAt),
    mediaSha256: m.mediaSha256,
    mediaArchiveKey: m.mediaArchiveKey,
    mediaArchiveError: m.mediaArchiveError,
  };
}

type AccountTimeKey = AccountInstantField;

export type ApiAccountRecord = {
  [K in keyof AccountRecord]: K extends AccountTimeKey ? string | null : AccountRecord[K];
};
/** The runtime as the API shows it: the health report's time and the owner lease's instants as ISO instants, like every instant. */
export type ApiAccountRuntime = Omit<AccountRuntime, 'health' | 'owner'> & {
  health?: (Omit<NonNullable<AccountRuntime['health']>, 'reportedAt'> & { reportedAt: string }) | null;
  owner?: ReturnType<typeof serializeOwner>;
};
export type ApiAccount = ApiAccountRecord & { runtime: ApiAccountRuntime };

/**
 * Account records are patched field by field, so most fields may be absent; the instants are always
 * present (null when unset) so dashboards can read them without probing.
 */
export function serializeAccountRecord(account: AccountRecord): ApiAccountRecord {
  // The history-sync fields are always present too: an account stored before they existed gets the
  // state they imply (README, Data model).
  const out: Record<string, unknown> = { ...historySyncPatch(historySyncOf(account)), ...account };
  for (const key of ACCOUNT_INSTANT_FIELDS) out[key] = iso(account[key]);
  // Every key of AccountRecord was copied and exactly the time keys were converted: the mapped type.
  return out as ApiAccountRecord;
}

export function serializeAccountView(view: AccountView): ApiAccount {
  const { health, owner, ...runtime } = view.runtime;
  return {
    ...serializeAccountRecord(view.account),
    runtime: {
      ...runtime,
      ...(health === undefined
        ? {}
        : { health: health === null ? null : { ...health, reportedAt: new Date(health.reportedAt).toISOString() } }),
      ...(owner === undefined ? {} : { owner: serializeOwner(owner) }),
    },
  };
}

/** An owner lease as the API shows it: who and where, the epoch, its instants and ages. */
export function serializeOwner(owner: OwnerView | null) {
  if (owner === null) return null;
  return {
    instanceId: owner.instanceId,
    url: owner.url,
    epoch: owner.epoch,
    valid: owner.valid,
    self: owner.self,
    acquiredAt: iso(owner.acquiredAt),
    until: iso(owner.until),
    leaseAgeSeconds: seconds(owner.leaseAgeMs),
    expiresInSeconds: seconds(owner.expiresInMs),
  };
}

function seconds(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms / 100) / 10;
}

/** `GET /api/whatsapp/instances` → one instance of the fleet, with the accounts it owns. */
export function serializeInstance(i: InstanceView) {
  return {
    instanceId: i.instanceId,
    url: i.url,
    mode: i.mode,
    state: i.state,
    alive: i.alive,
    self: i.self,
    startedAt: iso(i.startedAt),
    heartbeatAt: iso(i.heartbeatAt),
    heartbeatAgeSeconds: seconds(i.heartbeatAgeMs),
    maxAccounts: i.maxAccounts,
    accountCount: i.accounts.length,
    accounts: i.accounts.map((a) => ({
      accountId: a.accountId,
      epoch: a.epoch,
      acquiredAt: iso(a.acquiredAt),
      until: iso(a.until),
      leaseAgeSeconds: seconds(a.leaseAgeMs),
      expiresInSeconds: seconds(a.expiresInMs),
    })),
  };
}

export function serializeFleet(f: FleetView) {
  return {
    self: f.self,
    mode: f.mode,
    leaseMs: f.leaseMs,
    tickMs: f.tickMs,
    instances: f.instances.map(serializeInstance),
    count: f.instances.length,
    unowned: f.unowned,
    parked: f.parked,
  };
}

/** The runbook's dashboard fields, plus the auto-backfill and realtime diagnostics (README, API). */
export interface DashboardAccount {
  accountId: string;
  /** Live connection state of the account's actor. */
  status: AccountRuntime['connection'];
  actor: AccountRuntime['actor'];
  phoneNumber: string | null;
  lastBackfillAt: string | null;
  lastHistorySyncAt: string | null;
  historySyncCount: number;
  lastAutoBackfillStatus: Exclude<AccountRecord['lastAutoBackfillStatus'], undefined>;
  lastAutoBackfillAt: string | null;
  lastAutoBackfillSuccessAt: string | null;
  lastRecentSyncAt: string | null;
  lastRealtimeIngestAt: string | null;
  lastRealtimeMessageAt: string | null;
  lastRealtimeError: string | null;
  historySyncStatus: HistorySyncStatus;
  historySyncProgress: HistorySyncProgress;
  historySyncChunks: Record<string, number>;
  historySyncMessagesSaved: number;
  historySyncStartedAt: string | null;
  historySyncUpdatedAt: string | null;
  historySyncCompletedAt: string | null;
  historySyncStalled: boolean;
  historySyncStalledAt: string | null;
  /** Which instance runs the account (its owner lease), the lease's epoch and ages; null when nobody. */
  owner: ReturnType<typeof serializeOwner>;
}

export function serializeDashboardAccount({ account: a, runtime }: AccountView): DashboardAccount {
  return {
    accountId: a.id,
    status: runtime.connection,
    actor: runtime.actor,
    phoneNumber: a.phoneNumber ?? null,
    lastBackfillAt: iso(a.lastBackfillAt),
    lastHistorySyncAt: iso(a.lastHistorySyncAt),
    historySyncCount: a.historySyncCount ?? 0,
    lastAutoBackfillStatus: a.lastAutoBackfillStatus ?? null,
    lastAutoBackfillAt: iso(a.lastAutoBackfillAt),
    lastAutoBackfillSuccessAt: iso(a.lastAutoBackfillSuccessAt),
    lastRecentSyncAt: iso(a.lastRecentSyncAt),
    lastRealtimeIngestAt: iso(a.lastRealtimeIngestAt),
    lastRealtimeMessageAt: iso(a.lastRealtimeMessageAt),
    lastRealtimeError: a.lastRealtimeError ?? null,
    owner: serializeOwner(runtime.owner ?? null),
    ...dashboardHistorySync(historySyncOf(a)),
  };
}

function dashboardHistorySync(h: HistorySyncState) {
  return {
    historySyncStatus: h.status,
    historySyncProgress: h.progress,
    historySyncChunks: h.chunks,
    historySyncMessagesSaved: h.messagesSaved,
    historySyncStartedAt: iso(h.startedAt),
    historySyncUpdatedAt: iso(h.updatedAt),
    historySyncCompletedAt: iso(h.completedAt),
    historySyncStalled: h.stalled,
    historySyncStalledAt: iso(h.stalledAt),
  };
}

/** `GET /api/status/dashboard` → `waVersion`: the WhatsApp Web version the sockets announce. */
export function serializeProtocolVersion(v: ProtocolVersionStatus) {
  return {
    version: v.version,
    source: v.source,
    fetchedAt: iso(v.fetchedAt),
    ageSeconds: v.ageSeconds,
    checkedAt: iso(v.checkedAt),
    lastError: v.lastError,
  };
}

/** `GET /diag` → `latestRealtime` (README, How to tell if sync is running or blocked). */
export interface RealtimeDiag {
  accountId: string;
  lastRealtimeIngestAt: string | null;
  lastRealtimeMessageAt: string | null;
  lastRealtimeError: string | null;
}

export function serializeRealtimeDiag(a: AccountRecord): RealtimeDiag {
  return {
    accountId: a.id,
    lastRealtimeIngestAt: iso(a.lastRealtimeIngestAt),
    lastRealtimeMessageAt: iso(a.lastRealtimeMessageAt),
    lastRealtimeError: a.lastRealtimeError ?? null,
  };
}
