import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  BufferJSON,
  Curve,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';
import { SIGNAL_KEY_TYPES, useStoreAuthState, type StoreAuthState } from '../../src/connectors/baileys/auth-state.js';
import { isSealed } from '../../src/connectors/baileys/crypto.js';
import { WasyncError } from '../../src/domain/errors.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNT = 'account_test_auth';
const logger = pino({ level: 'silent' });

/** Compares values the way they are persisted: BufferJSON makes Buffer and Uint8Array alike. */
function persisted(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, BufferJSON.replacer)) as unknown;
}

/** Creds as they look after pairing: identity, account signature, routing info, history bookkeeping. */
function pairedCreds(): AuthenticationCreds {
  const creds = initAuthCreds();
  creds.me = { id: '40700000001:12@s.whatsapp.net', lid: '123456789012345:12@lid', name: 'Ana' };
  creds.account = proto.ADVSignedDeviceIdentity.fromObject({
    details: randomBytes(40),
    accountSignatureKey: randomBytes(32),
    accountSignature: randomBytes(64),
    deviceSignature: randomBytes(64),
  });
  creds.signalIdentities = [
    {
      identifier: { name: '40700000001:12@s.whatsapp.net', deviceId: 0 },
      identifierKey: Buffer.concat([Buffer.from([5]), randomBytes(32)]),
    },
  ];
  creds.platform = 'android';
  creds.registered = true;
  creds.routingInfo = randomBytes(16);
  creds.myAppStateKeyId = 'AAAAAE1b';
  creds.processedHistoryMessages = [
    { key: { remoteJid: '40700000001@s.whatsapp.net', id: '3EB0AA', fromMe: true }, messageTimestamp: 1_700_000_000 },
  ];
  creds.accountSyncCounter = 1;
  creds.lastPropHash = 'h4sh';
  return creds;
}

/** One realistic value of every key type Baileys 7 stores. */
function everyKeyType(): Required<{ [T in keyof SignalDataTypeMap]: { [id: string]: SignalDataTypeMap[T] } }> {
  return {
    'pre-key': { '1': Curve.generateKeyPair(), '2': Curve.generateKeyPair() },
    session: { '40712345678.0': randomBytes(420) },
    'sender-key': { '120363000000000001@g.us::40712345678::0': randomBytes(180) },
    'sender-key-memory': { '120363000000000001@g.us': { '40712345678:3@s.whatsapp.net': true, '40712345679:0@s.whatsapp.net': false } },
    'app-state-sync-key': {
      AAAAAE1b: proto.Message.AppStateSyncKeyData.fromObject({
        keyData: randomBytes(32),
        fingerprint: { rawId: 1_234_567, currentIndex: 3, deviceIndexes: [0, 12] },
        timestamp: 1_700_000_000_123,
      }),
    },
    'app-state-sync-version': {
      regular_high: { version: 42, hash: randomBytes(128), indexValueMap: { aW5kZXgx: { valueMac: randomBytes(32) } } },
    },
    'lid-mapping': { '40712345678': '123456789012345', '123456789012345_reverse': '40712345678' },
    'device-list': { '40712345678': ['0', '3', '12'] },
    tctoken: { '40712345678@s.whatsapp.net': { token: randomBytes(24), timestamp: '1700000000', senderTimestamp: 1_700_000_001 } },
    'identity-key': { '40712345678.0': Buffer.concat([Buffer.from([5]), randomBytes(32)]) },
  };
}

