import {
  PROCESSABLE_HISTORY_TYPES,
  areJidsSameUser,
  downloadAndProcessHistorySyncNotification,
  getHistoryMsg,
  proto,
  unpadRandomMax16,
  type AuthenticationCreds,
  type BaileysEventMap,
  type SocketConfig,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { Logger } from '../../logging/logger.js';
import { decodeJournalNotification, historyNotificationId, type HistoryJournal } from './history-journal.js';

/**
 * Makes history sync crash-safe on top of Baileys 7 (the full argument, with line references, is in
 * docs/history-durability.md):
 *
 * 1. Baileys acks a history-sync notification (messages-recv.js, `sendReceipt` then the `hist_sync`
 *    receipt) BEFORE it downloads the chunk and emits `messaging-history.set`; once acked, WhatsApp
 *    never sends it again and Baileys keeps no copy it would retry from. The only code of ours that
 *    runs between decryption and that ack is the Signal repository (`config.makeSignalRepository`):
 *    `decrypt()` awaits `repository.decryptMessage` inside the message mutex, and the receipts are
 *    sent after it returns. So the wrapped `decryptMessage` journals the notification durably and
 *    only then hands the plaintext back.
 * 2. Each `messaging-history.set` the actor receives is tagged with the journal ids it contains
 *    (events are consolidated by Baileys' event buffer, so one event can hold several chunks); the
 *    actor confirms them with `BaileysConnector.onHistoryCommitted(event)` after its writes commit.
 * 3. On the next connection, whatever is still in the journal is downloaded again and re-emitted,
 *    the way Baileys itself would have (`downloadAndProcessHistorySyncNotification`).
 */

export type HistoryDownload = typeof downloadAndProcessHistorySyncNotification;
type HistorySetEvent = BaileysEventMap['messaging-history.set'];

interface InFlight {
  id: string;
  chunkOrder: number | null;
  sessionId: string | null;
}

export interface HistoryTapDeps {
  journal: HistoryJournal;
  /** The live creds object Baileys mutates: `me` is read at decryption time. */
  creds: AuthenticationCreds;
  logger: Logger;
  now: () => number;
  download?: HistoryDownload;
}

/** The notification a decrypted 1:1 payload carries, if it is one (same unwrapping as decode-wa-message.js). */
export function historyNotificationInPlaintext(plaintext: Uint8Array): proto.Message.IHistorySyncNotification | undefined {
  let msg: proto.IMessage = proto.Message.decode(unpadRandomMax16(plaintext));
  msg = msg.deviceSentMessage?.message ?? msg;
  return getHistoryMsg(msg) ?? undefined;
}

/** Baileys processes only these (chats.js: `shouldSyncHistoryMessage(...) && PROCESSABLE_HISTORY_TYPES.includes(...)`). */
export function isProcessableHistory(n: proto.Message.IHistorySyncNotification): boolean {
  // The notification enum has types (NO_HISTORY, MESSAGE_ACCESS_STATUS) the HistorySync enum lacks.
  const processable: readonly number[] = PROCESSABLE_HISTORY_TYPES;
  return n.syncType !== null && n.syncType !== undefined && processable.includes(n.syncType);
}

export class HistoryTap {
  private readonly d: HistoryTapDeps;
  private readonly download: HistoryDownload;
  /** Notifications upserted whose `messaging-history.set` has not been emitted yet, oldest first. */
  private inFlight: InFlight[] = [];
  /** Ids whose chunk went into Baileys' event buffer since the last `messaging-history.set` left it. */
  private emitted: string[] = [];
  /** Ids handed to the actor on this socket (replay skips them: they are on their way). */
  private readonly seen = new Set<string>();
  private replayId: string | null = null;

  constructor(deps: HistoryTapDeps) {
    this.d = deps;
    this.download = deps.download ?? downloadAndProcessHistorySyncNotification;
  }

  /** Wraps Baileys' Signal repository factory so notifications are journaled before the ack. */
  wrapSignalRepository(make: SocketConfig['makeSignalRepository']): SocketConfig['makeSignalRepository'] {
    return (auth, logger, pnToLID) => {
      const repo = make(auth, logger, pnToLID);
      const decrypt = repo.decryptMessage.bind(repo);
      repo.decryptMessage = async (opts) => {
        const plaintext = await decrypt(opts);
        await this.beforeAck(opts.jid, plaintext);
        return plaintext;
      };
      return repo;
    };
  }

  /**
   * Never throws: if the journal write fails, Baileys goes on exactly as it would without us (the
   * chunk is then as safe as Baileys makes it, no less); throwing would turn a good message into a
   * decryption failure.
   */
  async beforeAck(senderJid: string, plaintext: Uint8Array): Promise<void> {
    let n: proto.Message.IHistorySyncNotification | undefined;
    try {
      n = historyNotificationInPlaintext(plaintext);
    } catch {
      return; // not ours to judge: Baileys reports undecodable payloads itself
    }
    if (!n || !isProcessableHistory(n)) return;
    // process-message.js drops history notifications not sent by our own account; so do we.
    const me = this.d.creds.me;
    if (!me || !(areJidsSameUser(senderJid, me.id) || (me.lid !== undefined && areJidsSameUser(senderJid, me.lid)))) return;
    try {
      await this.d.journal.record(n, this.d.now());
    } catch (err) {
      this.d.logger.error(
        { err: err instanceof Error ? err.message : String(err), syncType: n.syncType ?? null },
        'could not journal a history-sync notification before its ack: a crash before it is committed loses the chunk',
      );
    }
  }

  /** Sees every event as Baileys emits it, before its event buffer consolidates them. */
  observe(event: keyof BaileysEventMap, data: unknown): void {
    if (event === 'messages.upsert') {
      for (const msg of (data as BaileysEventMap['messages.upsert']).messages) {
        const n = msg.message ? getHistoryMsg(msg.message) : undefined;
        if (!n || !msg.key.fromMe || !isProcessableHistory(n)) continue;
        const id = historyNotificationId(n);
        this.inFlight.push({ id, chunkOrder: n.chunkOrder ?? null, sessionId: n.peerDataRequestSessionId ?? null });
        if (!this.d.journal.has(id)) {
          // Not seen by the pre-ack hook (e.g. a plaintext node): journal it now, before the download.
          this.d.journal
            .record(n, this.d.now())
            .catch((err: unknown) =>
              this.d.logger.warn(
                { err: err instanceof Error ? err.message : String(err) },
                'could not journal a history-sync notification',
              ),
            );
        }
      }
      return;
    }
    if (event !== 'messaging-history.set') return;
    if (this.replayId !== null) {
      this.emitted.push(this.replayId);
      return;
    }
    // process-message.js copies chunkOrder and peerDataRequestSessionId from the notification verbatim.
    const set = data as HistorySetEvent;
    const chunkOrder = set.chunkOrder ?? null;
    const sessionId = set.peerDataRequestSessionId ?? null;
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const f = this.inFlight[i];
      if (f && f.chunkOrder === chunkOrder && f.sessionId === sessionId) {
        this.emitted.push(f.id);
        // Older unmatched entries failed to download: they stay journaled and are replayed later.
        this.inFlight.splice(0, i + 1);
        return;
      }
    }
    this.d.logger.debug({ chunkOrder, syncType: set.syncType ?? null }, 'history set without a journaled notification');
  }

  /** Called for each `messaging-history.set` as listeners receive it: the ids it carries. */
  claim(): string[] {
    const ids = this.emitted;
    this.emitted = [];
    for (const id of ids) this.seen.add(id);
    return ids;
  }

  /**
   * Re-downloads and re-emits every journaled notification not already handled on this socket. Runs
   * once the socket has caught up with offline messages, so a notification WhatsApp redelivers (a
   * crash between journal write and ack) is processed live and skipped here.
   */
  async replay(sock: Pick<WASocket, 'ev' | 'signalRepository'>, options: SocketConfig['options'], isClosed: () => boolean): Promise<void> {
    const inFlight = new Set(this.inFlight.map((f) => f.id));
    const entries = this.d.journal.pending().filter((e) => !this.seen.has(e.id) && !inFlight.has(e.id) && !this.emitted.includes(e.id));
    if (entries.length === 0) return;
    this.d.logger.info({ count: entries.length }, 'replaying history-sync chunks that were never confirmed committed');
    for (const entry of entries) {
      if (isClosed()) return;
      if (!(await this.d.journal.beginReplay(entry.id))) continue;
      try {
        const n = decodeJournalNotification(entry);
        const data = await this.download(n, options, this.d.logger);
        if (isClosed()) return;
        if (data.lidPnMappings?.length) {
          await sock.signalRepository.lidMapping
            .storeLIDPNMappings(data.lidPnMappings)
            .catch((err: unknown) =>
              this.d.logger.warn(
                { err: err instanceof Error ? err.message : String(err) },
                'could not store LID mappings from a replayed chunk',
              ),
            );
        }
        const event: HistorySetEvent = {
          ...data,
          isLatest: false,
          chunkOrder: n.chunkOrder ?? null,
          peerDataRequestSessionId: n.peerDataRequestSessionId ?? null,
        };
        this.replayId = entry.id;
        try {
          sock.ev.emit('messaging-history.set', event);
        } finally {
          this.replayId = null;
        }
      } catch (err) {
        this.d.logger.warn(
          { notification: entry.id, attempt: entry.attempts + 1, err: err instanceof Error ? err.message : String(err) },
          'history replay failed; it is retried on the next connection',
        );
      }
    }
  }
}
