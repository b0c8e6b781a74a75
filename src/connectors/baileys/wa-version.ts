import { DEFAULT_CONNECTION_CONFIG, fetchLatestWaWebVersion, type WAVersion } from '@whiskeysockets/baileys';
import type { Logger } from '../../logging/logger.js';
import type { SettingsStore } from '../../store/settings.js';

/**
 * The WhatsApp Web version the socket announces. Baileys sends the one compiled into it; once
 * WhatsApp stops accepting that version every connection fails with 405 "Connection Failure"
 * (`<failure reason="405" location="…"/>`; Baileys issues 1634, 1937, 2170, 2489), for every account
 * at once. So the version is resolved at run time, in this order:
 *
 * 1. `WA_VERSION` pins it (source `pinned`);
 * 2. the shared cache in the store (setting `waVersion`), refreshed from WhatsApp Web's service
 *    worker with Baileys' `fetchLatestWaWebVersion` when it is older than the refresh interval, so
 *    every instance and restart uses the same one (`fetched` by this process, else `cached`);
 * 3. a failed fetch keeps the last known good (the cache, else this process's last one), then
 *    falls back to Baileys' bundled version (`bundled`).
 *
 * Fetches have a short deadline: `fetchLatestWaWebVersion` has none of its own (Baileys issue 1990
 * reports its sibling hanging), and it returns the bundled version instead of throwing when it
 * fails (issue 1929: sw.js answering 400), which must not be mistaken for a fetched one.
 */

export type WaVersion = [number, number, number];
export type WaVersionSource = 'fetched' | 'cached' | 'pinned' | 'bundled';

export interface WaVersionState {
  version: WaVersion;
  source: WaVersionSource;
  /** When WhatsApp last confirmed this version (a fetch by this or another instance); null if never. */
  fetchedAt: number | null;
  /** When this process last tried to fetch one; null if it never did. */
  checkedAt: number | null;
  /** Why the last fetch failed; null when it succeeded or none was tried. */
  lastError: string | null;
}

/** Fetches WhatsApp Web's current version; rejects on any failure. Tests inject their own. */
export type WaVersionFetcher = (signal: AbortSignal) => Promise<WaVersion>;

export const BUNDLED_WA_VERSION: WaVersion = [...(DEFAULT_CONNECTION_CONFIG.version as WAVersion)];
export const WA_VERSION_SETTING = 'waVersion';
/** A rejection right after someone fetched the very version rejected is not fixed by fetching again. */
export const REFETCH_GUARD_MS = 60_000;
export const DEFAULT_FETCH_TIMEOUT_MS = 5_000;

export function formatWaVersion(v: readonly number[]): string {
  return v.join('.');
}

export function isWaVersion(v: unknown): v is WaVersion {
  return Array.isArray(v) && v.length === 3 && v.every((n) => Number.isSafeInteger(n) && n >= 0);
}

