import type { ApiAccount, ApiMessage, ApiThread } from '../api/types.js';

/**
 * What the console reacts to: the live feed's events (issue 8's `{"type":"event",…}` frames), which the
 * polling fallback synthesizes from REST answers in the same shapes. `data` of the message events is
 * the REST message plus its `threadId`; of `thread.updated` the REST thread; of `account.updated` the
 * account, whole or in part.
 */
export type LiveEvent =
  | { event: 'message.created' | 'message.updated'; accountId: string; data: ApiMessage & { threadId: string } }
  | { event: 'thread.updated'; accountId: string; data: ApiThread }
  | { event: 'account.updated'; accountId: string; data: Partial<ApiAccount> }
  | { event: 'history-sync.progress' | 'backfill.progress' | 'backfill.completed'; accountId: string; data: Record<string, unknown> };

export type LiveEventName = LiveEvent['event'];

/** How fresh the page is: pushed by the feed, or pulled every so often. */
export type LiveMode =
  | { kind: 'connecting' }
  | { kind: 'feed' }
  | { kind: 'feed-reconnecting'; attempt: number; error: string | null }
  | { kind: 'polling'; everyMs: number; reason: string };

/** A source of live events: the websocket feed, or the REST poller that stands in for it. */
export interface LiveSource {
  /** What the page shows now, so the poller knows what to fetch; the feed gets everything anyway. */
  watch(interest: Interest): void;
  stop(): void;
}

export interface Interest {
  /** The account whose threads list is on screen (inbox), or whose sync view is open. */
  accountId: string | null;
  /** The thread whose messages are on screen. */
  threadId: string | null;
  /** The pairing screen polls the QR faster; the accounts list polls the accounts. */
  view: 'accounts' | 'pair' | 'sync' | 'inbox' | 'fleet';
}

export interface LiveListener {
  event(e: LiveEvent): void;
  mode(m: LiveMode): void;
  /** The page asks for everything again after this (the feed lost events it cannot replay). */
  resync(): void;
  /** A poll failed (server draining or gone): the page says so; polling goes on. */
  error(err: unknown): void;
}

const NAMES: ReadonlySet<string> = new Set<LiveEventName>([
  'message.created',
  'message.updated',
  'thread.updated',
  'account.updated',
  'history-sync.progress',
  'backfill.progress',
  'backfill.completed',
]);

/** A feed frame's event, checked just enough that the page never trips on a malformed one. */
export function toLiveEvent(frame: { event?: unknown; accountId?: unknown; data?: unknown }): LiveEvent | null {
  if (typeof frame.event !== 'string' || !NAMES.has(frame.event)) return null;
  if (typeof frame.accountId !== 'string' || typeof frame.data !== 'object' || frame.data === null) return null;
  const data = frame.data as Record<string, unknown>;
  if (
    (frame.event === 'message.created' || frame.event === 'message.updated') &&
    (typeof data.id !== 'string' || typeof data.threadId !== 'string')
  ) {
    return null;
  }
  if (frame.event === 'thread.updated' && typeof data.id !== 'string') return null;
  return { event: frame.event, accountId: frame.accountId, data } as LiveEvent;
}
