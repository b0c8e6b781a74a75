import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  Browsers,
  DEFAULT_CONNECTION_CONFIG,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  makeEventBuffer,
  proto,
  type UserFacingSocketConfig,
  type WASocket,
} from '@whiskeysockets/baileys';
import { loadConfig } from '../../src/config/index.js';
import { BaileysConnector, baileysConnectorFromConfig, baileysLogLevel, buildSocketConfig } from '../../src/connectors/baileys/index.js';
import { storeGroupMetadata, storeMessageLookup } from '../../src/connectors/baileys/socket-config.js';
import { renderQrToTerminal } from '../../src/connectors/qr.js';
import { WasyncError } from '../../src/domain/errors.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { makeMessage } from '../support/records.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNT = 'account_test_conn';
const logger = pino({ level: 'silent' });
const { HistorySyncType } = proto.HistorySync;

describe('buildSocketConfig', () => {
  const auth = { creds: initAuthCreds(), keys: makeCacheableSignalKeyStore({ get: async () => ({}), set: async () => undefined }, logger) };
  const getMessage = async () => undefined;

  it('sets every option the issue requires', () => {
    const config = buildSocketConfig({ auth, logger, syncFullHistory: true, getMessage });
    expect(config.auth).toBe(auth);
    expect(config.auth.keys).toBe(auth.keys);
    expect(config.browser).toEqual(Browsers.macOS('Desktop'));
    expect(config.browser?.[1]).toBe('Desktop');
    expect(config.syncFullHistory).toBe(true);
    expect(config.markOnlineOnConnect).toBe(false);
    expect(config.getMessage).toBe(getMessage);
    expect(config.logger).toBe(logger);
    expect(config.makeSignalRepository).toBe(DEFAULT_CONNECTION_CONFIG.makeSignalRepository);
    expect(buildSocketConfig({ auth, logger, syncFullHistory: false, getMessage }).syncFullHistory).toBe(false);
  });

  it('accepts every history type, FULL included, where Baileys’ default drops FULL', () => {
    const config = buildSocketConfig({ auth, logger, syncFullHistory: true, getMessage });
    const types = Object.values(proto.Message.HistorySyncType).filter((v): v is number => typeof v === 'number');
    for (const syncType of types) expect(config.shouldSyncHistoryMessage?.({ syncType }), String(syncType)).toBe(true);
    expect(DEFAULT_CONNECTION_CONFIG.shouldSyncHistoryMessage({ syncType: HistorySyncType.FULL })).toBe(false);
  });

  it('uses the given Signal repository factory (the history journal hook)', () => {
    const make = DEFAULT_CONNECTION_CONFIG.makeSignalRepository;
    const wrapped: typeof make = (...args) => make(...args);
    expect(buildSocketConfig({ auth, logger, syncFullHistory: true, getMessage, makeSignalRepository: wrapped }).makeSignalRepository).toBe(
      wrapped,
    );
  });
});

describe('baileysLogLevel', () => {
  it('keeps Baileys at warn unless debugging, and never louder than the operator asked', () => {
    expect(baileysLogLevel('info')).toBe('warn');
    expect(baileysLogLevel('warn')).toBe('warn');
    expect(baileysLogLevel('debug')).toBe('debug');
    expect(baileysLogLevel('trace')).toBe('trace');
    expect(baileysLogLevel('error')).toBe('error');
    expect(baileysLogLevel('fatal')).toBe('fatal');
    expect(baileysLogLevel('silent')).toBe('silent');
  });
});

