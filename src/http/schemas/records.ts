import { type Static, Type } from '@sinclair/typebox';
import { HISTORY_SYNC_STATUSES, MESSAGE_TYPES, SYNC_SOURCES, type ConnectionStatus, type DisplayNameSource } from '../../domain/records.js';
import type { ApiAccount, ApiMessage, ApiThread, DashboardAccount, RealtimeDiag } from '../serialize.js';
import { component, Instant, Nullable, NullableEnum, StringEnum } from './common.js';

/**
 * The records as the API renders them (src/http/serialize.ts; README, Data model). Response objects
 * refuse unknown properties, so a field added to a serializer fails the tests' response check until it
 * is documented here. The `Agrees` checks at the bottom make the TypeScript types and these schemas
 * fail to compile when they disagree.
 */

const CONNECTION_STATUSES = [
  'created',
  'connecting',
  'qr',
  'open',
  'reconnecting',
  'logged_out',
  'forbidden',
  'replaced',
  'stopped',
  'failed',
] as const satisfies readonly ConnectionStatus[];
const DISPLAY_NAME_SOURCES = [
  'pushName',
  'verifiedName',
  'chatName',
  'contactName',
  'groupSubject',
] as const satisfies readonly DisplayNameSource[];

const Str = (description?: string) => Type.String(description === undefined ? {} : { description });
const NullStr = (description?: string) => Nullable(Str(description));
const NullInt = (description?: string) => Nullable(Type.Integer(description === undefined ? {} : { description }));

export const GroupParticipant = component(
  'GroupParticipant',
  Type.Object(
    {
      jid: Str('As the group addresses the member: a LID in LID-addressed groups, else the phone-number JID.'),
      phoneNumber: NullStr('Phone-number JID when known.'),
      lid: NullStr('LID when known.'),
      admin: NullableEnum(['admin', 'superadmin'] as const),
    },
    { additionalProperties: false },
  ),
);

export const Thread = component(
  'Thread',
  Type.Object(
    {
      id: Str('`{accountId}__{clientJid}`'),
      accountId: Str(),
      clientJid: Str('Canonical JID: the phone-number JID when known.'),
      displayName: NullStr(),
      lastMessageAt: Instant(),
      lastMessagePreview: NullStr('First 100 characters of the newest message.'),
      lastBackfillAt: Instant(),
      lastMessageId: NullStr(),
      lidJid: NullStr('The LID form of a person whose `clientJid` is the phone-number JID.'),
      displayNameSource: NullableEnum(DISPLAY_NAME_SOURCES),
      isGroup: Type.Boolean(),
      participants: Type.Union([Type.Array(GroupParticipant), Type.Null()], {
        description: 'Groups: every member with their role; null for 1:1 chats and unknown rosters.',
      }),
      groupAddressingMode: NullableEnum(['lid', 'pn'] as const),
      createdAt: Instant(),
      updatedAt: Instant(),
    },
    { additionalProperties: false, description: 'A conversation: `threads/{accountId}__{clientJid}` (README, Data model).' },
  ),
);

export const Message = component(
  'Message',
  Type.Object(
    {
      id: Str('The WhatsApp message id.'),
      accountId: Str(),
      clientJid: Str(),
      direction: StringEnum(['inbound', 'outbound'] as const),
      body: Str(),
      waMessageId: Str(),
      status: StringEnum(['queued', 'sent', 'delivered', 'read'] as const, { description: 'Only moves forward.' }),
      messageType: StringEnum(MESSAGE_TYPES),
      mediaType: NullStr(),
      mediaUrl: NullStr(),
      mediaMimetype: NullStr(),
      mediaFilename: NullStr(),
      tsClient: Str('The message’s WhatsApp time, ISO 8601.'),
      tsServer: Instant('When wasync first stored it.'),
      createdAt: Instant('The message’s own WhatsApp time: lists are ordered by it.'),
      syncedAt: Instant(),
      syncSource: StringEnum(SYNC_SOURCES),
      deliveredAt: Instant(),
      readAt: Instant(),
      contentType: Str('The proto content field (`conversation`, `imageMessage`, …).'),
      fromMe: Type.Boolean(),
      participant: NullStr('Group sender.'),
      pushName: NullStr(),
      syncType: NullStr(),
      mediaSize: NullInt(),
      refMessageId: NullStr('The message this one quotes or reacts to.'),
      editedAt: Instant(),
      revokedAt: Instant(),
      sendError: NullStr(),
      senderName: NullStr(),
      mediaArchivedAt: Instant(),
      mediaSha256: NullStr(),
      mediaArchiveKey: NullStr(),
      mediaArchiveError: NullStr(),
    },
    { additionalProperties: false, description: 'A stored message: `threads/{threadId}/messages/{messageId}` (README, Data model).' },
  ),
);

