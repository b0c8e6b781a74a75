import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  downloadAndProcessHistorySyncNotification,
  makeEventBuffer,
  proto,
  writeRandomPadMax16,
  type BaileysEventMap,
  type SignalRepositoryWithLIDStore,
  type SocketConfig,
  type UserFacingSocketConfig,
  type WASocket,
} from '@whiskeysockets/baileys';
import { AuthStateCodec } from '../../src/connectors/baileys/auth-state.js';
import { BaileysConnector, type BaileysConnectorOptions } from '../../src/connectors/baileys/baileys-connector.js';
import { HistoryJournal, MAX_REPLAY_ATTEMPTS, historyNotificationId } from '../../src/connectors/baileys/history-journal.js';
import { HistoryTap } from '../../src/connectors/baileys/history-tap.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { PEER_PN, SELF_PN } from '../support/wa-fixtures.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNT = 'account_test_hist';
const ME = '40700000001:12@s.whatsapp.net';
const logger = pino({ level: 'silent' });
const { HistorySyncType } = proto.HistorySync;

type HistorySet = BaileysEventMap['messaging-history.set'];

/** A history chunk with its payload inline (as INITIAL_BOOTSTRAP chunks come), so "downloading" it needs no network. */
function inlineNotification(
  chunkOrder: number,
  messageIds: string[],
  syncType = HistorySyncType.INITIAL_BOOTSTRAP,
): proto.Message.IHistorySyncNotification {
  const sync = proto.HistorySync.encode({
    syncType,
    chunkOrder,
    progress: chunkOrder * 10,
    conversations: [
      {
        id: PEER_PN,
        messages: messageIds.map((id, i) => ({
          message: {
            key: { remoteJid: PEER_PN, id, fromMe: false },
            message: { conversation: `old ${id}` },
            messageTimestamp: 1_700_000_000 + i,
          },
        })),
      },
    ],
  }).finish();
  return { syncType, chunkOrder, progress: chunkOrder * 10, initialHistBootstrapInlinePayload: deflateSync(sync) };
}

function notificationMessage(n: proto.Message.IHistorySyncNotification, fromMe = true): proto.IWebMessageInfo & { key: proto.IMessageKey } {
  return {
    key: { remoteJid: SELF_PN, id: `N${n.chunkOrder ?? 0}`, fromMe },
    message: { protocolMessage: { type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION, historySyncNotification: n } },
    messageTimestamp: 1_700_000_100,
  };
}

/** The fake behind `makeSocket`: Baileys' real event buffer, plus what Baileys' internals do that we rely on. */
class FakeBaileysSocket {
  readonly ev = makeEventBuffer(logger);
  readonly config: UserFacingSocketConfig;
  readonly lidMappings: Array<{ lid: string; pn: string }> = [];
  user = { id: ME };
  signalRepository = {
    lidMapping: {
      storeLIDPNMappings: async (pairs: Array<{ lid: string; pn: string }>) => {
        this.lidMappings.push(...pairs);
      },
    },
  };
  constructor(config: UserFacingSocketConfig) {
    this.config = config;
    // socket.js registers this before anyone else can: creds are updated in place on creds.update.
    this.ev.on('creds.update', (u) => Object.assign(config.auth.creds, u));
  }
  sendMessage = async () => undefined;
  fetchMessageHistory = async () => 'r';
  requestPairingCode = async () => 'ABCD1234';
  logout = async () => undefined;
  end = async () => undefined;

  /** What messages-recv.js + chats.js + process-message.js do with one history notification (after the ack). */
  async deliverHistory(
    n: proto.Message.IHistorySyncNotification,
    opts: { fromMe?: boolean; failDownload?: boolean; flush?: boolean } = {},
  ): Promise<void> {
    this.ev.buffer();
    try {
      this.ev.emit('messages.upsert', { messages: [notificationMessage(n, opts.fromMe ?? true)], type: 'notify' });
      if (opts.fromMe === false || opts.failDownload) return;
      const data = await downloadAndProcessHistorySyncNotification(n, {});
      this.ev.emit('messaging-history.set', {
        ...data,
        isLatest: true,
        chunkOrder: n.chunkOrder,
        peerDataRequestSessionId: n.peerDataRequestSessionId,
      });
    } finally {
      if (opts.flush ?? true) this.ev.flush();
    }
  }
  caughtUp(): void {
    this.ev.emit('connection.update', { receivedPendingNotifications: true });
  }
}

