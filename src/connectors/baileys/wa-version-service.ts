import type { Logger } from '../../logging/logger.js';
import type { ProtocolVersionService, ProtocolVersionStatus } from '../protocol-version.js';
import { formatWaVersion, WaVersionResolver, type WaVersionResolverOptions, type WaVersionState } from './wa-version.js';

/**
 * Re-reads the shared cache this often between refreshes: an actor that refetched after a rejection,
 * or another instance, may have changed the version; the dashboard and the metric follow within it.
 */
export const CACHE_SYNC_MS = 60_000;

export interface WaVersionServiceOptions extends WaVersionResolverOptions {
  /** WA_VERSION_REFRESH_MS */
  refreshMs: number;
  syncMs?: number;
}

/**
 * The main thread's side of the WhatsApp Web version: resolves it once at start-up (before any actor
 * connects, so their first sockets find it in the cache), refreshes it on a timer, and reports the
 * version in use for the dashboard, the logs and the metrics.
 */
export class WaVersionService implements ProtocolVersionService {
  private readonly resolver: WaVersionResolver;
  private readonly o: WaVersionServiceOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private current: WaVersionState | null = null;
  private timers: NodeJS.Timeout[] = [];

  constructor(o: WaVersionServiceOptions) {
    this.o = o;
    this.log = o.logger;
    this.now = o.now ?? Date.now;
    this.resolver = new WaVersionResolver(o);
  }

  async start(): Promise<void> {
    await this.refresh();
    if (this.o.pinned) return;
    this.timers.push(
      setInterval(() => void this.refresh(), this.o.refreshMs).unref(),
      setInterval(() => void this.sync(), this.o.syncMs ?? CACHE_SYNC_MS).unref(),
    );
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Fetches when the shared cache is stale (or `force`); never throws. */
  async refresh(opts: { force?: boolean } = {}): Promise<WaVersionState> {
    return this.adopt(await this.resolver.resolve(opts));
  }

  /** Follows a version another thread or instance put in the cache, without fetching. */
  async sync(): Promise<void> {
    const seen = await this.resolver.forConnect();
    const current = this.current;
    if (!current || seen.source === 'bundled' || seen.source === 'pinned') return;
    if (formatWaVersion(seen.version) !== formatWaVersion(current.version) || (seen.fetchedAt ?? 0) > (current.fetchedAt ?? 0))
      this.adopt(seen);
  }

  status(): ProtocolVersionStatus | null {
    const s = this.current;
    if (!s) return null;
    return {
      version: formatWaVersion(s.version),
      source: s.source,
      fetchedAt: s.fetchedAt,
      ageSeconds: s.fetchedAt === null ? null : Math.max(0, Math.floor((this.now() - s.fetchedAt) / 1000)),
      checkedAt: s.checkedAt,
      lastError: s.lastError,
    };
  }

  private adopt(next: WaVersionState): WaVersionState {
    const before = this.current;
    this.current = next;
    if (!before || formatWaVersion(before.version) !== formatWaVersion(next.version) || before.source !== next.source) {
      this.log.info(
        {
          waVersion: formatWaVersion(next.version),
          waVersionSource: next.source,
          fetchedAt: next.fetchedAt,
          previous: before ? formatWaVersion(before.version) : null,
        },
        'WhatsApp Web version in use',
      );
    }
    return next;
  }
}
