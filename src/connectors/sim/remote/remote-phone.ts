import {
  DisconnectReason,
  type AnyMessageContent,
  type BaileysEventMap,
  type Contact,
  type MiscMessageGenerationOptions,
  type WAMessage,
  type WAMessageKey,
} from '@whiskeysockets/baileys';
import WebSocket from 'ws';
import type { Logger } from '../../../logging/logger.js';
import type { WaSocket } from '../../types.js';
import { createSimEventEmitter, type SimEventEmitter } from '../emitter.js';
import { closeError, SimDisconnectError } from '../errors.js';
import { liveMessage, rehydrate, type AnyBaileysEvent, type Long } from '../scenario-codec.js';
import { encodeFrame, parseServerFrame, type ClientFrame, type RemoteMethod, type ServerFrame } from './protocol.js';

export interface RemotePhoneOptions {
  /** The sim server's base URL (`WA_SIM_SERVER`). */
  serverUrl: string;
  accountId: string;
  /** The session token from the account's creds: resumes the paired session; null logs in anew (QR). */
  token: string | null;
  /** This process's INSTANCE_ID, for the server's connection log. */
  instance: string | null;
  logger: Logger;
  /** The session opened: `token` is what the creds must hold from now on. */
  onOpen?: (user: Contact, token: string) => void;
  /** Inbound messages were emitted (the session's ratchet moves, as Signal's does per message). */
  onInbound?: (messages: readonly WAMessage[]) => void;
}

/**
 * Baileys' socket interface over a websocket to the sim server (see `server.ts`): every event the
 * server's phone emits is rebuilt with Baileys' proto classes (the scenario codec) and emitted on
 * `ev`; sends, history requests, pairing codes and logout are calls answered by the server. One
 * instance per connection attempt, like the in-process `SimPhone`.
 */
export class RemotePhone implements WaSocket {
  readonly ev: SimEventEmitter;
  private currentUser: Contact | undefined;
  private readonly ws: WebSocket;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextCall = 1;
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly opts: RemotePhoneOptions) {
    this.log = opts.logger;
    this.ev = createSimEventEmitter(opts.logger);
    const base = opts.serverUrl.replace(/^http/, 'ws');
    this.ws = new WebSocket(`${base}/ws/${encodeURIComponent(opts.accountId)}`, { maxPayload: 64 * 1024 * 1024 });
    this.ws.on('open', () => this.sendFrame({ t: 'hello', token: opts.token, instance: opts.instance }));
    this.ws.on('message', (data: WebSocket.RawData) => this.onFrame(rawText(data)));
    this.ws.on('error', (err) => this.log.warn({ err: err.message }, 'sim server connection error'));
    this.ws.on('close', () => {
      // The server closes after sending its own close event; anything else is a network loss.
      this.close({
        connection: 'close',
        lastDisconnect: { error: new SimDisconnectError('Connection Lost', DisconnectReason.connectionLost), date: new Date() },
      });
    });
  }

  get user(): Contact | undefined {
    return this.currentUser;
  }

  async sendMessage(jid: string, content: AnyMessageContent, options?: MiscMessageGenerationOptions): Promise<WAMessage | undefined> {
    const value = await this.call('sendMessage', [jid, content, options ?? {}]);
    return value === null || value === undefined ? undefined : liveMessage(value, 'sent message');
  }

  async fetchMessageHistory(count: number, oldestMsgKey: WAMessageKey, oldestMsgTimestamp: number | Long): Promise<string> {
    return String(await this.call('fetchMessageHistory', [count, oldestMsgKey, oldestMsgTimestamp]));
  }

  async requestPairingCode(phoneNumber: string, customPairingCode?: string): Promise<string> {
    return String(await this.call('requestPairingCode', customPairingCode ? [phoneNumber, customPairingCode] : [phoneNumber]));
  }

  async logout(): Promise<void> {
    if (this.closed) return;
    // The server's phone ends the session: its close (401) arrives as an event and closes this socket.
    await this.call('logout', []).catch(() => undefined);
  }

  async end(error: Error | undefined): Promise<void> {
    this.close({ connection: 'close', lastDisconnect: { error: closeError(error), date: new Date() } });
  }

  // ---------------------------------------------------------------------------------------------

  private call(method: RemoteMethod, args: unknown[]): Promise<unknown> {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new SimDisconnectError('Connection Closed', DisconnectReason.connectionClosed));
    }
    const id = this.nextCall++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.sendFrame({ t: 'call', id, method, args });
    });
  }

  private onFrame(text: string): void {
    if (this.closed) return;
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(text);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'sim server sent a malformed frame');
      return;
    }
    if (frame.t === 'result') {
      const pending = this.calls.get(frame.id);
      this.calls.delete(frame.id);
      if (!pending) return;
      if (frame.ok) pending.resolve(frame.value);
      else pending.reject(new SimDisconnectError(frame.error.message, frame.error.statusCode ?? DisconnectReason.badSession));
      return;
    }
    let e: AnyBaileysEvent;
    try {
      e = rehydrate(frame.event, frame.data);
    } catch (err) {
      this.log.error({ event: frame.event, err: (err as Error).message }, 'sim server sent an event Baileys would not emit');
      return;
    }
    if (e.event === 'connection.update') {
      if (e.data.connection === 'open' && frame.user) {
        this.currentUser = frame.user;
        if (frame.token) this.opts.onOpen?.(frame.user, frame.token);
      }
      if (e.data.connection === 'close') {
        this.close(e.data);
        return;
      }
    }
    this.emit(e);
    if (frame.ack && frame.ack.length > 0) {
      if (e.event === 'messages.upsert') this.opts.onInbound?.(e.data.messages);
      this.sendFrame({ t: 'ack', ids: frame.ack });
    }
  }

  private emit(e: AnyBaileysEvent): void {
    try {
      (this.ev.emit as (event: string, data: unknown) => boolean)(e.event, e.data);
    } catch (err) {
      this.log.error({ err, event: e.event }, 'sim: an event listener threw');
    }
  }

  /** Like Baileys' `end`: once; the close event, then no more events and no more calls. */
  private close(update: BaileysEventMap['connection.update']): void {
    if (this.closed) return;
    this.closed = true;
    const gone = new SimDisconnectError('Connection Closed', DisconnectReason.connectionClosed);
    for (const pending of this.calls.values()) pending.reject(gone);
    this.calls.clear();
    this.emit({ event: 'connection.update', data: update });
    this.ev.removeAllListeners('connection.update');
    this.ev.destroy();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  private sendFrame(frame: ClientFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(encodeFrame(frame));
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
