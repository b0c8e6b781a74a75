import { randomUUID } from 'node:crypto';
import {
  DisconnectReason,
  generateMessageIDV2,
  isJidGroup,
  isRealMessage,
  jidNormalizedUser,
  proto,
  unixTimestampSeconds,
  type AnyMessageContent,
  type BaileysEventMap,
  type Contact,
  type GroupMetadata,
  type MiscMessageGenerationOptions,
  type WAMessage,
  type WAMessageKey,
} from '@whiskeysockets/baileys';
import type { Logger } from '../../logging/logger.js';
import type { WaSocket } from '../types.js';
import type { LidPnPairs, MessageArchive } from './archive.js';
import { createSimEventEmitter, type SimEventEmitter } from './emitter.js';
import { closeError, SimDisconnectError } from './errors.js';
import { buildHistorySync, HistorySyncType, historyNotificationMessage, toHistorySetEvent, type HistoryChunkPlan } from './history-sync.js';
import { anchorSeconds, onDemandHistorySync } from './on-demand.js';
import { buildOutgoingMessage } from './outbound.js';
import { simPairingCode, simQrString } from './pairing.js';
import { emitUpsert, liveInboundMessage, type Emit } from './realtime.js';
import { Rng } from './rng.js';
import type { AnyBaileysEvent, BaileysEvent, Long } from './scenario-codec.js';
import type { ScenarioEvent } from './scenario.js';
import { TimerBag } from './timers.js';
import type { SimGroups } from './groups.js';
import type { SimWorld } from './world.js';

export interface SimDelays {
  /** Send → SERVER_ACK. */
  ackMs: number;
  /** SERVER_ACK → DELIVERY_ACK. */
  deliveryMs: number;
  /** DELIVERY_ACK → READ. */
  readMs: number;
  /** Between history chunks. */
  historyMs: number;
  /** fetchMessageHistory → the ON_DEMAND chunk. */
  onDemandMs: number;
  /** QR shown → paired. */
  pairMs: number;
  /** No RECENT chunk for this long before RECENT completes: `messaging-history.status` paused (Baileys: 120 s). */
  historyPausedMs: number;
  /** A fresh QR this often until paired, as Baileys' QR rotates (`qrTimeout`). */
  qrMs: number;
}

export const DEFAULT_DELAYS: Readonly<SimDelays> = {
  ackMs: 50,
  deliveryMs: 300,
  readMs: 1200,
  historyMs: 20,
  onDemandMs: 200,
  pairMs: 0,
  qrMs: 20_000,
  historyPausedMs: 120_000,
};

/**
 * How the phone pairs on this connection:
 * - `qr`: every connection is a fresh login — QR, then open with `isNewLogin` (the default).
 * - `restart`: Baileys' real first login — QR, `{isNewLogin: true}`, then close with 515
 *   restartRequired; the caller reconnects.
 * - `resume`: a reconnect after `restart` — straight to open, no QR.
 */
export type PairingMode = 'qr' | 'restart' | 'resume';

/** What the phone plays after connecting. */
export type PhoneScript =
  | { kind: 'generated'; world: SimWorld; plan: readonly HistoryChunkPlan[]; rate: number }
  | {
      kind: 'scenario';
      events: readonly ScenarioEvent[];
      scripted: boolean;
      /** Replay speed factor: 2 plays a scenario twice as fast (`at` / 2). */
      speed?: number;
    };

export interface SimPhoneOptions {
  user: Contact;
  script: PhoneScript;
  /** The phone's store beyond the generated world; shared by the connections of one account. */
  archive: MessageArchive;
  /** The generated world's groups as they change (subjects, rosters); shared by the account's connections. */
  groups?: SimGroups;
  pairs: LidPnPairs;
  logger: Logger;
  delays?: Partial<SimDelays>;
  pairing?: PairingMode;
  /** Start on `setImmediate` after construction (default). False: call `start()` yourself. */
  autoStart?: boolean;
  /**
   * Stop sending the history after this many chunks, as a phone that went offline mid-sync does (the
   * connection stays open; live traffic does not start). Default: the whole plan.
   */
  historyStopAfter?: number;
  /** The phone paired (restart mode) or was logged out: the connector remembers it for the next connection. */
  onPaired?: () => void;
  onLoggedOut?: () => void;
}

