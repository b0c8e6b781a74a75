import { BufferJSON, proto, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys';
import { SimDisconnectError } from './errors.js';

/**
 * JSON ⇄ Baileys payloads for scenario files.
 *
 * Writing: proto instances are flattened to their own fields (not `toJSON()`, which would turn bytes
 * into base64 strings, 64-bit integers into decimal strings and drop Baileys' additions such as
 * `key.remoteJidAlt`); `Long`s become `{low, high, unsigned}`; bytes go through Baileys'
 * `BufferJSON.replacer`.
 * Reading: `BufferJSON.reviver` restores bytes, `{low, high, unsigned}` objects become `Long`s again,
 * and payloads are rebuilt with the proto classes where Baileys hands out proto instances, so a
 * replayed event has the same classes and number types as the recorded one.
 */

export type Long = Exclude<NonNullable<proto.IWebMessageInfo['messageTimestamp']>, number>;
export type BaileysEvent = keyof BaileysEventMap;
/** An event name with its payload, correlated. */
export type AnyBaileysEvent = { [E in BaileysEvent]: { event: E; data: BaileysEventMap[E] } }[BaileysEvent];

/** Every `BaileysEventMap` key: the compiler fails here when Baileys adds or removes one. */
export const BAILEYS_EVENTS: Readonly<Record<BaileysEvent, true>> = {
  'connection.update': true,
  'creds.update': true,
  'messaging-history.set': true,
  'messaging-history.status': true,
  'chats.upsert': true,
  'chats.update': true,
  'lid-mapping.update': true,
  'chats.delete': true,
  'presence.update': true,
  'contacts.upsert': true,
  'contacts.update': true,
  'messages.delete': true,
  'messages.update': true,
  'messages.media-update': true,
  'messages.upsert': true,
  'messages.reaction': true,
  'message-receipt.update': true,
  'groups.upsert': true,
  'groups.update': true,
  'group-participants.update': true,
  'group.join-request': true,
  'group.member-tag.update': true,
  'blocklist.set': true,
  'blocklist.update': true,
  call: true,
  'labels.edit': true,
  'labels.association': true,
  'newsletter.reaction': true,
  'newsletter.view': true,
  'newsletter-participants.update': true,
  'newsletter-settings.update': true,
  'message-capping.update': true,
  'chats.lock': true,
  'settings.update': true,
};

export function isBaileysEvent(name: unknown): name is BaileysEvent {
  return typeof name === 'string' && Object.hasOwn(BAILEYS_EVENTS, name);
}

export function isLong(value: unknown): value is Long {
  return typeof value === 'object' && value !== null && (value as { __isLong__?: unknown }).__isLong__ === true;
}

/** A `Long` without importing `long` (not a wasync dependency): protobufjs builds it for us. */
export function makeLong(low: number, high: number, unsigned: boolean): Long {
  const long = proto.WebMessageInfo.fromObject({ messageTimestamp: { low, high, unsigned } }).messageTimestamp as Long;
  long.unsigned = unsigned;
  return long;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** A JSON-ready copy of a Baileys payload (see the module comment). */
export function toScenarioJson(value: unknown): unknown {
  return plain(value, new Set());
}

function plain(value: unknown, seen: Set<object>): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return undefined; // functions (ChatUpdate.conditional), symbols, undefined
  }
  if (isLong(value)) return { low: value.low, high: value.high, unsigned: value.unsigned };
  if (value instanceof Uint8Array) return value; // BufferJSON.replacer encodes it
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) {
    const code = (value as { output?: { statusCode?: unknown } }).output?.statusCode;
    const data = (value as { data?: unknown }).data;
    return {
      name: value.name,
      message: value.message,
      ...(typeof code === 'number' ? { output: { statusCode: code } } : {}),
      ...(data !== undefined && data !== null ? { data: plain(data, seen) } : {}),
    };
  }
  if (seen.has(value)) throw new TypeError('cannot encode a circular structure');
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => plain(v, seen) ?? null);
    if (value instanceof Map) return plain(Object.fromEntries(value), seen);
    if (value instanceof Set) return plain([...value], seen);
    const out: Record<string, unknown> = {};
    const isProto = isProtoInstance(value);
    // Own keys only: a proto instance's unset fields live on its prototype and stay unset.
    for (const k of Object.keys(value)) {
      const field = (value as Record<string, unknown>)[k];
      // Empty repeated fields of a proto are what its constructor creates anyway: noise in a file.
      if (isProto && Array.isArray(field) && field.length === 0) continue;
      const v = plain(field, seen);
      if (v !== undefined) out[k] = v;
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function isProtoInstance(value: object): boolean {
  const ctor = (value as { constructor?: { encode?: unknown; decode?: unknown } }).constructor;
  return typeof ctor?.encode === 'function' && typeof ctor.decode === 'function';
}

export function stringifyScenarioLine(line: Record<string, unknown>): string {
  return JSON.stringify(toScenarioJson(line), BufferJSON.replacer);
}

// ---------------------------------------------------------------------------------------------
// Reading

/** `JSON.parse` reviver: Baileys' Buffer encoding plus `Long`s. */
export function scenarioReviver(key: string, value: unknown): unknown {
  const v: unknown = BufferJSON.reviver(key, value);
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 3 && typeof o.low === 'number' && typeof o.high === 'number' && typeof o.unsigned === 'boolean') {
      return makeLong(o.low, o.high, o.unsigned);
    }
  }
  return v;
}

