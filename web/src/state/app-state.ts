import { type Api, ApiError } from '../api/client.js';
import type { ApiAccount, ReadyAnswer } from '../api/types.js';
import type { Interest, LiveEvent, LiveMode, LiveSource } from '../live/events.js';
import { startLive } from '../live/live.js';
import { Store } from '../ui/store.js';
import { Activity } from './activity.js';
import { appendLog, type LogLine, logFromAccount, logFromEvent } from './sync-log.js';

export type ServerState = { kind: 'ok'; ready: ReadyAnswer } | { kind: 'draining' } | { kind: 'unreachable' } | { kind: 'unknown' };

/**
 * Everything the signed-in page shares: the API client, the accounts as last seen, the live layer
 * and its mode, the server's readiness, and the chart's activity record. Views read the stores and
 * listen to live events; only this object talks to the live layer.
 */
export class AppState {
  readonly accounts = new Store<ReadonlyMap<string, ApiAccount> | null>(null);
  readonly accountsError = new Store<unknown>(null);
  readonly liveMode = new Store<LiveMode>({ kind: 'connecting' });
  readonly server = new Store<ServerState>({ kind: 'unknown' });
  /** Bumped when the feed lost events: views reload what they show. */
  readonly resyncs = new Store(0);
  readonly activity = new Activity();
  /** The sync view's event list per account (state/sync-log.ts). */
  readonly syncLog = new Store<ReadonlyMap<string, readonly LogLine[]>>(new Map());
  private readonly listeners = new Set<(e: LiveEvent) => void>();
  private readonly live: LiveSource;
  private readonly refetchTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readyTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly api: Api,
    onSignedOut: () => void,
  ) {
    api.onUnauthorized = onSignedOut;
    this.live = startLive(api, {
      event: (e) => this.onEvent(e),
      mode: (m) => {
        this.activity.realtimeFromEvents = m.kind === 'feed' || m.kind === 'feed-reconnecting';
        this.liveMode.set(m);
      },
      resync: () => {
        void this.loadAccounts();
        this.resyncs.update((n) => n + 1);
      },
      error: (err) => this.noteError(err),
    });
    void this.loadAccounts();
    void this.checkReady();
    this.readyTimer = setInterval(() => void this.checkReady(), 5000);
  }

  stop(): void {
    this.live.stop();
    if (this.readyTimer) clearInterval(this.readyTimer);
    for (const t of this.refetchTimers.values()) clearTimeout(t);
  }

  watch(interest: Interest): void {
    this.live.watch(interest);
  }

  on(listener: (e: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async loadAccounts(): Promise<void> {
    try {
      const list = await this.api.accounts();
      const map = new Map<string, ApiAccount>();
      const before = this.accounts.get();
      for (const a of list) {
        map.set(a.id, a);
        this.observe(before?.get(a.id), a);
      }
      this.accounts.set(map);
      this.accountsError.set(null);
    } catch (err) {
      this.accountsError.set(err);
      this.noteError(err);
    }
  }

  /** One account again, after a change the page made (create, delete, backfill). */
  async refreshAccount(id: string): Promise<void> {
    try {
      this.putAccount(await this.api.account(id));
    } catch (err) {
      if (err instanceof ApiError && err.notFound) this.dropAccount(id);
      else this.noteError(err);
    }
  }

  putAccount(a: ApiAccount): void {
    this.observe(this.accounts.get()?.get(a.id), a);
    this.accounts.update((m) => new Map(m ?? []).set(a.id, a));
  }

  private observe(prev: ApiAccount | undefined, next: ApiAccount): void {
    this.activity.observe(next);
    this.syncLog.update((log) => appendLog(log, next.id, logFromAccount(prev, next)));
  }

  dropAccount(id: string): void {
    this.accounts.update((m) => {
      if (!m?.has(id)) return m;
      const next = new Map(m);
      next.delete(id);
      return next;
    });
  }

  /** Requests that fail because the server drains or is gone say so in the header. */
  noteError(err: unknown): void {
    if (err instanceof ApiError && err.draining) this.server.set({ kind: 'draining' });
    else if (err instanceof ApiError && err.code === 'NETWORK') this.server.set({ kind: 'unreachable' });
  }

  private onEvent(e: LiveEvent): void {
    if (e.event === 'account.updated') {
      const before = this.accounts.get()?.get(e.accountId);
      const merged: ApiAccount = { ...(before ?? {}), ...e.data, id: e.accountId };
      this.putAccount(merged);
      // A feed event may carry only the fields that changed: read the whole account soon after.
      if (this.liveMode.get().kind !== 'polling') this.scheduleRefetch(e.accountId);
    } else if (e.event === 'message.created' && (e.data.syncSource === 'realtime' || e.data.syncSource === 'outbound_api')) {
      this.activity.realtime(e.accountId);
    } else if (e.event === 'backfill.completed' || e.event === 'history-sync.progress' || e.event === 'backfill.progress') {
      const line = logFromEvent(e);
      if (line) this.syncLog.update((log) => appendLog(log, e.accountId, [line]));
      if (e.event !== 'backfill.progress') this.scheduleRefetch(e.accountId);
    }
    for (const l of [...this.listeners]) l(e);
  }

  private scheduleRefetch(id: string): void {
    if (this.refetchTimers.has(id)) return;
    this.refetchTimers.set(
      id,
      setTimeout(() => {
        this.refetchTimers.delete(id);
        void this.refreshAccount(id);
      }, 300),
    );
  }

  private async checkReady(): Promise<void> {
    try {
      this.server.set({ kind: 'ok', ready: await this.api.ready() });
    } catch (err) {
      if (err instanceof ApiError && err.draining) this.server.set({ kind: 'draining' });
      else if (err instanceof ApiError && err.code === 'NETWORK') this.server.set({ kind: 'unreachable' });
    }
  }
}