describe('history durability', () => {
  let dir: string;
  let file: string;
  let store: Store;
  let sockets: FakeBaileysSocket[];

  const openStore = async (): Promise<Store> => {
    const s = openSqliteStore({ file });
    await s.init();
    return s;
  };
  const makeConnector = (extra: Partial<BaileysConnectorOptions> = {}) =>
    new BaileysConnector({
      syncFullHistory: true,
      logLevel: 'silent',
      makeSocket: (config) => {
        const s = new FakeBaileysSocket(config);
        sockets.push(s);
        return s as unknown as WASocket;
      },
      ...extra,
    });
  const journal = async (): Promise<HistoryJournal> => HistoryJournal.open(store, new AuthStateCodec(ACCOUNT), logger);
  /** Connects and plays the actor: every history set received is collected. */
  async function connect(connector: BaileysConnector): Promise<{ sock: FakeBaileysSocket; sets: HistorySet[] }> {
    await connector.connect({ accountId: ACCOUNT, store, logger });
    const sock = sockets.at(-1);
    if (!sock) throw new Error('no socket');
    sock.config.auth.creds.me = { id: ME };
    const sets: HistorySet[] = [];
    sock.ev.on('messaging-history.set', (d) => sets.push(d));
    return { sock, sets };
  }
  const until = async (cond: () => boolean | Promise<boolean>, what: string) => {
    for (let i = 0; i < 300; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-hist-'));
    file = path.join(dir, 'wasync.db');
    store = await openStore();
    await store.createAccount({ id: ACCOUNT });
    sockets = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a committed chunk leaves the journal', async () => {
    const connector = makeConnector();
    const { sock, sets } = await connect(connector);
    await sock.deliverHistory(inlineNotification(1, ['H1', 'H2']));
    await until(() => sets.length === 1, 'the history set');
    expect(sets[0]?.messages.map((m) => m.key.id)).toEqual(['H1', 'H2']);
    await connector.settled(ACCOUNT);
    expect((await journal()).pending()).toHaveLength(1);

    await connector.onHistoryCommitted(sets[0] as HistorySet);
    await connector.settled(ACCOUNT);
    expect((await journal()).pending()).toHaveLength(0);
  });

  it('a chunk not committed before a crash is downloaded again and re-emitted on the next connection', async () => {
    const first = makeConnector();
    const { sock } = await connect(first);
    const n = inlineNotification(1, ['H1', 'H2']);
    await sock.deliverHistory(n);
    await first.settled(ACCOUNT);
    // Crash: the actor never confirmed; nothing in memory survives.
    await store.close();
    store = await openStore();

    const second = makeConnector();
    const { sock: sock2, sets } = await connect(second);
    expect(sets).toHaveLength(0);
    sock2.caughtUp();
    await until(() => sets.length === 1, 'the replayed set');
    expect(sets[0]?.messages.map((m) => m.key.id)).toEqual(['H1', 'H2']);
    expect(sets[0]?.syncType).toBe(HistorySyncType.INITIAL_BOOTSTRAP);
    expect(sets[0]?.chunkOrder).toBe(1);
    await second.settled(ACCOUNT);
    expect((await journal()).pending()[0]).toMatchObject({ id: historyNotificationId(n), attempts: 1 });

    await second.onHistoryCommitted(sets[0] as HistorySet);
    await second.settled(ACCOUNT);
    expect((await journal()).pending()).toHaveLength(0);
  });

  it('one consolidated event carrying several chunks commits them all; a chunk whose download failed stays', async () => {
    const connector = makeConnector();
    const { sock, sets } = await connect(connector);
    // All three inside one buffer window, as during Baileys' initial sync.
    sock.ev.buffer();
    await sock.deliverHistory(inlineNotification(1, ['A1']), { flush: false });
    await sock.deliverHistory(inlineNotification(2, ['B1']), { failDownload: true, flush: false });
    await sock.deliverHistory(inlineNotification(3, ['C1']), { flush: false });
    expect(sets).toHaveLength(0);
    sock.ev.flush();
    await until(() => sets.length === 1, 'the consolidated set');
    expect(sets[0]?.messages.map((m) => m.key.id).sort()).toEqual(['A1', 'C1']);
    await connector.onHistoryCommitted(sets[0] as HistorySet);
    await connector.settled(ACCOUNT);
    const left = (await journal()).pending();
    expect(left.map((e) => e.chunkOrder)).toEqual([2]);
  });

  it('gives a chunk up after MAX_REPLAY_ATTEMPTS failed replays', async () => {
    const first = makeConnector();
    const { sock } = await connect(first);
    await sock.deliverHistory(inlineNotification(1, ['H1']), { failDownload: true });
    await first.settled(ACCOUNT);
    expect((await journal()).pending()).toHaveLength(1);

    let downloads = 0;
    const failing = makeConnector({
      historyDownload: async () => {
        downloads++;
        throw new Error('media gone (410)');
      },
    });
    for (let i = 1; i <= MAX_REPLAY_ATTEMPTS + 1; i++) {
      const { sock: s } = await connect(failing);
      s.caughtUp();
      await until(async () => {
        await failing.settled(ACCOUNT);
        const p = (await journal()).pending();
        return i <= MAX_REPLAY_ATTEMPTS ? p[0]?.attempts === i && downloads === i : p.length === 0;
      }, `replay ${i}`);
      s.ev.emit('connection.update', { connection: 'close' });
    }
    expect(downloads).toBe(MAX_REPLAY_ATTEMPTS);
  });

  it('journals only our own processable notifications', async () => {
    const connector = makeConnector();
    const { sock } = await connect(connector);
    await sock.deliverHistory(inlineNotification(1, ['X']), { fromMe: false });
    await connector.settled(ACCOUNT);
    expect((await journal()).pending()).toHaveLength(0);
  });

  it('replays nothing that is already being handled on the same socket', async () => {
    const connector = makeConnector();
    const { sock, sets } = await connect(connector);
    await sock.deliverHistory(inlineNotification(1, ['H1']));
    await until(() => sets.length === 1, 'the set');
    sock.caughtUp();
    await new Promise((r) => setTimeout(r, 50));
    expect(sets).toHaveLength(1);
  });
});