describe('BaileysConnector.connect', () => {
  let dir: string;
  let store: Store;
  let configs: UserFacingSocketConfig[];
  let sockets: Array<ReturnType<typeof makeEventBuffer>>;

  /** Stands in for makeWASocket: records the config, exposes Baileys' real event buffer as `ev`. */
  const makeSocket = (config: UserFacingSocketConfig): WASocket => {
    configs.push(config);
    const ev = makeEventBuffer(logger);
    // socket.js: creds are updated in place before any other creds.update listener runs.
    ev.on('creds.update', (u) => Object.assign(config.auth.creds, u));
    sockets.push(ev);
    return { ev, signalRepository: { lidMapping: { storeLIDPNMappings: async () => undefined } } } as unknown as WASocket;
  };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-bconn-'));
    store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: ACCOUNT });
    configs = [];
    sockets = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds the socket from the config: full history, store-backed auth and getMessage', async () => {
    const connector = baileysConnectorFromConfig(loadConfig({ DATA_DIR: dir, WHATSAPP_SYNC_FULL_HISTORY: 'false', LOG_LEVEL: 'silent' }));
    expect(connector.kind).toBe('baileys');
    const injected = new BaileysConnector({ syncFullHistory: true, logLevel: 'info', makeSocket });
    await injected.connect({ accountId: ACCOUNT, store, logger });
    const config = configs[0];
    expect(config?.syncFullHistory).toBe(true);
    expect(config?.markOnlineOnConnect).toBe(false);
    expect(config?.browser).toEqual(Browsers.macOS('Desktop'));
    expect(config?.shouldSyncHistoryMessage?.({ syncType: HistorySyncType.FULL })).toBe(true);
    expect(config?.auth.creds.registered).toBe(false);
    // The pre-ack history hook wraps Baileys' repository instead of replacing it.
    expect(config?.makeSignalRepository).not.toBe(DEFAULT_CONNECTION_CONFIG.makeSignalRepository);
    expect((config?.logger as { level?: string } | undefined)?.level).toBe('warn');
  });

  it('saves creds on creds.update, and the socket after the 515 restart reads them (no second QR)', async () => {
    // A slow store: the pairing's creds write is still in flight when the restart happens.
    const slow = Object.create(store) as Store;
    slow.writeAuthCreds = async (id, data) => {
      await new Promise((r) => setTimeout(r, 50));
      await store.writeAuthCreds(id, data);
    };
    const connector = new BaileysConnector({
      syncFullHistory: true,
      logLevel: 'silent',
      makeSocket,
      authStateKey: randomBytes(32),
    });
    await connector.connect({ accountId: ACCOUNT, store: slow, logger });
    const first = configs[0]?.auth.creds;
    // What socket.js emits on pair-success, immediately followed by the server's 515.
    sockets[0]?.emit('creds.update', { me: { id: '40700000001:12@s.whatsapp.net', name: 'Ana' }, platform: 'android', registered: true });
    sockets[0]?.emit('connection.update', { connection: 'close' });

    await connector.connect({ accountId: ACCOUNT, store: slow, logger });
    const second = configs[1]?.auth.creds;
    expect(second?.me?.id).toBe('40700000001:12@s.whatsapp.net');
    expect(Buffer.from(second?.noiseKey.public ?? []).equals(Buffer.from(first?.noiseKey.public ?? []))).toBe(true);
    expect(Buffer.from(second?.signedIdentityKey.private ?? []).equals(Buffer.from(first?.signedIdentityKey.private ?? []))).toBe(true);
  });

  it('fails to connect with AUTH_STATE_KEY_INVALID when the key is wrong', async () => {
    const a = new BaileysConnector({ syncFullHistory: true, logLevel: 'silent', makeSocket, authStateKey: randomBytes(32) });
    await a.connect({ accountId: ACCOUNT, store, logger });
    sockets[0]?.emit('creds.update', { registered: true });
    await a.settled(ACCOUNT);
    const b = new BaileysConnector({ syncFullHistory: true, logLevel: 'silent', makeSocket, authStateKey: randomBytes(32) });
    const err = await b.connect({ accountId: ACCOUNT, store, logger }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WasyncError);
    expect((err as WasyncError).code).toBe('AUTH_STATE_KEY_INVALID');
    expect(configs).toHaveLength(1); // no socket was built
  });
});

