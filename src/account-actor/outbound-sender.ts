import { generateMessageIDV2, proto } from '@whiskeysockets/baileys';
import type { WaSocket } from '../connectors/types.js';
import { BadRequestError, WasyncError } from '../domain/errors.js';
import type { Mutation } from '../domain/mutations.js';
import { NOT_ARCHIVED, type ConnectionStatus, type MessageRecord } from '../domain/records.js';
import { threadIdOf } from '../domain/thread-id.js';
import type { Store } from '../store/port.js';
import type { SubmitOutcome } from './batch-writer.js';
import type { SendCommand, SendOutcome } from './protocol.js';
import { resolveRecipient } from './recipient.js';

export interface OutboundSenderDeps {
  accountId: string;
  store: Pick<Store, 'getMessage' | 'getThread'>;
  /** The actor's batch writer: sends are written in order with everything else the account ingests. */
  submit: (mutations: readonly Mutation[]) => Promise<SubmitOutcome>;
  /** The live socket, or `NOT_CONNECTED`. */
  socket: () => WaSocket;
  connection: () => ConnectionStatus;
  /** Our own JID once connected (message ids are generated the way Baileys does for it). */
  me: () => string | null;
  pnForLid: (lid: string) => string | undefined;
  /** Called with the committed `queued` row, for the actor's `messages` event. */
  onQueued: (outcome: SubmitOutcome) => void;
  now: () => number;
  /**
   * How long the send waits for its `queued` row to commit (SEND_STORE_TIMEOUT_MS). Past it the
   * answer is STORE_UNAVAILABLE and nothing goes to WhatsApp; the row still commits when the store
   * comes back, as `queued`, and a retry with the same id sends it.
   */
  storeTimeoutMs: number;
}

/**
 * `POST /api/whatsapp/send` in the actor. The message is stored as `queued` under the id it will be
 * sent with before the connector sees it: a crash between the two leaves a queued row that a retry
 * with the same id completes, never a lost send. A retry of an id already sent answers its stored
 * status without sending again; a failed send stores its error on the row and answers `SEND_FAILED`
 * naming the id to retry with. The socket's own echo of the send (`messages.upsert`) then moves the
 * row to `sent`, and receipts further on, through ingest like any other message.
 */
export class OutboundSender {
  constructor(private readonly d: OutboundSenderDeps) {}

  async send(cmd: SendCommand): Promise<SendOutcome> {
    const { accountId, store } = this.d;
    const sock = this.d.socket();
    const connection = this.d.connection();
    if (connection !== 'open') throw new WasyncError('NOT_CONNECTED', `account is ${connection}, not connected`);
    const clientJid = resolveRecipient(cmd.to, this.d.pnForLid);
    const messageId = cmd.messageId ?? generateMessageIDV2(this.d.me() ?? undefined);
    const threadId = threadIdOf(accountId, clientJid);
    const deadline = Date.now() + this.d.storeTimeoutMs;
    const bounded = <T>(work: Promise<T>): Promise<T> => withinStoreBound(work, deadline - Date.now());

    // A phone number names a person we may write to first; any other JID (a group, a LID, a channel)
    // must be a chat the account already has: WhatsApp would refuse it, or it is a typo.
    if (!isPhoneJid(clientJid) && !(await bounded(store.getThread(accountId, threadId)))) {
      throw new BadRequestError(`\`to\` is not a phone number nor a chat this account knows (${cmd.to})`);
    }

    const existing = await bounded(store.getMessage(accountId, messageId));
    if (existing) {
      if (existing.direction !== 'outbound' || existing.clientJid !== clientJid) {
        throw new WasyncError('CONFLICT', `message id ${messageId} already belongs to another message`);
      }
      if (existing.status !== 'queued') return { messageId, threadId, clientJid, status: existing.status };
    }

    const record = outboundRecord(accountId, clientJid, messageId, cmd.text, this.d.now());
    const submitted = this.d.submit([{ kind: 'message', record }]);
    // Reported when it commits, even after the bound below gave up waiting: the row exists from then on.
    void submitted.then((outcome) => {
      if (outcome.errors === 0) this.d.onQueued(outcome);
    });
    const queued = await bounded(submitted);
    if (queued.errors > 0) throw new WasyncError('STORE_FAILED', `could not store the outbound message: ${queued.firstError ?? ''}`);

    try {
      await sock.sendMessage(clientJid, { text: cmd.text }, { messageId });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await this.d.submit([{ kind: 'message', record: { ...record, sendError: message } }]);
      throw new WasyncError('SEND_FAILED', `send failed (retry with messageId ${messageId}): ${message}`);
    }
    const stored = await store.getMessage(accountId, messageId);
    return { messageId, threadId, clientJid, status: stored?.status ?? 'queued' };
  }
}

/** A person's phone-number JID (`40712345678@s.whatsapp.net`), the one kind of chat a send may open. */
function isPhoneJid(jid: string): boolean {
  return /^\d{6,15}@s\.whatsapp\.net$/.test(jid);
}

/** The store's answer within `ms`, else STORE_UNAVAILABLE (the work itself goes on). */
async function withinStoreBound<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new WasyncError(
            'STORE_UNAVAILABLE',
            'the store did not commit the message in time; nothing was sent, retry with the same messageId',
          ),
        ),
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `queued` row of a text message we are about to send. */
export function outboundRecord(accountId: string, clientJid: string, id: string, text: string, now: number): MessageRecord {
  return {
    id,
    accountId,
    clientJid,
    direction: 'outbound',
    body: text,
    waMessageId: id,
    status: 'queued',
    messageType: 'text',
    mediaType: null,
    mediaUrl: null,
    mediaMimetype: null,
    mediaFilename: null,
    tsClient: new Date(now).toISOString(),
    tsServer: now,
    createdAt: now,
    syncedAt: null,
    syncSource: 'outbound_api',
    deliveredAt: null,
    readAt: null,
    contentType: 'conversation',
    fromMe: true,
    participant: null,
    pushName: null,
    syncType: null,
    mediaSize: null,
    media: null,
    refMessageId: null,
    editedAt: null,
    revokedAt: null,
    sendError: null,
    // Kept so Baileys' getMessage can answer a retry receipt for this message.
    rawMessage: proto.Message.encode({ conversation: text }).finish(),
    senderName: null,
    ...NOT_ARCHIVED,
  };
}