type PhoneState = 'idle' | 'connecting' | 'open' | 'closed';

/** Live group events per live message. */
const GROUP_EVENT_CHANCE = 0.04;

/**
 * A simulated WhatsApp phone behind Baileys' socket interface, one instance per connection attempt.
 *
 * It starts on `setImmediate` after construction (not `process.nextTick` as Baileys does: an async
 * `connect()` resolves through microtasks, and a tick could fire before the caller's continuation),
 * so a caller that subscribes to `ev` right after `await connector.connect()` sees every event from
 * the first `connection.update` on. Each step below runs in its own macrotask.
 *
 * Generated mode emits, in order (see docs/simulated-phone.md):
 *   connection.update {connection:'connecting', receivedPendingNotifications:false, qr:undefined}
 *   connection.update {qr}
 *   connection.update {connection:'open', isNewLogin:true}          (`user` is set just before)
 *   connection.update {receivedPendingNotifications:true}
 *   per history chunk (INITIAL_BOOTSTRAP, PUSH_NAME, RECENT…, FULL…): messages.upsert of the
 *     HISTORY_SYNC_NOTIFICATION protocol message (type notify), messaging-history.status when the
 *     bootstrap is done / RECENT reaches 100, then messaging-history.set
 *   then live traffic: messages.upsert notify (+ contacts.update, chats.update) at `rate` per second.
 */
export class SimPhone implements WaSocket {
  readonly ev: SimEventEmitter;
  private state: PhoneState = 'idle';
  private currentUser: Contact | undefined;
  private readonly timers = new TimerBag();
  private readonly delays: SimDelays;
  private readonly rng = Rng.fromString(randomUUID());
  private readonly log: Logger;
  /** Baileys' per-connection milestones (chats.js `historySyncStatus`): each announced once. */
  private readonly milestones = { bootstrapComplete: false, recentComplete: false };
  private pausedTimer: { cancel(): void } | null = null;

  constructor(private readonly opts: SimPhoneOptions) {
    this.log = opts.logger;
    this.ev = createSimEventEmitter(opts.logger);
    this.delays = { ...DEFAULT_DELAYS, ...opts.delays };
    if (opts.autoStart !== false) setImmediate(() => this.start());
  }

  get user(): Contact | undefined {
    return this.currentUser;
  }

  get connection(): PhoneState {
    return this.state;
  }