describe.each([
  ['plaintext', undefined],
  ['AES-256-GCM', randomBytes(32)],
] as const)('useStoreAuthState (%s)', (_mode, key) => {
  let dir: string;
  let file: string;
  let store: Store;

  const open = async (): Promise<Store> => {
    const s = openSqliteStore({ file });
    await s.init();
    return s;
  };
  const authState = (s: Store, k: Buffer | undefined = key): Promise<StoreAuthState> =>
    useStoreAuthState(s, ACCOUNT, k ? { key: k, logger } : { logger });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-auth-'));
    file = path.join(dir, 'wasync.db');
    store = await open();
    await store.createAccount({ id: ACCOUNT });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts from initAuthCreds() when nothing is stored, and writes nothing until saveCreds', async () => {
    const auth = await authState(store);
    expect(auth.state.creds.registered).toBe(false);
    expect(auth.state.creds.noiseKey.public).toHaveLength(32);
    expect(await store.readAuthCreds(ACCOUNT)).toBeNull();
    await auth.saveCreds();
    expect(await store.readAuthCreds(ACCOUNT)).not.toBeNull();
  });

  it('round-trips paired creds and a value of every key type through a process restart', async () => {
    const auth = await authState(store);
    const creds = pairedCreds();
    Object.assign(auth.state.creds, creds);
    await auth.saveCreds();
    const values = everyKeyType();
    expect(Object.keys(values).sort()).toEqual([...SIGNAL_KEY_TYPES].sort());
    await auth.state.keys.set(values as SignalDataSet);

    // "Restart": a new connection to the same file, a new auth state, no shared memory.
    await store.close();
    store = await open();
    const again = await authState(store);

    expect(persisted(again.state.creds)).toEqual(persisted(creds));
    expect(Buffer.isBuffer(again.state.creds.noiseKey.private)).toBe(true);
    for (const type of SIGNAL_KEY_TYPES) {
      const ids = Object.keys(values[type]);
      const got = await again.state.keys.get(type, ids);
      expect(persisted(got), type).toEqual(persisted(values[type]));
    }
    const appKey = (await again.state.keys.get('app-state-sync-key', ['AAAAAE1b'])).AAAAAE1b;
    // Revived as the proto class (Baileys reads it through the class), not a bare JSON object.
    expect(appKey).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(appKey?.keyData ?? []).equals(Buffer.from(values['app-state-sync-key'].AAAAAE1b?.keyData ?? []))).toBe(true);
    expect(Number(appKey?.timestamp)).toBe(1_700_000_000_123);
    expect(appKey?.fingerprint?.deviceIndexes).toEqual([0, 12]);
    const session = (await again.state.keys.get('session', ['40712345678.0']))['40712345678.0'];
    expect(Buffer.isBuffer(session)).toBe(true);
  });

  it('null deletes a key, in the cache and in the store', async () => {
    const auth = await authState(store);
    await auth.state.keys.set({ session: { a: randomBytes(10), b: randomBytes(10) } });
    await auth.state.keys.set({ session: { a: null } });
    expect(Object.keys(await auth.rawKeys.get('session', ['a', 'b']))).toEqual(['b']);
    expect((await store.readAuthKeys(ACCOUNT, 'session', ['a'])).size).toBe(0);
    const fresh = await authState(store);
    expect(Object.keys(await fresh.state.keys.get('session', ['a', 'b']))).toEqual(['b']);
  });

  it('keeps the last of concurrent sets', async () => {
    const auth = await authState(store);
    const writes = Array.from({ length: 25 }, (_, i) => Buffer.from(`v${i}`));
    await Promise.all(writes.map((v) => auth.rawKeys.set({ session: { s: v }, 'sender-key': { k: v } })));
    await Promise.all(writes.map((v) => auth.state.keys.set({ 'identity-key': { i: v } })));
    const fresh = await authState(store);
    expect(String((await fresh.rawKeys.get('session', ['s'])).s)).toBe('v24');
    expect(String((await fresh.rawKeys.get('sender-key', ['k'])).k)).toBe('v24');
    expect(String((await fresh.rawKeys.get('identity-key', ['i'])).i)).toBe('v24');
  });

  it('a keys.set is one all-or-nothing store write', async () => {
    const auth = await authState(store);
    const batches: number[] = [];
    const original = store.writeAuthKeys.bind(store);
    store.writeAuthKeys = async (id, w) => {
      batches.push(w.length);
      return original(id, w);
    };
    await auth.rawKeys.set({ session: { a: randomBytes(4), b: null }, 'pre-key': { '7': Curve.generateKeyPair() } });
    expect(batches).toEqual([3]);
  });

  it('`keys` is the cacheable store: a cached key is served without reading the store', async () => {
    const auth = await authState(store);
    await auth.state.keys.set({ session: { s: Buffer.from('cached') } });
    expect(String((await auth.state.keys.get('session', ['s'])).s)).toBe('cached');
    await auth.rawKeys.set({ session: { s: Buffer.from('behind the cache') } });
    expect(String((await auth.state.keys.get('session', ['s'])).s)).toBe('cached');
    expect(String((await auth.rawKeys.get('session', ['s'])).s)).toBe('behind the cache');
  });

  it('saveCreds writes the creds as they are when called, in call order', async () => {
    const auth = await authState(store);
    auth.state.creds.nextPreKeyId = 10;
    const first = auth.saveCreds();
    auth.state.creds.nextPreKeyId = 11;
    const second = auth.saveCreds();
    await Promise.all([first, second]);
    const fresh = await authState(store);
    expect(fresh.state.creds.nextPreKeyId).toBe(11);
  });
});

