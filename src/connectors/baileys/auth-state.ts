import {
  BufferJSON,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import { WasyncError } from '../../domain/errors.js';
import type { Logger } from '../../logging/logger.js';
import type { AuthKeyWrite, Store } from '../../store/port.js';
import { AuthStateSealer } from './crypto.js';

/** Every key type Baileys 7 keeps (`SignalDataTypeMap`); the test round-trips one value of each. */
export const SIGNAL_KEY_TYPES = [
  'pre-key',
  'session',
  'sender-key',
  'sender-key-memory',
  'app-state-sync-key',
  'app-state-sync-version',
  'lid-mapping',
  'device-list',
  'tctoken',
  'identity-key',
] as const satisfies ReadonlyArray<keyof SignalDataTypeMap>;

// Compile-time check that the list above is complete: adding a key type in a Baileys upgrade fails here.
type MissingKeyTypes = Exclude<keyof SignalDataTypeMap, (typeof SIGNAL_KEY_TYPES)[number]>;
const _allKeyTypesListed: [MissingKeyTypes] extends [never] ? true : MissingKeyTypes = true;
void _allKeyTypesListed;

/**
 * Serialisation and sealing of auth-state values, shared by the auth state and by the connector's
 * other secrets-bearing records (the history journal holds media keys). JSON with Baileys' own
 * `BufferJSON` so values read back exactly as `useMultiFileAuthState` would read them.
 */
export class AuthStateCodec {
  readonly sealer: AuthStateSealer;
  constructor(
    readonly accountId: string,
    key?: Buffer,
  ) {
    this.sealer = new AuthStateSealer(key);
  }

  encode(value: unknown, slot: string): Uint8Array {
    const json = JSON.stringify(value, BufferJSON.replacer);
    return this.sealer.seal(Buffer.from(json, 'utf8'), this.slot(slot));
  }

  decode(data: Uint8Array, slot: string, what: string): unknown {
    const plain = this.sealer.open(data, this.slot(slot), what);
    try {
      return JSON.parse(Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength).toString('utf8'), BufferJSON.reviver) as unknown;
    } catch (err) {
      throw new WasyncError('AUTH_STATE_KEY_INVALID', `${what} is not valid auth-state data`, { cause: err });
    }
  }

  private slot(name: string): string {
    return `${this.accountId}\u0000${name}`;
  }
}

export const CREDS_SLOT = 'creds';
export const keySlot = (type: string, id: string): string => `key\u0000${type}\u0000${id}`;

/** Runs async steps strictly in call order; a failed step does not block the ones after it. */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.tail.then(step);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once every step queued so far has settled. */
  idle(): Promise<void> {
    return this.tail;
  }
}

export interface StoreAuthStateOptions {
  /** AUTH_STATE_KEY: seal creds and keys with AES-256-GCM. */
  key?: Buffer;
  logger: Logger;
}

export interface StoreAuthState {
  /** `keys` is the cacheable store wrapped around `rawKeys`; hand `state` to Baileys as is. */
  state: AuthenticationState;
  saveCreds: () => Promise<void>;
  /** Uncached key store on top of the store port (tests, and callers that must bypass the cache). */
  rawKeys: SignalKeyStore;
  /** Resolves once every write issued so far (creds and keys) has settled. */
  settled: () => Promise<void>;
  codec: AuthStateCodec;
}

/**
 * Baileys auth state kept in the wasync store, the database counterpart of Baileys'
 * `useMultiFileAuthState` (lib/Utils/use-multi-file-auth-state.js): same serialisation, same
 * `AppStateSyncKeyData` revival, but one transactional `writeAuthKeys` per `keys.set` so a crash never
 * leaves half of a Signal session update behind, and writes applied strictly in call order so the
 * last `set` of a key is the one that stays.
 *
 * Reads the creds first and fails with `AUTH_STATE_KEY_INVALID` before anything is written when the
 * stored state cannot be opened with the configured key.
 */
export async function useStoreAuthState(store: Store, accountId: string, opts: StoreAuthStateOptions): Promise<StoreAuthState> {
  const codec = new AuthStateCodec(accountId, opts.key);
  const writes = new SerialQueue();

  const stored = await store.readAuthCreds(accountId);
  const creds: AuthenticationCreds =
    stored === null ? initAuthCreds() : (codec.decode(stored, CREDS_SLOT, 'the stored WhatsApp session (creds)') as AuthenticationCreds);
  opts.logger.debug({ accountId, encrypted: codec.sealer.encrypted, fresh: stored === null }, 'auth state loaded');

  const rawKeys: SignalKeyStore = {
    async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
      const found = await store.readAuthKeys(accountId, type, ids);
      const out: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const [id, bytes] of found) {
        let value = codec.decode(bytes, keySlot(type, id), `auth key ${type}`);
        if (type === 'app-state-sync-key' && value) {
          // JSON loses the proto class; Baileys reads fields through the class (as useMultiFileAuthState does).
          value = proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>);
        }
        out[id] = value as SignalDataTypeMap[T];
      }
      return out;
    },
    async set(data: SignalDataSet): Promise<void> {
      // Encoded now, not when the queue gets to it: Baileys mutates some values after handing them over.
      const batch: AuthKeyWrite[] = [];
      for (const type of Object.keys(data) as Array<keyof SignalDataTypeMap>) {
        const entries = data[type];
        if (!entries) continue;
        for (const [id, value] of Object.entries(entries)) {
          batch.push({ type, id, value: value === null || value === undefined ? null : codec.encode(value, keySlot(type, id)) });
        }
      }
      if (batch.length === 0) return;
      await writes.run(() => store.writeAuthKeys(accountId, batch));
    },
  };

  const saveCreds = (): Promise<void> => {
    const bytes = codec.encode(creds, CREDS_SLOT);
    return writes.run(() => store.writeAuthCreds(accountId, bytes));
  };

  return {
    state: { creds, keys: makeCacheableSignalKeyStore(rawKeys, opts.logger) },
    saveCreds,
    rawKeys,
    settled: () => writes.idle(),
    codec,
  };
}
