import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BadRequestError, NotFoundError } from '../domain/errors.js';
import type { SettingsStore } from '../store/settings.js';

/**
 * Scoped API keys (README, API keys): `read` (threads, messages, media, accounts, the live feed),
 * `send`, `admin` (accounts, pairing, backfill, webhooks, keys; implies the other two). A key may be
 * limited to a list of accounts. The bootstrap token (`API_TOKEN` / `DATA_DIR/api-token`) is an
 * unlimited admin.
 */
export const SCOPES = ['read', 'send', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is asking: the bootstrap token, or an API key with its scopes and accounts. */
export interface Principal {
  kind: 'bootstrap' | 'key';
  keyId: string | null;
  scopes: ReadonlySet<Scope>;
  /** null: every account. */
  accounts: ReadonlySet<string> | null;
}

export const BOOTSTRAP: Principal = { kind: 'bootstrap', keyId: null, scopes: new Set(SCOPES), accounts: null };

/** An API key as stored and listed: never the secret, only its hash. */
export interface ApiKeyRecord {
  id: string;
  name: string | null;
  scopes: Scope[];
  accounts: string[] | null;
  /** Hex SHA-256 of the whole key string. */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface ApiKeyView extends Omit<ApiKeyRecord, 'hash'> {
  lastUsedAt: number | null;
}

/** `wsk_<id>_<secret>`: the id finds the record, the secret is 256 random bits. */
const KEY_FORM = /^wsk_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
const INDEX = 'apiKeys';
const recordKey = (id: string): string => `apiKey:${id}`;
const useKey = (id: string): string => `apiKeyUse:${id}`;
/** A verified key is trusted this long before the store is asked again (revocation elsewhere shows within it). */
const CACHE_MS = 5_000;
/** Last use is written at most this often per key. */
const USE_WRITE_MS = 60_000;

/**
 * Keys live in the store's settings (both backends, no migration): one entry per key (`apiKey:<id>`),
 * its last use in another (`apiKeyUse:<id>`, so a use never overwrites a revocation), and the list of
 * ids (`apiKeys`) for listing.
 *
 * Stored as SHA-256, not bcrypt/scrypt: those slow down guessing of low-entropy passwords; a key is 256
 * random bits that no one guesses, and a slow hash would cost every API request ~100 ms of the HTTP
 * thread. The secret is shown once, at creation.
 */
export class ApiKeys {
  private readonly cache = new Map<string, { record: ApiKeyRecord | null; at: number }>();
  private readonly lastUse = new Map<string, { at: number; writtenAt: number }>();

  constructor(
    private readonly store: SettingsStore,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: { name?: string | null; scopes: Scope[]; accounts?: string[] | null }): Promise<{ key: string; view: ApiKeyView }> {
    const id = randomBytes(8).toString('hex');
    const key = `wsk_${id}_${randomBytes(32).toString('base64url')}`;
    const record: ApiKeyRecord = {
      id,
      name: input.name ?? null,
      scopes: [...new Set(input.scopes)],
      accounts: input.accounts ? [...new Set(input.accounts)] : null,
      hash: sha256(key),
      createdAt: this.now(),
      revokedAt: null,
    };
    await this.store.putSetting(recordKey(id), record as unknown as Parameters<SettingsStore['putSetting']>[1]);
    const ids = await this.ids();
    await this.store.putSetting(INDEX, [...ids.filter((i) => i !== id), id]);
    return { key, view: this.view(record) };
  }

  async list(): Promise<ApiKeyView[]> {
    const out: ApiKeyView[] = [];
    for (const id of await this.ids()) {
      const record = await this.read(id);
      if (record) out.push(await this.viewWithUse(record));
    }
    return out;
  }

  async revoke(id: string): Promise<ApiKeyView> {
    const record = /^[a-f0-9]{16}$/.test(id) ? await this.read(id) : null;
    if (!record) throw new NotFoundError(`no API key ${id}`);
    const revoked: ApiKeyRecord = { ...record, revokedAt: record.revokedAt ?? this.now() };
    await this.store.putSetting(recordKey(id), revoked as unknown as Parameters<SettingsStore['putSetting']>[1]);
    this.cache.set(id, { record: revoked, at: this.now() });
    return this.viewWithUse(revoked);
  }

  /** The principal of a presented key, or null (unknown, revoked, malformed). Constant-time on the secret. */
  async verify(presented: string): Promise<Principal | null> {
    const m = KEY_FORM.exec(presented);
    if (!m) return null;
    const id = m[1]!;
    const now = this.now();
    let cached = this.cache.get(id);
    if (!cached || now - cached.at > CACHE_MS) {
      cached = { record: await this.read(id), at: now };
      this.cache.set(id, cached);
    }
    const record = cached.record;
    if (!record || record.revokedAt !== null) return null;
    if (!timingSafeEqual(Buffer.from(sha256(presented), 'hex'), Buffer.from(record.hash, 'hex'))) return null;
    this.noteUse(id, now);
    return { kind: 'key', keyId: id, scopes: new Set(record.scopes), accounts: record.accounts ? new Set(record.accounts) : null };
  }

  /** The principal of key `id` while it is not revoked (a websocket ticket names its key by id). */
  async principalOf(id: string): Promise<Principal | null> {
    const record = await this.read(id);
    if (!record || record.revokedAt !== null) return null;
    return { kind: 'key', keyId: id, scopes: new Set(record.scopes), accounts: record.accounts ? new Set(record.accounts) : null };
  }

  private noteUse(id: string, at: number): void {
    const use = this.lastUse.get(id) ?? { at, writtenAt: 0 };
    use.at = at;
    this.lastUse.set(id, use);
    if (at - use.writtenAt < USE_WRITE_MS) return;
    use.writtenAt = at;
    void this.store.putSetting(useKey(id), at).catch(() => undefined);
  }

  private async ids(): Promise<string[]> {
    const entry = await this.store.getSetting(INDEX);
    return Array.isArray(entry?.value) ? entry.value.filter((v): v is string => typeof v === 'string') : [];
  }

  private async read(id: string): Promise<ApiKeyRecord | null> {
    const entry = await this.store.getSetting(recordKey(id));
    return (entry?.value as unknown as ApiKeyRecord | undefined) ?? null;
  }

  private view(record: ApiKeyRecord): ApiKeyView {
    const { hash: _hash, ...rest } = record;
    return { ...rest, lastUsedAt: this.lastUse.get(record.id)?.at ?? null };
  }

  private async viewWithUse(record: ApiKeyRecord): Promise<ApiKeyView> {
    const stored = await this.store.getSetting(useKey(record.id));
    const storedAt = typeof stored?.value === 'number' ? stored.value : null;
    const local = this.lastUse.get(record.id)?.at ?? null;
    return { ...this.view(record), lastUsedAt: local === null ? storedAt : Math.max(local, storedAt ?? 0) };
  }
}

/** Whether `p` may use `scope` (on `accountId`, when the route names one). `admin` implies the others. */
export function allows(p: Principal, scope: Scope, accountId: string | null): boolean {
  if (!p.scopes.has(scope) && !p.scopes.has('admin')) return false;
  if (p.accounts === null) return true;
  return accountId !== null && p.accounts.has(accountId);
}

export function parseScopes(value: unknown): Scope[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => (SCOPES as readonly unknown[]).includes(s))) {
    throw new BadRequestError(`scopes must be a non-empty array of ${SCOPES.join(', ')}`);
  }
  return value as Scope[];
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
