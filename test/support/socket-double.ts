import { makeEventBuffer, type BaileysEventMap, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import type { Connector, ConnectorContext, ConnectorKind, WaSocket } from '../../src/connectors/types.js';
import { baileysTraits } from '../../src/connectors/baileys/traits.js';
import { simTraits } from '../../src/connectors/sim/traits.js';

export const SOCKET_DOUBLE_USER = '40700000001:12@s.whatsapp.net';

/**
 * A socket implementing `WaSocket` whose `ev` is Baileys' own event emitter (`makeEventBuffer`, the
 * object the real socket exposes), driven by the test as WhatsApp would drive the real one. For
 * history a phone answers on demand, tests use the simulated phone itself (`SimPhone`).
 */
export class SocketDouble implements WaSocket {
  readonly ev = makeEventBuffer(pino({ level: 'silent' }));
  user: WaSocket['user'] = undefined;
  ended = false;
  loggedOut = false;

  sendMessage: WaSocket['sendMessage'] = async () => undefined;
  fetchMessageHistory: WaSocket['fetchMessageHistory'] = async () => 'request-id';
  requestPairingCode: WaSocket['requestPairingCode'] = async () => 'ABCD1234';
  logout: WaSocket['logout'] = async () => {
    this.loggedOut = true;
  };
  end: WaSocket['end'] = async () => {
    this.ended = true;
  };

  open(): void {
    this.user = { id: SOCKET_DOUBLE_USER, name: 'Ana' };
    this.emit('connection.update', { connection: 'open', receivedPendingNotifications: false });
  }

  /** A close as Baileys reports it: a Boom error carrying the code, or a plain error for network failures. */
  close(statusCode: number | undefined, message = 'Connection Closed'): void {
    const error = Object.assign(
      new Error(message),
      statusCode === undefined ? {} : { output: { statusCode, payload: { statusCode, message } } },
    );
    this.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
  }

  emit<E extends keyof BaileysEventMap>(event: E, data: BaileysEventMap[E]): void {
    this.ev.emit(event, data);
  }
}

/** The real socket's media re-upload (`updateMediaMessage`); `reupload` plays the phone's side. */
export class MediaSocketDouble extends SocketDouble {
  readonly asked: WAMessage[] = [];
  reupload: (msg: WAMessage) => Promise<WAMessage> = async (msg) => {
    // What Baileys does on success: new directPath and url, in place, and the same message back.
    const image = msg.message!.imageMessage!;
    image.directPath = '/v/t62.7118-24/new.enc?oh=2';
    image.url = `https://mmg.whatsapp.net${image.directPath}`;
    return msg;
  };
  updateMediaMessage: WASocket['updateMediaMessage'] = (msg) => {
    this.asked.push(msg);
    return this.reupload(msg);
  };
}

/** A connector of the given kind (its real traits) whose every `connect` returns a fresh socket from `make`. */
export class ConnectorDouble<S extends WaSocket = SocketDouble> implements Connector {
  readonly kind: ConnectorKind;
  readonly media: Connector['media'];
  readonly sockets: S[] = [];
  readonly contexts: ConnectorContext[] = [];

  constructor(
    kind: ConnectorKind,
    private readonly make: () => S,
  ) {
    const traits = kind === 'sim' ? simTraits : baileysTraits;
    this.kind = traits.kind;
    this.media = traits.media;
  }

  renderQr(qr: string): Promise<string> {
    return (this.kind === 'sim' ? simTraits : baileysTraits).renderQr(qr);
  }

  async connect(ctx: ConnectorContext): Promise<WaSocket> {
    const sock = this.make();
    this.sockets.push(sock);
    this.contexts.push(ctx);
    return sock;
  }

  get last(): S {
    const s = this.sockets.at(-1);
    if (!s) throw new Error('no socket yet');
    return s;
  }
}