/** A payload problem; the parser prefixes the line. */
export class PayloadError extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new PayloadError(`${what} must be an object`);
  return v;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new PayloadError(`${what} must be an array`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new PayloadError(`${what} must be a non-empty string`);
  return v;
}

interface ProtoClass<T> {
  fromObject(o: Obj): T;
  prototype: object;
}

/**
 * `fromObject` keeps only proto fields; Baileys adds its own (`key.remoteJidAlt`, a chat's
 * `lastMessageRecvTimestamp`, a message's `category`). Those are copied back onto the instance.
 */
function withExtras<T extends object>(cls: ProtoClass<T>, source: Obj, what: string): T {
  let instance: T;
  try {
    instance = cls.fromObject(source);
  } catch (err) {
    throw new PayloadError(`${what}: ${(err as Error).message}`);
  }
  for (const k of Object.keys(source)) {
    if (!(k in cls.prototype) && source[k] !== undefined) (instance as Obj)[k] = source[k];
  }
  return instance;
}

function checkKey(v: unknown, what: string): Obj {
  const key = obj(v, `${what}.key`);
  str(key.remoteJid, `${what}.key.remoteJid`);
  str(key.id, `${what}.key.id`);
  return key;
}

/** A message as a history sync delivers it: a `proto.WebMessageInfo` with `Long` timestamps. */
export function historyMessage(v: unknown, what = 'message'): WAMessage {
  const o = obj(v, what);
  const key = checkKey(o.key, what);
  const msg = withExtras(proto.WebMessageInfo, o, what) as WAMessage;
  msg.key = withExtras(proto.MessageKey, key, `${what}.key`);
  return msg;
}

/**
 * A message as a live stanza delivers it: a plain object with a numeric timestamp and a
 * `proto.Message` content. A recorded `Long` timestamp means the original was a proto instance (own
 * sends are built with `fromObject`), so it is rebuilt as one.
 */
export function liveMessage(v: unknown, what = 'message'): WAMessage {
  const o = obj(v, what);
  if (isLong(o.messageTimestamp)) return historyMessage(o, what);
  const key = checkKey(o.key, what);
  const out: Obj = { ...o, key: { ...key } };
  if (isObj(o.message)) out.message = withExtras(proto.Message, o.message, `${what}.message`);
  if (typeof o.messageTimestamp === 'string') out.messageTimestamp = Number(o.messageTimestamp);
  if (typeof o.status === 'string') out.status = enumValue(proto.WebMessageInfo.Status, o.status, `${what}.status`);
  if (typeof o.messageStubType === 'string') {
    out.messageStubType = enumValue(proto.WebMessageInfo.StubType, o.messageStubType, `${what}.messageStubType`);
  }
  return out as unknown as WAMessage;
}

function enumValue(e: object, name: string, what: string): number {
  const value = (e as Record<string, unknown>)[name];
  if (typeof value !== 'number') throw new PayloadError(`${what}: unknown value ${name}`);
  return value;
}

function historyChat(v: unknown, what: string): Obj {
  const o = obj(v, what);
  str(o.id, `${what}.id`);
  return withExtras(proto.Conversation, o, what) as unknown as Obj;
}

/** Chats in `chats.upsert`/`chats.update` are plain, but their `messages[].message` are messages. */
function plainChat(v: unknown, what: string): Obj {
  const o = obj(v, what);
  if (o.messages === undefined || o.messages === null) return { ...o };
  const messages = arr(o.messages, `${what}.messages`).map((m, i) => {
    const item = obj(m, `${what}.messages[${i}]`);
    return { ...item, message: liveMessage(item.message, `${what}.messages[${i}].message`) };
  });
  return { ...o, messages };
}

function reviveError(v: unknown): Error | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v, 'lastDisconnect.error');
  const message = typeof o.message === 'string' ? o.message : 'Connection Closed';
  const code = isObj(o.output) && typeof o.output.statusCode === 'number' ? o.output.statusCode : undefined;
  return code !== undefined ? new SimDisconnectError(message, code, o.data) : new Error(message);
}

/**
 * Validates a decoded payload for its event and rebuilds the Baileys classes in it. Events the sim has
 * no special knowledge of pass through as decoded JSON.
 */