const Counts = {
  threads: Type.Integer(),
  messages: Type.Integer(),
  errors: Type.Integer(),
  threadResults: Type.Array(
    Type.Object({ threadId: Str(), messages: Type.Integer(), error: Type.Optional(Str()) }, { additionalProperties: false }),
  ),
};
const BackfillResult = component('BackfillResult', Type.Object(Counts, { additionalProperties: false }));
const AutoBackfillResult = Type.Object(
  { ...Counts, durationMs: Type.Number(), error: Type.Optional(Str()) },
  { additionalProperties: false },
);
const HistorySyncResult = Type.Object(
  { saved: Type.Integer(), skipped: Type.Integer(), errors: Type.Integer(), total: Type.Integer(), dryRun: Type.Boolean() },
  { additionalProperties: false },
);
const HistorySyncProgress = Type.Object(
  { RECENT: Nullable(Type.Number()), FULL: Nullable(Type.Number()) },
  { additionalProperties: false, description: 'Highest progress (0–100) per phase; null before its first chunk.' },
);
const HistorySyncChunks = Type.Record(Type.String(), Type.Integer(), { description: 'Chunks received per sync type.' });
const HistorySyncStatus = StringEnum(HISTORY_SYNC_STATUSES);

/** An owner lease as the API shows it (several instances on one store; README, Running several instances). */
export const OwnerLease = component(
  'OwnerLease',
  Type.Object(
    {
      instanceId: Str(),
      url: NullStr('Where the owner is reached (`INSTANCE_URL`).'),
      epoch: Type.Integer({ description: 'Fencing epoch: +1 on every acquisition.' }),
      valid: Type.Boolean({ description: 'The lease is unexpired.' }),
      self: Type.Boolean({ description: 'This instance is the owner.' }),
      acquiredAt: Instant(),
      until: Instant(),
      leaseAgeSeconds: Nullable(Type.Number()),
      expiresInSeconds: Nullable(Type.Number({ description: 'Negative: expired.' })),
    },
    { additionalProperties: false },
  ),
);

export const AccountRuntime = component(
  'AccountRuntime',
  Type.Object(
    {
      actor: StringEnum(['starting', 'running', 'restarting', 'stopped', 'failed', 'remote'] as const, {
        description: '`remote`: another instance of the fleet owns the account (see `owner`).',
      }),
      connection: StringEnum(CONNECTION_STATUSES),
      reason: NullStr(),
      restarts: Type.Integer(),
      qrAvailable: Type.Boolean(),
      pendingWrites: Type.Integer(),
      me: NullStr('The account’s own JID once paired.'),
      health: Type.Optional(
        Type.Union(
          [
            Type.Object(
              {
                loopDelay: Type.Object(
                  { p50Ms: Type.Number(), p99Ms: Type.Number(), maxMs: Type.Number() },
                  { additionalProperties: false, description: 'The actor thread’s event-loop delay over the last one-second window.' },
                ),
                writes: Type.Object(
                  {
                    pending: Type.Integer(),
                    oldestPendingMs: Type.Number(),
                    retrying: Type.Boolean(),
                    inFlightMs: Type.Number(),
                    retries: Type.Integer(),
                  },
                  { additionalProperties: false, description: 'The batch writer: pending operations, the oldest one’s age, retries.' },
                ),
                reportedAt: Type.String({ format: 'date-time' }),
              },
              { additionalProperties: false },
            ),
            Type.Null(),
          ],
          {
            description:
              'The actor’s last health report (every second); null before the first one or when older than three reports ' +
              '(its loop is stuck, or it stopped).',
          },
        ),
      ),
      owner: Type.Optional(Type.Union([OwnerLease, Type.Null()], { description: 'The instance holding the owner lease; null: nobody.' })),
    },
    { additionalProperties: false, description: 'Live state of the account’s actor on this instance.' },
  ),
);

