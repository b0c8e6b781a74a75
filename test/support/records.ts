import type { MessageRecord } from '../../src/domain/records.js';
import { NEW_WEBHOOK_STATE, type WebhookEndpoint } from '../../src/store/webhooks.js';

/** A fixed instant so that expectations can be written as offsets from it. */
export const BASE_TIME = Date.UTC(2026, 0, 17, 12, 0, 0);

let sequence = 0;

/**
 * A complete, valid MessageRecord with every field set, for tests. Fields that other fields derive
 * from follow the overrides unless given explicitly: `waMessageId` from `id`, `tsClient` from
 * `createdAt`, `fromMe` from `direction`, `tsServer` a second after `createdAt`.
 */
export function makeMessage(overrides: Partial<MessageRecord> = {}): MessageRecord {
  sequence += 1;
  const id = overrides.id ?? `MSG${String(sequence).padStart(6, '0')}`;
  const createdAt = overrides.createdAt ?? BASE_TIME;
  const direction = overrides.direction ?? 'inbound';
  return {
    id,
    accountId: 'acc-1',
    clientJid: '40712345678@s.whatsapp.net',
    direction,
    body: 'hello',
    waMessageId: id,
    status: direction === 'outbound' ? 'sent' : 'delivered',
    messageType: 'text',
    mediaType: null,
    mediaUrl: null,
    mediaMimetype: null,
    mediaFilename: null,
    tsClient: new Date(createdAt).toISOString(),
    tsServer: createdAt + 1000,
    createdAt,
    syncedAt: null,
    syncSource: 'realtime',
    deliveredAt: null,
    readAt: null,
    contentType: 'conversation',
    fromMe: direction === 'outbound',
    participant: null,
    pushName: null,
    syncType: null,
    mediaSize: null,
    media: null,
    refMessageId: null,
    editedAt: null,
    revokedAt: null,
    sendError: null,
    rawMessage: null,
    senderName: null,
    mediaArchivedAt: null,
    mediaSha256: null,
    mediaArchiveKey: null,
    mediaArchiveError: null,
    ...overrides,
  };
}

/** A new, active webhook endpoint record with nothing delivered yet, as the store creates it; overrides win. */
export function makeWebhookEndpoint(overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: 'wh_1',
    url: 'https://hooks.example.com/wasync',
    accountId: null,
    events: null,
    secret: 'whsec_test',
    description: null,
    source: 'api',
    createdAt: BASE_TIME,
    updatedAt: BASE_TIME,
    ...NEW_WEBHOOK_STATE,
    cursor: {},
    ...overrides,
  };
}
