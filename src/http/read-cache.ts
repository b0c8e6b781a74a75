import type { ListOptions } from '../store/port.js';
import type { ConversationReads, PageReply } from './conversation-reads.js';
import { ifNoneMatchHits } from './etag.js';
import type { BytesReply } from './respond.js';

/**
 * How a list read was answered: `hit` from the cache, `coalesced` by waiting for the same page that
 * another request was already reading, `miss` by reading it, `bypass` without the cache (disabled, or
 * a store that has no change token: Firestore).
 */
export type ReadCacheResult = 'hit' | 'coalesced' | 'miss' | 'bypass';

export interface ReadCacheOptions {
  /** Bound of the bodies, keys and tags held, in bytes; 0 disables the cache. */
  maxBytes: number;
  /**
   * The store's change token (`Store.changeToken`), or null when the store has none: every read then
   * passes through. Must be read on this thread, from a connection that never writes.
   */
  changeToken: (() => number) | null;
  onResult?: (result: ReadCacheResult) => void;
  /**
   * Where a polled page is read again once a commit made its entry stale: inline on the HTTP thread,
   * while other reads go to `inner` (the read pool). Absent: `inner` for all. See `isHot`.
   */
  hot?: ConversationReads;
  /**
   * At most this many milliseconds of each second go to reads through `hot` (they hold the HTTP thread);
   * past it, the pool reads those too. Default `HOT_BUDGET_MS_PER_SECOND`.
   */
  hotBudgetMsPerSecond?: number;
}

/**
 * Many pages polled at once, with commits every few milliseconds, would otherwise have the HTTP thread
 * reading most of the time: a tenth of its time is the most it spends on them.
 */
const HOT_BUDGET_MS_PER_SECOND = 100;

/**
 * A page that was asked for again while cached (a hit, or a request that waited for its read) and is
 * not large is read again inline after the next commit. Every request that arrives meanwhile waits for
 * that read; inline it takes about 0.8 ms for 50 messages with no thread to wake, where a pool thread
 * on a busy machine took up to a hundred times that (docs/benchmarks.md, HTTP API under load). Large
 * pages, and pages nobody asked for twice, still go to the pool, which keeps the HTTP thread free when
 * every request wants another page.
 */
const HOT_MAX_BODY_BYTES = 64 * 1024;

function isHot(entry: Entry | undefined): boolean {
  return entry !== undefined && entry.asked > 0 && entry.body.byteLength <= HOT_MAX_BODY_BYTES;
}

export interface ReadCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
}

export interface CachedReads extends ConversationReads {
  stats(): ReadCacheStats;
}

interface Entry {
  token: number;
  body: Buffer;
  contentType: string;
  headers: Readonly<Record<string, string>>;
  etag: string;
  size: number;
  /** Requests served from this entry or by its read besides the one that read it (`isHot`). */
  asked: number;
}

interface Flight {
  token: number;
  /** Keep the page once read: it was asked for twice at this token, or it is a polled page read again. */
  admit: boolean;
  /** Requests waiting for this read besides the one that started it. */
  waiting: number;
  done: Promise<{ entry: Entry | null; reply: PageReply }>;
}

/** What an entry costs besides its body: its key (UTF-16), tag, headers and the objects around them. */
const ENTRY_OVERHEAD_BYTES = 256;

/**
 * Pages read once and not kept, remembered by key with the token they were read at (a few MB at most
 * with ids of 100 characters). A page is kept only when it is asked for again before anything was
 * committed (or while it is being read): a page that nobody asks for twice between two commits can never
 * be served from the cache, and keeping it anyway cost 15 % more CPU per request when every request
 * wanted another page (it holds megabytes that are replaced all the time; docs/benchmarks.md).
 */
const SEEN_MAX_KEYS = 4096;

/**
 * A validated response cache for the two list endpoints, on the HTTP thread, in front of the read
 * path (inline or the read pool). Inbox apps poll the same page over and over; a hit is answered
 * here, without a store read, a thread hop or a serialization, and never with stale data:
 *
 * - Every request reads the store's change token first (SQLite: `PRAGMA data_version`, about 3 µs),
 *   which moves with every commit of anyone to the store. An entry is served only while the token it
 *   was stored with is still the current one.
 * - A miss reads the token *before* the read is dispatched and stores the page with that token. The
 *   read's own snapshot starts later, so it holds at least everything committed up to the token; a
 *   commit in between leaves the entry tagged older than the data it holds, and it is read again next
 *   time (conservative, never stale).
 * - Requests for a page that is being read for the same token wait for that read instead of reading it
 *   again (after each commit, every polling client would otherwise read the same page at once).
 * - A page is kept once it is asked for a second time before the next commit (`SEEN_MAX_KEYS`), and
 *   kept again after each commit once it has been served from here.
 * - Only `200` pages are kept; errors (a deleted account's `404`) are read every time.
 * - The entry keeps the page's `ETag`: `If-None-Match` is answered `304` from it too.
 *
 * Access checks run before (the router authorizes the request before the route reads), and the page
 * does not depend on who asks. Bounded by bytes, least recently used first out.
 */