function sameVersion(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Baileys' own fetch of `web.whatsapp.com/sw.js`, as a fetcher that fails loudly. */
export const fetchWaWebVersion: WaVersionFetcher = async (signal) => {
  const res = await fetchLatestWaWebVersion({ signal });
  if (!res.isLatest || res.error !== undefined) throw new Error(`could not read the version from WhatsApp Web: ${describe(res.error)}`);
  if (!isWaVersion(res.version)) throw new Error(`WhatsApp Web answered an unusable version ${JSON.stringify(res.version)}`);
  return [...res.version];
};

/**
 * Whether a connection failure looks like WhatsApp refusing our client version: Baileys turns the
 * server's `<failure reason="405">` into a Boom with status 405 ("Connection Failure"). A 405 is not
 * always the version (issue 2370 sees it while pairing), so it earns one refetch and one retry only.
 */
export function isVersionRejection(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { output?: { statusCode?: unknown }; data?: { reason?: unknown } };
  return e.output?.statusCode === 405 || e.data?.reason === '405';
}

interface CachedVersion {
  version: WaVersion;
  fetchedAt: number;
}

export interface WaVersionResolverOptions {
  settings: Pick<SettingsStore, 'getSetting' | 'putSetting'>;
  logger: Logger;
  /** WA_VERSION */
  pinned?: WaVersion | null;
  fetcher?: WaVersionFetcher;
  /** Refetch when the cache is older than this (WA_VERSION_REFRESH_MS). */
  maxAgeMs: number;
  /** WA_VERSION_FETCH_TIMEOUT_MS */
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Resolves the version for one thread. The main thread calls `resolve()` at start-up and on its
 * refresh timer; actor threads call `forConnect()` (a cache read, never a fetch) before each socket,
 * and `afterRejection()` when WhatsApp refused the version a socket used. Concurrent fetches in one
 * thread share one request.
 */
export class WaVersionResolver {
  private readonly o: WaVersionResolverOptions;
  private readonly now: () => number;
  private readonly fetcher: WaVersionFetcher;
  private lastGood: CachedVersion | null = null;
  private inflight: Promise<WaVersionState> | null = null;
  private checkedAt: number | null = null;
  private lastError: string | null = null;

  constructor(o: WaVersionResolverOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.fetcher = o.fetcher ?? fetchWaWebVersion;
  }

  /** Start-up and periodic refresh: fetches when the shared cache is missing or stale (or `force`). */
  async resolve(opts: { force?: boolean } = {}): Promise<WaVersionState> {
    if (this.o.pinned) return this.pinnedState();
    const cached = await this.readCache();
    if (!opts.force && cached && this.now() - cached.fetchedAt < this.o.maxAgeMs) return this.state(cached, 'cached');
    return this.fetchOnce(cached);
  }

  /** What a new socket uses: the pin, else the shared cache, else the last known good, else the bundled version. */
  async forConnect(): Promise<WaVersionState> {
    if (this.o.pinned) return this.pinnedState();
    const cached = (await this.readCache()) ?? this.lastGood;
    return cached ? this.state(cached, 'cached') : this.bundledState();
  }

  /**
   * WhatsApp refused `rejected`. If the cache already holds another version (another thread or
   * instance refreshed it) that one is used; if someone confirmed the rejected version moments ago,
   * fetching again would only repeat it; otherwise the version is fetched now.
   */
  async afterRejection(rejected: WaVersion): Promise<WaVersionState> {
    if (this.o.pinned) {
      this.o.logger.warn(
        { waVersion: formatWaVersion(this.o.pinned) },
        'WhatsApp refused the pinned WA_VERSION: pin a newer one, or unset it to follow WhatsApp Web',
      );
      return this.pinnedState();
    }
    const cached = await this.readCache();
    if (cached && !sameVersion(cached.version, rejected)) return this.state(cached, 'cached');
    if (cached && this.now() - cached.fetchedAt < REFETCH_GUARD_MS) return this.state(cached, 'cached');
    return this.fetchOnce(cached);
  }

  private fetchOnce(cached: CachedVersion | null): Promise<WaVersionState> {
    this.inflight ??= this.fetchAndStore(cached).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetchAndStore(cached: CachedVersion | null): Promise<WaVersionState> {
    const timeoutMs = this.o.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.checkedAt = this.now();
    let version: WaVersion;
    try {
      version = await withDeadline(this.fetcher, timeoutMs);
    } catch (err) {
      this.lastError = describe(err);
      const fallback = cached ?? this.lastGood;
      const state = fallback ? this.state(fallback, 'cached') : this.bundledState();
      this.o.logger.warn(
        { err: this.lastError, waVersion: formatWaVersion(state.version), waVersionSource: state.source },
        'could not fetch the WhatsApp Web version; using the last known good one',
      );
      return state;
    }
    this.lastError = null;
    const fresh: CachedVersion = { version, fetchedAt: this.now() };
    this.lastGood = fresh;
    try {
      await this.o.settings.putSetting(WA_VERSION_SETTING, { version: [...version], fetchedAt: fresh.fetchedAt });
    } catch (err) {
      // Still usable here; other instances keep theirs until the store is back.
      this.o.logger.warn({ err: describe(err) }, 'could not cache the WhatsApp Web version in the store');
    }
    return this.state(fresh, 'fetched');
  }

  private async readCache(): Promise<CachedVersion | null> {
    try {
      const entry = await this.o.settings.getSetting(WA_VERSION_SETTING);
      const value = entry?.value;
      if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) return null;
      const version = value.version;
      const fetchedAt = value.fetchedAt;
      if (!isWaVersion(version) || typeof fetchedAt !== 'number') return null;
      const cached: CachedVersion = { version: [...version], fetchedAt };
      if (!this.lastGood || cached.fetchedAt >= this.lastGood.fetchedAt) this.lastGood = cached;
      return cached;
    } catch (err) {
      this.o.logger.warn({ err: describe(err) }, 'could not read the cached WhatsApp Web version');
      return null;
    }
  }

  private state(c: CachedVersion, source: 'fetched' | 'cached'): WaVersionState {
    return { version: [...c.version], source, fetchedAt: c.fetchedAt, checkedAt: this.checkedAt, lastError: this.lastError };
  }

  private pinnedState(): WaVersionState {
    return { version: [...this.o.pinned!], source: 'pinned', fetchedAt: null, checkedAt: null, lastError: null };
  }

  private bundledState(): WaVersionState {
    return { version: [...BUNDLED_WA_VERSION], source: 'bundled', fetchedAt: null, checkedAt: this.checkedAt, lastError: this.lastError };
  }
}

/** The fetcher gets an abort signal, and the deadline holds even if it ignores the signal. */
async function withDeadline(fetcher: WaVersionFetcher, timeoutMs: number): Promise<WaVersion> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`timed out after ${timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    const version = await Promise.race([fetcher(controller.signal), deadline]);
    if (!isWaVersion(version)) throw new Error(`the fetcher returned an unusable version ${JSON.stringify(version)}`);
    return version;
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