const opt = Type.Optional;
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** Account records are patched field by field: everything but `id` may be absent (instants are always there). */
export const Account = component(
  'Account',
  Type.Object(
    {
      id: Str(),
      createdAt: opt(Instant()),
      updatedAt: opt(Instant()),
      status: opt(StringEnum(CONNECTION_STATUSES)),
      statusReason: opt(NullStr()),
      statusAt: opt(Instant()),
      phoneNumber: opt(NullStr()),
      displayName: opt(NullStr()),
      connector: opt(Str()),
      reconnectAttempts: opt(Type.Integer()),
      lastConnectedAt: opt(Instant()),
      lastHistorySyncAt: opt(Instant()),
      historySyncCount: opt(Type.Integer({ description: 'Messages the history sync newly stored.' })),
      lastHistorySyncResult: opt(nullable(HistorySyncResult)),
      historySyncStatus: opt(HistorySyncStatus),
      historySyncProgress: opt(HistorySyncProgress),
      historySyncChunks: opt(HistorySyncChunks),
      historySyncMessagesSaved: opt(Type.Integer()),
      historySyncStartedAt: opt(Instant()),
      historySyncUpdatedAt: opt(Instant()),
      historySyncLastChunkAt: opt(Instant()),
      historySyncCompletedAt: opt(Instant()),
      historySyncStalled: opt(Type.Boolean()),
      historySyncStalledAt: opt(Instant()),
      lastBackfillAt: opt(Instant()),
      lastBackfillResult: opt(nullable(BackfillResult)),
      lastAutoBackfillStatus: opt(NullableEnum(['running', 'ok', 'error'] as const)),
      lastAutoBackfillAt: opt(Instant()),
      lastAutoBackfillAttemptAt: opt(Instant()),
      lastAutoBackfillSuccessAt: opt(Instant()),
      lastAutoBackfillResult: opt(nullable(AutoBackfillResult)),
      autoBackfillLeaseUntil: opt(Instant()),
      autoBackfillLeaseHolder: opt(NullStr()),
      autoBackfillLeaseAcquiredAt: opt(Instant()),
      autoBackfillLeaseEpoch: opt(Type.Integer({ description: 'Fencing epoch of the lease: +1 on every acquisition.' })),
      recentSyncLeaseUntil: opt(Instant()),
      recentSyncLeaseHolder: opt(NullStr()),
      recentSyncLeaseAcquiredAt: opt(Instant()),
      recentSyncLeaseEpoch: opt(Type.Integer()),
      ownerLeaseUntil: opt(Instant()),
      ownerLeaseHolder: opt(NullStr()),
      ownerLeaseAcquiredAt: opt(Instant()),
      ownerLeaseEpoch: opt(Type.Integer({ description: 'The owner lease’s fencing epoch (several instances).' })),
      lastRecentSyncAt: opt(Instant()),
      lastRecentSyncResult: opt(nullable(BackfillResult)),
      lastRealtimeIngestAt: opt(Instant()),
      lastRealtimeMessageAt: opt(Instant()),
      lastRealtimeError: opt(NullStr()),
      caughtUp: opt(Type.Boolean()),
      caughtUpAt: opt(Instant()),
      runtime: AccountRuntime,
    },
    { additionalProperties: false, description: 'An account’s stored fields (`accounts/{accountId}`) and its live `runtime`.' },
  ),
);

export const DashboardAccountSchema = component(
  'DashboardAccount',
  Type.Object(
    {
      accountId: Str(),
      status: StringEnum(CONNECTION_STATUSES, { description: 'Live connection state.' }),
      actor: StringEnum(['starting', 'running', 'restarting', 'stopped', 'failed', 'remote'] as const),
      phoneNumber: NullStr(),
      lastBackfillAt: Instant(),
      lastHistorySyncAt: Instant(),
      historySyncCount: Type.Integer(),
      lastAutoBackfillStatus: NullableEnum(['running', 'ok', 'error'] as const),
      lastAutoBackfillAt: Instant(),
      lastAutoBackfillSuccessAt: Instant(),
      lastRecentSyncAt: Instant(),
      lastRealtimeIngestAt: Instant(),
      lastRealtimeMessageAt: Instant(),
      lastRealtimeError: NullStr(),
      historySyncStatus: HistorySyncStatus,
      historySyncProgress: HistorySyncProgress,
      historySyncChunks: HistorySyncChunks,
      historySyncMessagesSaved: Type.Integer(),
      historySyncStartedAt: Instant(),
      historySyncUpdatedAt: Instant(),
      historySyncCompletedAt: Instant(),
      historySyncStalled: Type.Boolean(),
      historySyncStalledAt: Instant(),
      owner: Type.Union([OwnerLease, Type.Null()], { description: 'Which instance runs the account (its owner lease); null: nobody.' }),
    },
    { additionalProperties: false },
  ),
);

export const RealtimeDiagSchema = Type.Object(
  {
    accountId: Str(),
    lastRealtimeIngestAt: Instant(),
    lastRealtimeMessageAt: Instant(),
    lastRealtimeError: NullStr(),
  },
  { additionalProperties: false },
);

// Compile-time agreement between the serializers' types and these schemas, both ways: a field added,
// removed or retyped on one side only fails `npm run typecheck` here.
type Agrees<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agreements: [
  Agrees<Static<typeof Thread>, ApiThread>,
  Agrees<Static<typeof Message>, ApiMessage>,
  Agrees<Static<typeof DashboardAccountSchema>, DashboardAccount>,
  Agrees<Static<typeof RealtimeDiagSchema>, RealtimeDiag>,
  Agrees<Static<typeof Account>, ApiAccount>,
] = [true, true, true, true, true];
void agreements;