describe('auth state encryption', () => {
  let store: Store;
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);

  let temp: TempStore;
  beforeEach(async () => {
    temp = await openTempStore('auth-enc', ACCOUNT);
    store = temp.store;
  });
  afterEach(() => temp.cleanup());

  async function seed(key: Buffer | undefined): Promise<{ creds: Uint8Array; session: Uint8Array }> {
    const auth = await useStoreAuthState(store, ACCOUNT, key ? { key, logger } : { logger });
    Object.assign(auth.state.creds, pairedCreds());
    await auth.saveCreds();
    await auth.state.keys.set({ session: { s: randomBytes(64) } });
    const creds = await store.readAuthCreds(ACCOUNT);
    const session = (await store.readAuthKeys(ACCOUNT, 'session', ['s'])).get('s');
    if (!creds || !session) throw new Error('seed failed');
    return { creds: Buffer.from(creds), session: Buffer.from(session) };
  }

  async function expectInvalid(p: Promise<unknown>, message: RegExp): Promise<void> {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WasyncError);
    expect((err as WasyncError).code).toBe('AUTH_STATE_KEY_INVALID');
    expect((err as WasyncError).message).toMatch(message);
  }

  it('seals every value: nothing readable at rest', async () => {
    const { creds, session } = await seed(keyA);
    expect(isSealed(creds)).toBe(true);
    expect(isSealed(session)).toBe(true);
    const auth = await useStoreAuthState(store, ACCOUNT, { key: keyA, logger });
    expect(Buffer.from(creds).includes(Buffer.from(auth.state.creds.advSecretKey))).toBe(false);
    expect(Buffer.from(creds).includes(Buffer.from('40700000001'))).toBe(false);
  });

  it('fails loudly at start-up with a wrong key, and leaves the stored state untouched', async () => {
    const before = await seed(keyA);
    await expectInvalid(useStoreAuthState(store, ACCOUNT, { key: keyB, logger }), /does not match/);
    const creds = await store.readAuthCreds(ACCOUNT);
    const session = (await store.readAuthKeys(ACCOUNT, 'session', ['s'])).get('s');
    expect(Buffer.from(creds ?? []).equals(before.creds)).toBe(true);
    expect(Buffer.from(session ?? []).equals(before.session)).toBe(true);
    // The right key still opens it.
    const auth = await useStoreAuthState(store, ACCOUNT, { key: keyA, logger });
    expect(auth.state.creds.me?.id).toBe('40700000001:12@s.whatsapp.net');
  });

  it('refuses sealed data without a key, and plaintext data with one', async () => {
    await seed(keyA);
    await expectInvalid(useStoreAuthState(store, ACCOUNT, { logger }), /encrypted but AUTH_STATE_KEY is not set/);
    await store.clearAuthState(ACCOUNT);
    await seed(undefined);
    await expectInvalid(useStoreAuthState(store, ACCOUNT, { key: keyA, logger }), /unencrypted but AUTH_STATE_KEY is set/);
  });

  it('detects a tampered value and a value moved to another slot', async () => {
    const { session } = await seed(keyA);
    const auth = await useStoreAuthState(store, ACCOUNT, { key: keyA, logger });
    const flipped = Buffer.from(session);
    flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 0xff;
    await store.writeAuthKeys(ACCOUNT, [
      { type: 'session', id: 'tampered', value: flipped },
      { type: 'session', id: 'moved', value: session },
    ]);
    await expectInvalid(auth.rawKeys.get('session', ['tampered']) as Promise<unknown>, /integrity/);
    await expectInvalid(auth.rawKeys.get('session', ['moved']) as Promise<unknown>, /integrity/);
    expect((await auth.rawKeys.get('session', ['s'])).s).toBeDefined();
  });

  it('never puts key material in error messages', async () => {
    await seed(keyA);
    const err = await useStoreAuthState(store, ACCOUNT, { key: keyB, logger }).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    const text = `${err.message} ${JSON.stringify(err)}`;
    expect(text).not.toContain(keyA.toString('base64'));
    expect(text).not.toContain(keyB.toString('base64'));
  });
});