  /** Timers still pending (history chunks, receipts, live traffic): 0 after `end()`. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    const script = this.opts.script;
    if (script.kind === 'scenario' && script.scripted) {
      this.playScenario(script.events, script.speed);
      return;
    }
    this.emit('connection.update', { connection: 'connecting', receivedPendingNotifications: false, qr: undefined });
    const pairing = this.opts.pairing ?? 'qr';
    // QRs at 0, qrMs, 2·qrMs… strictly before pairing, so none is left pending once paired.
    const showQr = (shown: number): void => {
      // Each QR is timed from the previous one, so a stalled event loop can push one past the pairing:
      // Baileys never hands out a QR once the connection is open (the account would read `qr` for good).
      if (this.state !== 'connecting') return;
      this.emit('connection.update', { qr: simQrString() });
      if ((shown + 1) * this.delays.qrMs < this.delays.pairMs) this.timers.after(this.delays.qrMs, () => showQr(shown + 1));
    };
    if (pairing !== 'resume') this.timers.after(0, () => showQr(0));
    this.timers.after(pairing === 'resume' ? 0 : this.delays.pairMs, () => {
      if (pairing === 'restart') {
        // Baileys after pair-success: new login, then the server restarts the stream.
        this.emit('connection.update', { isNewLogin: true, qr: undefined });
        this.opts.onPaired?.();
        this.timers.after(
          0,
          () => void this.end(new SimDisconnectError('Stream Errored (restart required)', DisconnectReason.restartRequired)),
        );
        return;
      }
      this.currentUser = { ...this.opts.user };
      this.state = 'open';
      this.emit('connection.update', pairing === 'qr' ? { connection: 'open', isNewLogin: true } : { connection: 'open' });
      this.timers.after(0, () => {
        this.emit('connection.update', { receivedPendingNotifications: true });
        if (script.kind === 'generated') this.timers.after(0, () => this.deliverHistory(script, 0, pairing !== 'resume'));
        else this.playScenario(script.events, script.speed);
      });
    });
  }

  async sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined> {
    const me = this.requireOpen();
    const msg = await buildOutgoingMessage(jid, content, options, me.id);
    this.requireOpen();
    // Baileys emits its own send on the next tick, after `sendMessage` has returned it.
    this.timers.after(0, () => emitUpsert(this.emit, msg, 'append'));
    if (isRealMessage(msg)) this.scheduleReceipts(jid, msg.key);
    return msg;
  }

  async fetchMessageHistory(count: number, oldestMsgKey: WAMessageKey, oldestMsgTimestamp: number | Long): Promise<string> {
    const me = this.requireOpen();
    const jid = oldestMsgKey.remoteJid;
    if (!jid) throw new Error('fetchMessageHistory: oldestMsgKey.remoteJid is required');
    const requestId = generateMessageIDV2(me.id);
    const anchor = { ts: anchorSeconds(oldestMsgTimestamp), id: oldestMsgKey.id ?? '' };
    this.timers.after(this.delays.onDemandMs, () => {
      const script = this.opts.script;
      const sync = onDemandHistorySync({
        world: script.kind === 'generated' ? script.world : null,
        archive: this.opts.archive,
        pairs: this.opts.pairs,
        jid,
        anchor,
        count,
      });
      emitUpsert(
        this.emit,
        historyNotificationMessage(this.identityForNotifications(), sync, this.rng, unixTimestampSeconds(), requestId),
        'notify',
      );
      this.emit('messaging-history.set', toHistorySetEvent(sync, { peerDataRequestSessionId: requestId }));
    });
    return requestId;
  }

  /** The groups as the phone knows them now, without emitting anything (tests, demos). */
  groupMetadata(): { [jid: string]: GroupMetadata } {
    return this.opts.groups?.metadata() ?? {};
  }

  /** Baileys' answer: every group's metadata, also emitted as `groups.update` (lib/Socket/groups.js). */
  async groupFetchAllParticipating(): Promise<{ [jid: string]: GroupMetadata }> {
    this.requireOpen();
    const data = this.opts.groups?.metadata() ?? {};
    this.emit('groups.update', Object.values(data));
    return data;
  }

  async requestPairingCode(phoneNumber: string, customPairingCode?: string): Promise<string> {
    if (customPairingCode && customPairingCode.length !== 8) throw new Error('Custom pairing code must be exactly 8 chars');
    if (this.state === 'closed') throw new SimDisconnectError('Connection Closed', DisconnectReason.connectionClosed);
    if (!/^\d+$/.test(phoneNumber)) this.log.warn('sim: pairing code requested for a non-numeric phone number');
    // The sim pairs on its own schedule whatever the code: there is no one to type it in.
    return customPairingCode ?? simPairingCode();
  }

  async logout(msg?: string): Promise<void> {
    if (this.state === 'closed') return;
    this.opts.onLoggedOut?.();
    await this.end(new SimDisconnectError(msg || 'Intentional Logout', DisconnectReason.loggedOut));
  }

  /** Like Baileys' `end`: idempotent; stops everything, emits the close, then drops all listeners. */
  async end(error: Error | undefined): Promise<void> {
    this.close({ connection: 'close', lastDisconnect: { error: closeError(error), date: new Date() } });
  }

  /**
   * Emits an arbitrary event as if the phone had sent it (tests, demos). It goes through the same path
   * as scenario events: `connection.update` moves the connection state, messages enter the phone's
   * store, pairings are learned.
   */
  emitScenarioEvent<E extends BaileysEvent>(event: E, data: BaileysEventMap[E]): void {
    this.emitReplayed({ event, data } as AnyBaileysEvent);
  }

  // -------------------------------------------------------------------------------------------

  private readonly emit: Emit = (event, data) => {
    this.observe({ event, data } as AnyBaileysEvent);
    try {
      this.ev.emit(event, data);
    } catch (err) {
      // A throwing listener must not stop the phone's timers or escape into a timer callback.
      this.log.error({ err, event }, 'sim: an event listener threw');
    }
  };