export function rehydrate(event: BaileysEvent, data: unknown): AnyBaileysEvent {
  switch (event) {
    case 'messaging-history.set': {
      const o = obj(data, 'data');
      const chats = arr(o.chats, 'data.chats').map((c, i) => historyChat(c, `data.chats[${i}]`));
      const contacts = arr(o.contacts, 'data.contacts').map((c, i) => obj(c, `data.contacts[${i}]`));
      const messages = arr(o.messages, 'data.messages').map((m, i) => historyMessage(m, `data.messages[${i}]`));
      const out: Obj = { ...o, chats, contacts, messages };
      if (o.lidPnMappings !== undefined) {
        out.lidPnMappings = arr(o.lidPnMappings, 'data.lidPnMappings').map((m, i) => {
          const p = obj(m, `data.lidPnMappings[${i}]`);
          str(p.lid, `data.lidPnMappings[${i}].lid`);
          str(p.pn, `data.lidPnMappings[${i}].pn`);
          return p;
        });
      }
      if (typeof o.syncType === 'string') out.syncType = enumValue(proto.HistorySync.HistorySyncType, o.syncType, 'data.syncType');
      return { event, data: out as unknown as BaileysEventMap[typeof event] };
    }
    case 'messages.upsert': {
      const o = obj(data, 'data');
      if (o.type !== 'notify' && o.type !== 'append') throw new PayloadError(`data.type must be "notify" or "append"`);
      const messages = arr(o.messages, 'data.messages').map((m, i) => liveMessage(m, `data.messages[${i}]`));
      return { event, data: { ...o, type: o.type, messages } };
    }
    case 'messages.update': {
      const updates = arr(data, 'data').map((u, i) => {
        const o = obj(u, `data[${i}]`);
        const key = obj(o.key, `data[${i}].key`);
        const update = { ...obj(o.update, `data[${i}].update`) };
        if (isObj(update.message)) update.message = withExtras(proto.Message, update.message, `data[${i}].update.message`);
        if (typeof update.status === 'string')
          update.status = enumValue(proto.WebMessageInfo.Status, update.status, `data[${i}].update.status`);
        if (typeof update.messageStubType === 'string') {
          update.messageStubType = enumValue(proto.WebMessageInfo.StubType, update.messageStubType, `data[${i}].update.messageStubType`);
        }
        return { ...o, key, update };
      });
      return { event, data: updates as unknown as BaileysEventMap[typeof event] };
    }
    case 'message-receipt.update': {
      const receipts = arr(data, 'data').map((r, i) => {
        const o = obj(r, `data[${i}]`);
        obj(o.key, `data[${i}].key`);
        const receipt = obj(o.receipt, `data[${i}].receipt`);
        str(receipt.userJid, `data[${i}].receipt.userJid`);
        return o;
      });
      return { event, data: receipts as unknown as BaileysEventMap[typeof event] };
    }
    case 'messages.reaction': {
      const reactions = arr(data, 'data').map((r, i) => {
        const o = obj(r, `data[${i}]`);
        obj(o.key, `data[${i}].key`);
        obj(o.reaction, `data[${i}].reaction`);
        return o;
      });
      return { event, data: reactions as unknown as BaileysEventMap[typeof event] };
    }
    case 'messages.delete': {
      const o = obj(data, 'data');
      if (!Array.isArray(o.keys) && !(typeof o.jid === 'string' && o.all === true)) {
        throw new PayloadError('data must be {keys: [...]} or {jid, all: true}');
      }
      return { event, data: o as unknown as BaileysEventMap[typeof event] };
    }
    case 'connection.update': {
      const o = { ...obj(data, 'data') };
      if (o.connection !== undefined && o.connection !== 'open' && o.connection !== 'connecting' && o.connection !== 'close') {
        throw new PayloadError('data.connection must be "open", "connecting" or "close"');
      }
      if (o.lastDisconnect !== undefined) {
        const ld = obj(o.lastDisconnect, 'data.lastDisconnect');
        o.lastDisconnect = {
          error: reviveError(ld.error),
          date: typeof ld.date === 'string' || typeof ld.date === 'number' ? new Date(ld.date) : new Date(),
        };
      }
      return { event, data: o as unknown as BaileysEventMap[typeof event] };
    }
    case 'lid-mapping.update': {
      const o = obj(data, 'data');
      return { event, data: { lid: str(o.lid, 'data.lid'), pn: str(o.pn, 'data.pn') } };
    }
    case 'chats.upsert':
    case 'chats.update': {
      const chats = arr(data, 'data').map((c, i) => {
        const chat = plainChat(c, `data[${i}]`);
        str(chat.id, `data[${i}].id`);
        return chat;
      });
      return { event, data: chats as unknown as BaileysEventMap[typeof event] };
    }
    case 'contacts.upsert':
    case 'contacts.update': {
      const contacts = arr(data, 'data').map((c, i) => obj(c, `data[${i}]`));
      return { event, data: contacts } as AnyBaileysEvent;
    }
    default:
      if (data === undefined) throw new PayloadError('data is missing');
      return { event, data: data as BaileysEventMap[typeof event] } as AnyBaileysEvent;
  }
}