describe('HistoryTap pre-ack hook (wrapped Signal repository)', () => {
  let store: Store;

  let temp: TempStore;
  beforeEach(async () => {
    temp = await openTempStore('tap', ACCOUNT);
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  /** A Signal repository whose decryptMessage yields the given message, padded as WhatsApp pads it. */
  function fakeRepositoryFactory(message: proto.IMessage): SocketConfig['makeSignalRepository'] {
    return () =>
      ({
        decryptMessage: async () => writeRandomPadMax16(proto.Message.encode(message).finish()),
      }) as unknown as SignalRepositoryWithLIDStore;
  }
  const historyPayload = (n: proto.Message.IHistorySyncNotification): proto.IMessage => ({
    protocolMessage: { type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION, historySyncNotification: n },
  });

  async function tapWith(storeForJournal: Store) {
    const codec = new AuthStateCodec(ACCOUNT, Buffer.alloc(32, 7));
    const journal = await HistoryJournal.open(storeForJournal, codec, logger);
    const creds = { me: { id: ME, lid: '123456789012345:12@lid' } } as unknown as ConstructorParameters<typeof HistoryTap>[0]['creds'];
    return { journal, codec, tap: new HistoryTap({ journal, creds, logger, now: () => 1 }) };
  }

  it('makes the notification durable before decryptMessage returns (i.e. before Baileys can ack it)', async () => {
    const order: string[] = [];
    const slow = Object.create(store) as Store;
    slow.writeAuthKeys = async (id, writes) => {
      await new Promise((r) => setTimeout(r, 30));
      await store.writeAuthKeys(id, writes);
      order.push('journal written');
    };
    const { tap, codec } = await tapWith(slow);
    const n = inlineNotification(4, ['H1']);
    const repo = tap.wrapSignalRepository(fakeRepositoryFactory(historyPayload(n)))({} as never, logger);
    const plaintext = await repo.decryptMessage({ jid: '40700000001:0@s.whatsapp.net', type: 'msg', ciphertext: new Uint8Array(1) });
    order.push('decrypt returned');
    expect(order).toEqual(['journal written', 'decrypt returned']);
    expect(plaintext.length).toBeGreaterThan(0);
    const reread = await HistoryJournal.open(store, codec, logger);
    expect(reread.pending().map((e) => e.id)).toEqual([historyNotificationId(n)]);
  });

  it('also recognises a notification sent from our LID device', async () => {
    const { tap, journal } = await tapWith(store);
    const repo = tap.wrapSignalRepository(fakeRepositoryFactory(historyPayload(inlineNotification(1, ['H1']))))({} as never, logger);
    await repo.decryptMessage({ jid: '123456789012345:0@lid', type: 'pkmsg', ciphertext: new Uint8Array(1) });
    expect(journal.pending()).toHaveLength(1);
  });

  it('ignores notifications from anyone else, and ordinary messages', async () => {
    const { tap, journal } = await tapWith(store);
    const spoofed = tap.wrapSignalRepository(fakeRepositoryFactory(historyPayload(inlineNotification(1, ['H1']))))({} as never, logger);
    await spoofed.decryptMessage({ jid: '40712345678:0@s.whatsapp.net', type: 'msg', ciphertext: new Uint8Array(1) });
    const text = tap.wrapSignalRepository(fakeRepositoryFactory({ conversation: 'hi' }))({} as never, logger);
    const out = await text.decryptMessage({ jid: '40700000001:0@s.whatsapp.net', type: 'msg', ciphertext: new Uint8Array(1) });
    expect(proto.Message.decode(out.subarray(0, out.length - (out[out.length - 1] ?? 0))).conversation).toBe('hi');
    expect(journal.pending()).toHaveLength(0);
  });

  it('a failing journal write never turns into a decryption failure', async () => {
    const broken = Object.create(store) as Store;
    broken.writeAuthKeys = async () => {
      throw new Error('disk full');
    };
    const { tap } = await tapWith(broken);
    const repo = tap.wrapSignalRepository(fakeRepositoryFactory(historyPayload(inlineNotification(1, ['H1']))))({} as never, logger);
    await expect(repo.decryptMessage({ jid: ME, type: 'msg', ciphertext: new Uint8Array(1) })).resolves.toBeInstanceOf(Uint8Array);
  });
});