  private close(update: BaileysEventMap['connection.update']): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.timers.stop();
    this.emit('connection.update', update);
    this.ev.removeAllListeners('connection.update');
    this.ev.destroy();
  }

  private requireOpen(): Contact {
    if (this.state !== 'open' || !this.currentUser) {
      throw new SimDisconnectError(
        `Connection Closed: the simulated phone is not connected (${this.state})`,
        DisconnectReason.connectionClosed,
      );
    }
    return this.currentUser;
  }

  private identityForNotifications(): { jid: string; idStyle: 'android' } {
    const user = this.currentUser ?? this.opts.user;
    return { jid: jidNormalizedUser(user.id), idStyle: 'android' };
  }

  private deliverHistory(script: Extract<PhoneScript, { kind: 'generated' }>, k: number, freshLogin: boolean): void {
    const plan = script.plan[k];
    if (!plan) {
      this.startLive(script);
      return;
    }
    if (this.opts.historyStopAfter !== undefined && k >= this.opts.historyStopAfter) return;
    const sync = buildHistorySync(script.world, plan);
    emitUpsert(this.emit, historyNotificationMessage(script.world.identity, sync, this.rng, unixTimestampSeconds()), 'notify');
    this.announceMilestones(plan);
    this.emit('messaging-history.set', toHistorySetEvent(sync, { isLatest: freshLogin && k === 0 }));
    this.timers.after(this.delays.historyMs, () => this.deliverHistory(script, k + 1, freshLogin));
  }

  /**
   * `messaging-history.status` exactly as Baileys 7.0.0-rc14 emits it when it upserts a chunk's
   * notification (lib/Socket/chats.js, `upsertMessage`): the first INITIAL_BOOTSTRAP chunk of a
   * connection is `complete`; a RECENT chunk with progress 100 is `complete` (explicit); every RECENT
   * chunk before that restarts a 120 s timer whose expiry reports RECENT `paused` (explicit: false)
   * and counts as RECENT's end for the connection. FULL gets no status.
   */
  private announceMilestones(plan: HistoryChunkPlan): void {
    const m = this.milestones;
    if (plan.syncType === HistorySyncType.INITIAL_BOOTSTRAP && !m.bootstrapComplete) {
      m.bootstrapComplete = true;
      this.emit('messaging-history.status', { syncType: plan.syncType, status: 'complete', explicit: true });
    }
    if (plan.syncType === HistorySyncType.RECENT && plan.progress === 100 && !m.recentComplete) {
      m.recentComplete = true;
      this.pausedTimer?.cancel();
      this.pausedTimer = null;
      this.emit('messaging-history.status', { syncType: plan.syncType, status: 'complete', explicit: true });
    }
    if (plan.syncType === HistorySyncType.RECENT && !m.recentComplete) {
      this.pausedTimer?.cancel();
      this.pausedTimer = this.timers.after(this.delays.historyPausedMs, () => {
        this.pausedTimer = null;
        if (m.recentComplete) return;
        m.recentComplete = true;
        this.emit('messaging-history.status', { syncType: HistorySyncType.RECENT, status: 'paused', explicit: false });
      });
    }
  }

  private startLive(script: Extract<PhoneScript, { kind: 'generated' }>): void {
    const rate = script.rate;
    if (!(rate > 0) || script.world.chats.length === 0) return;
    const started = Date.now();
    let sent = 0;
    const tickMs = Math.max(20, Math.floor(1000 / rate));
    // At most one second's worth per tick: after an event-loop stall the backlog drains gradually.
    const maxPerTick = Math.max(1, Math.ceil(rate));
    this.timers.every(tickMs, () => {
      const due = Math.floor(((Date.now() - started) * rate) / 1000) - sent;
      const n = Math.min(due, maxPerTick);
      for (let i = 0; i < n; i++) {
        const msg = liveInboundMessage(script.world, this.rng, unixTimestampSeconds());
        if (msg) emitUpsert(this.emit, msg, 'notify');
        // Now and then a group changes: a new subject, a member added, removed, promoted or demoted.
        if (this.opts.groups && this.rng.chance(GROUP_EVENT_CHANCE))
          this.opts.groups.emitRandomChange(this.emit, this.rng, unixTimestampSeconds());
      }
      sent += Math.max(0, n);
    });
  }

  private scheduleReceipts(jid: string, key: WAMessageKey): void {
    const { ackMs, deliveryMs, readMs } = this.delays;
    const Status = proto.WebMessageInfo.Status;
    const statusUpdate = (status: proto.WebMessageInfo.Status) =>
      this.emit('messages.update', [
        // Baileys' receipt handler: the key names the peer, and `messageTimestamp` is the receipt time.
        {
          key: { remoteJid: jid, id: key.id, fromMe: true, participant: undefined },
          update: { status, messageTimestamp: unixTimestampSeconds() },
        },
      ]);
    this.timers.after(ackMs, () => statusUpdate(Status.SERVER_ACK));
    if (isJidGroup(jid)) {
      // Group receipts come per member as message-receipt.update, never as a status change.
      const members = this.groupMembers(jid);
      const receipt = (field: 'receiptTimestamp' | 'readTimestamp') => {
        if (members.length === 0) return;
        this.emit(
          'message-receipt.update',
          members.map((m) => ({
            key: { remoteJid: jid, id: key.id, fromMe: true, participant: m },
            receipt: { userJid: m, [field]: unixTimestampSeconds() },
          })),
        );
      };
      this.timers.after(ackMs + deliveryMs, () => receipt('receiptTimestamp'));
      this.timers.after(ackMs + deliveryMs + readMs, () => receipt('readTimestamp'));
    } else {
      this.timers.after(ackMs + deliveryMs, () => statusUpdate(Status.DELIVERY_ACK));
      this.timers.after(ackMs + deliveryMs + readMs, () => statusUpdate(Status.READ));
    }
  }

  private groupMembers(jid: string): string[] {
    const script = this.opts.script;
    if (script.kind !== 'generated') return [];
    const c = script.world.chatIndexOf(jid);
    if (c === undefined) return [];
    const chat = script.world.chatAt(c);
    return chat.members.slice(0, 5).map((m) => script.world.senderJid(chat, m));
  }

  /** One timer at a time, for the next due event: order is the file's, whatever the timer resolution. */
  private playScenario(events: readonly ScenarioEvent[], speed = 1): void {
    const started = Date.now();
    const factor = speed > 0 ? speed : 1;
    let next = 0;
    const pump = () => {
      const elapsed = (Date.now() - started) * factor;
      while (next < events.length && (events[next] as ScenarioEvent).at <= elapsed) {
        const e = events[next++] as ScenarioEvent;
        this.emitReplayed(e.materialize());
        if (this.state === 'closed') return;
      }
      const upcoming = events[next];
      if (upcoming) this.timers.after(Math.ceil((upcoming.at - elapsed) / factor), pump);
    };
    pump();
  }

  private emitReplayed(e: AnyBaileysEvent): void {
    if (e.event === 'connection.update') {
      if (e.data.connection === 'close') {
        this.close(e.data);
        return;
      }
      if (e.data.connection === 'open') {
        this.currentUser = { ...this.opts.user };
        this.state = 'open';
      } else if (e.data.connection === 'connecting' && this.state === 'idle') {
        this.state = 'connecting';
      }
    }
    (this.emit as (event: BaileysEvent, data: unknown) => void)(e.event, e.data);
  }

  /** What the phone learns from what it sends: pairings, and messages it can later backfill. */
  private observe(e: AnyBaileysEvent): void {
    const { pairs, archive } = this.opts;
    switch (e.event) {
      case 'lid-mapping.update':
        pairs.learn(e.data.lid, e.data.pn);
        break;
      case 'messaging-history.set':
        for (const m of e.data.lidPnMappings ?? []) pairs.learn(m.lid, m.pn);
        for (const chat of e.data.chats) {
          pairs.learnEither(chat.id, chat.pnJid);
          pairs.learnEither(chat.id, chat.lidJid);
        }
        // A generated world answers backfills itself; a scenario's phone holds what it sent.
        if (this.opts.script.kind === 'scenario') for (const m of e.data.messages) archive.add(m);
        break;
      case 'messages.upsert':
        for (const m of e.data.messages) {
          pairs.learnEither(m.key.remoteJid, m.key.remoteJidAlt);
          pairs.learnEither(m.key.participant, m.key.participantAlt);
          if (isRealMessage(m)) archive.add(m);
        }
        break;
      default:
        break;
    }
  }
}