describe('storeMessageLookup (getMessage)', () => {
  let store: Store;

  let temp: TempStore;
  beforeEach(async () => {
    temp = await openTempStore('getmsg', ACCOUNT);
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  it('answers from rawMessage, and undefined for unknown messages or messages without content kept', async () => {
    const raw = proto.Message.encode({ extendedTextMessage: { text: 'sent by us' } }).finish();
    await store.applyMutations(ACCOUNT, [
      { kind: 'message', record: makeMessage({ accountId: ACCOUNT, id: '3EB0OWN', direction: 'outbound', rawMessage: raw }) },
      { kind: 'message', record: makeMessage({ accountId: ACCOUNT, id: '3EB0IN', rawMessage: null }) },
    ]);
    const getMessage = storeMessageLookup(store, ACCOUNT, logger);
    const found = await getMessage({ id: '3EB0OWN', remoteJid: '40712345678@s.whatsapp.net', fromMe: true });
    expect(found?.extendedTextMessage?.text).toBe('sent by us');
    expect(await getMessage({ id: '3EB0IN', remoteJid: '40712345678@s.whatsapp.net' })).toBeUndefined();
    expect(await getMessage({ id: 'NOPE', remoteJid: '40712345678@s.whatsapp.net' })).toBeUndefined();
    expect(await getMessage({ remoteJid: '40712345678@s.whatsapp.net' })).toBeUndefined();
  });

  it('a failing store costs a retry, not an exception inside Baileys', async () => {
    const broken = Object.create(store) as Store;
    broken.getMessage = async () => {
      throw new Error('store down');
    };
    await expect(storeMessageLookup(broken, ACCOUNT, logger)({ id: 'X', remoteJid: 'a@s.whatsapp.net' })).resolves.toBeUndefined();
  });
});

describe('storeGroupMetadata (cachedGroupMetadata)', () => {
  const GROUP = '120363000000000001@g.us';
  let temp: TempStore;
  beforeEach(async () => {
    temp = await openTempStore('groupmeta', ACCOUNT);
  });
  afterEach(() => temp.cleanup());

  it('answers a send to a group from the stored roster, as the group addresses its members; undefined for an unknown roster', async () => {
    const cached = storeGroupMetadata(temp.store, ACCOUNT, logger);
    const auth = {
      creds: initAuthCreds(),
      keys: makeCacheableSignalKeyStore({ get: async () => ({}), set: async () => undefined }, logger),
    };
    const config = buildSocketConfig({
      auth,
      logger,
      syncFullHistory: true,
      getMessage: async () => undefined,
      cachedGroupMetadata: cached,
    });
    expect(config.cachedGroupMetadata).toBe(cached);
    expect(await cached(GROUP)).toBeUndefined();

    await temp.store.applyMutations(ACCOUNT, [
      { kind: 'thread', accountId: ACCOUNT, clientJid: GROUP, displayName: 'Book club', source: 'groupSubject' },
      {
        kind: 'group-roster',
        accountId: ACCOUNT,
        clientJid: GROUP,
        source: 'metadata',
        addressingMode: 'lid',
        participants: [
          { jid: '111@lid', phoneNumber: '40711111111@s.whatsapp.net', lid: '111@lid', admin: 'superadmin' },
          { jid: '222@lid', phoneNumber: null, lid: '222@lid', admin: null },
        ],
      },
    ]);
    expect(await cached(GROUP)).toEqual({
      id: GROUP,
      subject: 'Book club',
      owner: undefined,
      addressingMode: 'lid',
      size: 2,
      participants: [
        { id: '111@lid', phoneNumber: '40711111111@s.whatsapp.net', admin: 'superadmin', isAdmin: true, isSuperAdmin: true },
        { id: '222@lid', admin: null, isAdmin: false, isSuperAdmin: false },
      ],
    });
    // A group with messages but no roster yet, and a 1:1 chat: Baileys fetches the metadata itself.
    await temp.store.applyMutations(ACCOUNT, [
      {
        kind: 'message',
        record: makeMessage({ accountId: ACCOUNT, id: 'G2', clientJid: '120363000000000002@g.us', participant: 'x@s.whatsapp.net' }),
      },
    ]);
    expect(await cached('120363000000000002@g.us')).toBeUndefined();
    expect(await cached('40712345678@s.whatsapp.net')).toBeUndefined();
  });

  it('a failing store costs one metadata query, not the send', async () => {
    const broken = Object.create(temp.store) as Store;
    broken.getThread = async () => {
      throw new Error('store down');
    };
    await expect(storeGroupMetadata(broken, ACCOUNT, logger)(GROUP)).resolves.toBeUndefined();
  });
});

describe('renderQrToTerminal', () => {
  it('renders a QR as terminal block art', async () => {
    const art = await renderQrToTerminal('2@Zm9vYmFy,bm9pc2U=,aWRlbnRpdHk=,YWR2');
    expect(art.split('\n').length).toBeGreaterThan(10);
    expect(art).toMatch(/[█▀▄]/);
  });
});