export function cachedReads(inner: ConversationReads, opts: ReadCacheOptions): CachedReads {
  const entries = new Map<string, Entry>();
  const flights = new Map<string, Flight>();
  const seen = new Map<string, number>();
  const maxBytes = Math.max(0, opts.maxBytes);
  const changeToken = maxBytes > 0 ? opts.changeToken : null;
  const report = opts.onResult ?? (() => undefined);
  let bytes = 0;
  const hotBudget = opts.hotBudgetMsPerSecond ?? HOT_BUDGET_MS_PER_SECOND;
  let hotSecond = 0;
  let hotSpentMs = 0;

  /** Whether a hot read fits in this second's budget (`HOT_BUDGET_MS_PER_SECOND`). */
  function hotAllowed(now: number): boolean {
    if (now - hotSecond >= 1000) {
      hotSecond = now;
      hotSpentMs = 0;
    }
    return hotSpentMs < hotBudget;
  }

  function remove(key: string, entry: Entry): void {
    entries.delete(key);
    bytes -= entry.size;
  }

  function store(key: string, entry: Entry): void {
    const old = entries.get(key);
    if (old) remove(key, old);
    if (entry.size > maxBytes) return;
    // A Map iterates in insertion order and a hit re-inserts its entry: the first key is the least recently used.
    for (const [k, e] of entries) {
      if (bytes + entry.size <= maxBytes) break;
      remove(k, e);
    }
    entries.set(key, entry);
    bytes += entry.size;
  }

  function remember(key: string, token: number): void {
    seen.delete(key);
    seen.set(key, token);
    if (seen.size > SEEN_MAX_KEYS) seen.delete(seen.keys().next().value!);
  }

  function entryOf(key: string, token: number, reply: PageReply): Entry | null {
    if (reply.status !== 200 || 'json' in reply) return null;
    const etag = reply.headers?.etag;
    if (etag === undefined) return null;
    // The read pool hands its pages over as bytes (moved, not copied): kept as they are.
    const body =
      'text' in reply ? Buffer.from(reply.text, 'utf8') : Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength);
    return {
      token,
      body,
      contentType: reply.contentType,
      headers: reply.headers ?? {},
      etag,
      size: body.byteLength + key.length * 2 + etag.length * 2 + ENTRY_OVERHEAD_BYTES,
      asked: 0,
    };
  }

  function answer(entry: Entry, ifNoneMatch: string): PageReply {
    if (ifNoneMatchHits(ifNoneMatch, entry.etag)) return { status: 304, text: '', contentType: entry.contentType, headers: entry.headers };
    const reply: BytesReply = { status: 200, bytes: entry.body, contentType: entry.contentType, headers: entry.headers };
    return reply;
  }

  async function read(
    key: string,
    ifNoneMatch: string,
    compute: (reads: ConversationReads, ifNoneMatch: string) => Promise<PageReply>,
  ): Promise<PageReply> {
    let token: number | null = null;
    try {
      token = changeToken?.() ?? null;
    } catch {
      // A store that cannot say (closing, say) answers the read itself, with its own error if it has one.
      token = null;
    }
    if (token === null) {
      report('bypass');
      return compute(inner, ifNoneMatch);
    }
    const entry = entries.get(key);
    if (entry && entry.token === token) {
      entries.delete(key);
      entries.set(key, entry);
      entry.asked++;
      report('hit');
      return answer(entry, ifNoneMatch);
    }
    let flight = flights.get(key);
    if (flight && flight.token === token) {
      flight.waiting++;
      report('coalesced');
    } else {
      const started = performance.now();
      const hot = opts.hot !== undefined && isHot(entry) && hotAllowed(started);
      const via = hot && opts.hot ? opts.hot : inner;
      report('miss');
      const t = token;
      // The full page (no If-None-Match): it is kept for everyone, and each request compares its own tag.
      const done = compute(via, '').then((reply) => {
        if (hot) hotSpentMs += performance.now() - started;
        return { entry: entryOf(key, t, reply), reply };
      });
      const admit = (entry !== undefined && entry.asked > 0) || seen.get(key) === t;
      const mine: Flight = { token: t, admit, waiting: 0, done };
      flight = mine;
      flights.set(key, mine);
      const settle = (): void => {
        if (flights.get(key) === mine) flights.delete(key);
      };
      done.then(({ entry: fresh }) => {
        // A later read of the same page (after a newer commit) is under way or done: keep its result.
        if (fresh && flights.get(key) === mine) {
          if (mine.admit || mine.waiting > 0) {
            seen.delete(key);
            fresh.asked = mine.waiting;
            store(key, fresh);
          } else {
            remember(key, t);
            const stale = entries.get(key);
            if (stale) remove(key, stale);
          }
        }
        settle();
      }, settle);
    }
    const { entry: fresh, reply } = await flight.done;
    return fresh ? answer(fresh, ifNoneMatch) : reply;
  }

  return {
    threads: (accountId, page, ifNoneMatch = '') =>
      read(`t\n${accountId}\n${pageKey(page)}`, ifNoneMatch, (via, inm) => via.threads(accountId, page, inm)),
    messages: (accountId, threadId, page, ifNoneMatch = '') =>
      read(`m\n${accountId}\n${threadId}\n${pageKey(page)}`, ifNoneMatch, (via, inm) => via.messages(accountId, threadId, page, inm)),
    close: () => {
      entries.clear();
      seen.clear();
      bytes = 0;
      return inner.close();
    },
    stats: () => ({ entries: entries.size, bytes, maxBytes }),
  };
}

/**
 * Everything of the page's options that changes the body (limit, cursor, order, fields, and any option
 * added later), in a fixed key order. Account and thread ids are safe ids (no control characters), so
 * the newlines of the key cannot be forged.
 */
function pageKey(page: ListOptions): string {
  return JSON.stringify(page, Object.keys(page).sort());
}
