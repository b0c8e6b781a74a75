import type { ChangeEvent } from '../domain/change-events.js';
import { BadRequestError } from '../domain/errors.js';
import type { Logger } from '../logging/logger.js';
import { FROM_OLDEST, type ChangeBatch, type ChangeLogStore } from '../store/change-log.js';
import { batchEnd, cursorPosition, encodeCursor, eventId, position, readAfterSeq, type Cursor } from './position.js';

/**
 * One per process: tails the store's change log and fans committed events out to subscribers
 * (websocket connections, webhook dispatchers). docs/live-events.md has the design; in short:
 *
 * - Delivery reads the store, never memory that a crash could lose. The hub reads an account's new
 *   batches once per wake-up (the local actors' post-commit `changes` events, this process's own
 *   commits, another instance's hints, a slow poll) and hands each event to every subscriber: one read
 *   per new batch, whatever the number of subscribers.
 * - A subscriber with a cursor replays from the store in pages, at its own pace, then joins the live
 *   tail. The join is synchronous on the event loop: if the subscriber has read up to what the hub
 *   has delivered, it joins; if the hub is ahead, the gap comes out of the hub's ring of recent events
 *   in the same tick; otherwise it reads again. Nothing can be fanned out between the check and the
 *   join, so the seam has no gap and no duplicate by construction.
 * - Every subscriber keeps its position per account and takes only events after it: exactly once
 *   within a subscription, in log order per account.
 */

export interface HubEvent {
  id: string;
  accountId: string;
  seq: number;
  index: number;
  /** `seq × 65536 + index`: compared with subscribers' positions. */
  position: number;
  /** Where a client stands after it (the batch's end for a batch's last event). */
  cursorPosition: number;
  committedAt: number;
  event: ChangeEvent;
}

/** Renders the wire frame of an event for a cursor (the HTTP layer's job; the hub caches it per event). */
export type FrameRenderer = (event: HubEvent, cursor: string) => string;

export interface FeedSink {
  /** Once, first: the cursor events will follow (the `after` given, or where live delivery starts). */
  subscribed(cursor: string): void;
  /**
   * One event, in order. `frame` renders (once per event and cursor kind, shared by every subscriber);
   * `cursor` is the subscription's cursor after this event. False: the sink cannot take more (a slow
   * consumer), and the hub drops the subscription at once.
   */
  push(event: HubEvent, frame: () => string, cursor: () => string): boolean;
  /** The replay is over: events arrive as they commit from here on. */
  live(cursor: string): void;
  /** The position is gone from the log (older than the retention) or foreign: no event can follow it. */
  resync(reason: 'pruned' | 'ahead' | 'epoch'): void;
  /** Above its high-water mark: the replay waits for `drained()` before the next event. */
  readonly pressure: boolean;
  /** Resolves when the sink has room again (its socket drained). */
  drained(): Promise<void>;
  readonly closed: boolean;
}

export interface Subscription {
  close(): void;
}

export interface FeedHubOptions {
  store: ChangeLogStore & { readonly backend: 'sqlite' | 'firestore' };
  logger: Logger;
  render: FrameRenderer;
  /** Recent events kept per account for the replay → live seam (default 1,000). */
  ringSize?: number;
  /** Safety-net poll of the log (default: 1 s on SQLite, 5 s on Firestore). */
  pollMs?: number;
  /** Batches per read of the live tail (default 200). */
  pageSize?: number;
  /** Batches per replay read (default 20: a history batch holds up to 500 events). */
  replayPageSize?: number;
  onDelivered?: (n: number) => void;
}

interface Tail {
  accountId: string;
  /** Last batch fanned out. */
  known: number;
  ring: HubEvent[];
  /** Every event after this position up to `known` is in `ring`. */
  ringFloor: number;
  /** Read once at least: an account first seen after start is read from its oldest batch before anyone joins it. */
  primed: boolean;
  /**
   * A wake-up came while nobody listened and was not read: `known` may be behind the log. Whoever
   * joins the tail starts a read (`startReading`), so the events since reach it without waiting for
   * the poll. Cleared by a read with someone listening, or by a move to the head.
   */
  stale: boolean;
  reading: Promise<void> | null;
  again: boolean;
  subs: Set<Sub>;
}

class Sub {
  joined = false;
  /** Per account: the position delivered through; -1 = from the oldest batch kept. */
  readonly positions = new Map<string, number>();
  constructor(
    readonly scope: string,
    readonly sink: FeedSink,
  ) {}
  get closed(): boolean {
    return this.sink.closed;
  }
}

const ALL = '*';

export class FeedHub {
  private readonly o: Required<Omit<FeedHubOptions, 'onDelivered'>> & Pick<FeedHubOptions, 'onDelivered'>;
  private readonly tails = new Map<string, Tail>();
  private readonly allSubs = new Set<Sub>();
  private epochValue: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polls = 0;
  private unwatch: (() => void) | null = null;
  private unlisten: (() => void) | null = null;
  private stopped = false;

  constructor(opts: FeedHubOptions) {
    this.o = {
      ringSize: 1000,
      pollMs: opts.store.backend === 'sqlite' ? 1000 : 5000,
      pageSize: 200,
      replayPageSize: 20,
      ...opts,
    };
  }

  get epoch(): string {
    if (this.epochValue === null) throw new Error('feed hub not started');
    return this.epochValue;
  }

  /** Subscribers right now (the `wasync_feed_subscribers` gauge). */
  get subscriberCount(): number {
    let n = this.allSubs.size;
    for (const t of this.tails.values()) n += t.subs.size;
    return n;
  }

  async start(): Promise<void> {
    this.epochValue = await this.o.store.changeLogEpoch();
    for (const [accountId, seq] of await this.o.store.changeLogHeads()) this.tails.set(accountId, this.newTail(accountId, seq, true));
    this.unlisten = this.o.store.onChangesCommitted((ids) => this.notify(ids));
    this.unwatch = this.o.store.watchChanges(
      (ids) => this.notify(ids),
      (err) => this.o.logger.warn({ err }, 'change-log hints stopped; the poll still runs'),
    );
    this.timer = setInterval(() => void this.poll(), this.o.pollMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unwatch?.();
    this.unlisten?.();
  }

  /**
   * The retention pruned the log before `before` (epoch ms): the rings forget those events too, so a
   * cursor older than the retention always gets `resync-required`, however quiet its account.
   */
  trim(before: number): void {
    for (const t of this.tails.values()) {
      while (t.ring.length > 0 && t.ring[0]!.committedAt < before) t.ringFloor = t.ring.shift()!.position;
    }
  }

  /** Accounts whose log may have moved (post-commit events, hints): reads their new batches. */
  notify(accountIds: readonly string[]): void {
    if (this.stopped || this.epochValue === null) return;
    for (const id of accountIds) void this.pump(this.track(id));
  }

  /** The cursor of "now" for a scope: where a subscription without `after` starts. */
  async headCursor(scope: string): Promise<string> {
    if (scope !== ALL) return this.accountCursor(scope, batchEnd((await this.primedTail(scope)).known));
    await this.refreshHeads();
    return this.allCursor(new Map([...this.tails.values()].map((t) => [t.accountId, batchEnd(t.known)])));
  }

  /**
   * Subscribes `sink` to `scope` (an account id or `"*"`) from `after` (null: from now). Resolves once
   * the subscription is live (or ended: resync, overflow, closed sink); the sink hears everything.
   */
  async subscribe(scope: string, after: Cursor | null, sink: FeedSink): Promise<Subscription> {
    const sub = new Sub(scope, sink);
    const handle: Subscription = { close: () => this.drop(sub) };
    if (after?.kind === 'account' && after.accountId !== scope) {
      throw new BadRequestError(
        scope === ALL ? 'this cursor resumes one account, not "*"' : `this cursor belongs to account ${after.accountId}`,
      );
    }
    if (after !== null && after.epoch !== this.epoch) {
      sink.subscribed(encodeCursor(after));
      sink.resync('epoch');
      return handle;
    }
    if (scope === ALL) await this.subscribeAll(sub, after);
    else await this.subscribeAccount(sub, scope, after);
    return handle;
  }

  // ---------------------------------------------------------------- live tail

  private newTail(accountId: string, known: number, primed: boolean): Tail {
    return { accountId, known, ring: [], ringFloor: batchEnd(known), primed, stale: false, reading: null, again: false, subs: new Set() };
  }

  /**
   * The account's tail. An account first seen after start (created since, possibly by another
   * instance) starts before its oldest batch: everything in its log is new to the subscribers that
   * joined without it.
   */
  private track(accountId: string): Tail {
    let tail = this.tails.get(accountId);
    if (!tail) {
      tail = this.newTail(accountId, 0, false);
      this.tails.set(accountId, tail);
    }
    return tail;
  }

  /**
   * The tail, up to the log's head. Nobody listens: it moves to the store's head (one indexed read;
   * wake-ups are not read for such a tail, and on Firestore no poll follows it, so `known` can be
   * anywhere behind). Someone listens: it is tailed already, and read first if it has never been or
   * missed a wake-up.
   */
  private async primedTail(accountId: string): Promise<Tail> {
    const tail = this.track(accountId);
    if (!this.listened(tail)) this.skipTo(tail, await this.o.store.changeLogHead(tail.accountId));
    // A subscriber may have joined during that read: then the tail is read instead.
    if (this.listened(tail) && (!tail.primed || tail.stale)) await this.pump(tail);
    return tail;
  }

  private listened(tail: Tail): boolean {
    return tail.subs.size > 0 || this.allSubs.size > 0;
  }

  /**
   * Nobody listens: the tail jumps to the head without reading the events in between (a subscriber
   * replays from the store what it asks for). Never backwards: a read in flight may be ahead of `head`.
   */
  private skipTo(tail: Tail, head: number): void {
    if (this.listened(tail)) return;
    if (head > tail.known) {
      tail.known = head;
      tail.ring = [];
      tail.ringFloor = batchEnd(head);
    }
    tail.primed = true;
    tail.stale = false;
  }

  /** A subscriber joined: a tail that skipped wake-ups while nobody listened reads what it missed now. */
  private startReading(tail: Tail): void {
    if (tail.stale) void this.pump(tail);
  }

  private async refreshHeads(): Promise<void> {
    for (const [accountId, seq] of await this.o.store.changeLogHeads()) {
      const t = this.track(accountId);
      if (!this.listened(t)) this.skipTo(t, seq);
      else if (seq > t.known) void this.pump(t);
    }
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    this.polls++;
    try {
      if (this.o.store.backend === 'sqlite') {
        await this.refreshHeads();
        return;
      }
      // Firestore: the accounts someone listens to (every account for a "*" subscriber), and now
      // and then the list of accounts (hints announce new ones; this is the safety net).
      if (this.allSubs.size > 0 && this.polls % 6 === 0) await this.refreshHeads();
      for (const t of this.tails.values()) if (t.subs.size > 0 || this.allSubs.size > 0) void this.pump(t);
    } catch (err) {
      this.o.logger.warn({ err }, 'feed poll failed');
    }
  }

  /** Reads the account's new batches and fans them out; a wake-up during a read reads again after it. */
  private pump(tail: Tail): Promise<void> {
    if (tail.reading !== null) {
      tail.again = true;
      return tail.reading;
    }
    tail.reading = this.readTail(tail).finally(() => {
      tail.reading = null;
    });
    return tail.reading;
  }

  private async readTail(tail: Tail): Promise<void> {
    try {
      do {
        tail.again = false;
        if (!this.listened(tail)) {
          // Nobody listens to this account: nothing is read (a history sync of nobody's interest costs
          // the main thread nothing). Whoever subscribes first brings the tail to the head
          // (`primedTail`, `refreshHeads`) or reads from `known` when it joins (`startReading`), and
          // replays from the store what it asks for.
          tail.stale = true;
          continue;
        }
        // Read from here on: a wake-up skipped before is covered by this read (it starts at `known`).
        tail.stale = false;
        for (;;) {
          // A tail not primed yet reads from the oldest batch kept (its first batches may be pruned).
          const from = !tail.primed && tail.known === 0 ? FROM_OLDEST : tail.known;
          const page = await this.o.store.readChanges(tail.accountId, from, this.o.pageSize);
          if (page.status !== 'ok') {
            // Only a hub stalled for longer than the retention gets here: its subscribers may have a gap.
            this.o.logger.error({ accountId: tail.accountId, reason: page.reason }, 'feed tail fell behind the retention');
            const head = await this.o.store.changeLogHead(tail.accountId);
            for (const sub of [...tail.subs, ...this.allSubs]) {
              this.drop(sub);
              sub.sink.resync('pruned');
            }
            tail.known = head;
            tail.ring = [];
            tail.ringFloor = batchEnd(head);
            break;
          }
          for (const batch of page.batches) this.fanOut(tail, batch);
          if (page.batches.length < this.o.pageSize) break;
        }
        tail.primed = true;
      } while (tail.again && !this.stopped);
    } catch (err) {
      this.o.logger.warn({ err, accountId: tail.accountId }, 'feed read failed; retried on the next wake-up');
    }
  }

  /** Synchronous: ring, fan-out and `known` move together, between two awaits. */
  private fanOut(tail: Tail, batch: ChangeBatch): void {
    if (batch.seq <= tail.known) return;
    if (tail.known === 0 && tail.ring.length === 0) tail.ringFloor = batchEnd(batch.seq - 1);
    const events = this.toEvents(batch);
    let delivered = 0;
    for (const e of events) {
      tail.ring.push(e);
      let accountFrame: string | null = null;
      let allFrame: string | null = null;
      let allCursor: string | null = null;
      const accountCursor = () => this.accountCursor(tail.accountId, e.cursorPosition);
      const frameForAccount = () => (accountFrame ??= this.o.render(e, accountCursor()));
      const cursorForAll = () => (allCursor ??= this.allCursor(this.hubPositions(tail.accountId, e.cursorPosition)));
      const frameForAll = () => (allFrame ??= this.o.render(e, cursorForAll()));
      for (const sub of tail.subs) if (this.offer(sub, e, frameForAccount, accountCursor)) delivered++;
      for (const sub of this.allSubs) if (this.offer(sub, e, frameForAll, cursorForAll)) delivered++;
    }
    tail.known = batch.seq;
    while (tail.ring.length > this.o.ringSize) tail.ringFloor = tail.ring.shift()!.position;
    if (delivered > 0) this.o.onDelivered?.(delivered);
  }

  private offer(sub: Sub, e: HubEvent, frame: () => string, cursor: () => string): boolean {
    if (sub.closed) {
      this.drop(sub);
      return false;
    }
    const at = sub.positions.get(e.accountId) ?? -1;
    if (e.position <= at) return false;
    if (!sub.sink.push(e, frame, cursor)) {
      this.drop(sub);
      return false;
    }
    sub.positions.set(e.accountId, e.cursorPosition);
    return true;
  }

  private drop(sub: Sub): void {
    if (sub.scope === ALL) this.allSubs.delete(sub);
    else this.tails.get(sub.scope)?.subs.delete(sub);
  }

  private toEvents(batch: ChangeBatch): HubEvent[] {
    const n = batch.events.length;
    return batch.events.map((event, index) => ({
      id: eventId(this.epoch, batch.accountId, batch.seq, index),
      accountId: batch.accountId,
      seq: batch.seq,
      index,
      position: position(batch.seq, index),
      cursorPosition: cursorPosition(batch.seq, index, n),
      committedAt: batch.committedAt,
      event,
    }));
  }

  /** Every account's live position, with `accountId` at `pos`: the cursor of a "*" subscriber that joined. */
  private hubPositions(accountId: string, pos: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.tails.values()) out.set(t.accountId, batchEnd(t.known));
    out.set(accountId, pos);
    return out;
  }

  private accountCursor(accountId: string, pos: number): string {
    return encodeCursor({ kind: 'account', epoch: this.epoch, accountId, position: pos });
  }

  private allCursor(positions: ReadonlyMap<string, number>): string {
    const obj: Record<string, number> = {};
    for (const [k, v] of positions) if (v >= 0) obj[k] = v;
    return encodeCursor({ kind: 'all', epoch: this.epoch, positions: obj });
  }

  // ---------------------------------------------------------------- subscribing

  private async subscribeAccount(sub: Sub, accountId: string, after: Cursor | null): Promise<void> {
    const tail = await this.primedTail(accountId);
    let pos: number;
    if (after === null) pos = batchEnd(tail.known);
    else if (after.kind === 'account') pos = after.position;
    else pos = after.positions[accountId] ?? -1;
    sub.positions.set(accountId, pos);
    sub.sink.subscribed(after === null ? this.accountCursor(accountId, pos) : encodeCursor(after));
    const cursor = () => this.accountCursor(accountId, sub.positions.get(accountId) ?? -1);
    if (!(await this.checkAhead(sub, [tail]))) return;
    for (;;) {
      if (sub.closed) return;
      const joined = this.tryJoin(sub, [tail], cursor);
      if (joined === 'ended') return;
      if (joined === 'joined') {
        tail.subs.add(sub);
        sub.sink.live(cursor());
        this.startReading(tail);
        return;
      }
      if (!(await this.replayPage(sub, tail, cursor))) return;
    }
  }

  private async subscribeAll(sub: Sub, after: Cursor | null): Promise<void> {
    await this.refreshHeads();
    const cursor = () => this.allCursor(sub.positions);
    if (after === null) {
      for (const t of this.tails.values()) sub.positions.set(t.accountId, batchEnd(t.known));
    } else {
      const given = after.kind === 'all' ? after.positions : { [after.accountId]: after.position };
      for (const [accountId, pos] of Object.entries(given)) {
        sub.positions.set(accountId, pos);
        this.track(accountId);
      }
      // Accounts the cursor does not name (created since) are replayed from their oldest batch.
      for (const t of this.tails.values()) if (!sub.positions.has(t.accountId)) sub.positions.set(t.accountId, -1);
    }
    sub.sink.subscribed(after === null ? cursor() : encodeCursor(after));
    if (!(await this.checkAhead(sub, [...this.tails.values()]))) return;
    for (;;) {
      if (sub.closed) return;
      const tails = [...this.tails.values()];
      for (const t of tails) if (!sub.positions.has(t.accountId)) sub.positions.set(t.accountId, -1);
      const joined = this.tryJoin(sub, tails, cursor);
      if (joined === 'ended') return;
      if (joined === 'joined') {
        this.allSubs.add(sub);
        sub.sink.live(cursor());
        for (const t of this.tails.values()) this.startReading(t);
        return;
      }
      for (const t of tails) {
        if (this.caughtUp(sub, t)) continue;
        if (!(await this.replayPage(sub, t, cursor))) return;
        if (sub.closed) return;
      }
    }
  }

  /**
   * A position past what the hub has seen is checked against the log once: past the log's head it is
   * a cursor from elsewhere (another database, a restored backup), and only a resync is honest.
   */
  private async checkAhead(sub: Sub, tails: readonly Tail[]): Promise<boolean> {
    for (const t of tails) {
      const pos = sub.positions.get(t.accountId) ?? -1;
      if (pos <= batchEnd(t.known)) continue;
      const page = await this.o.store.readChanges(t.accountId, readAfterSeq(pos), 1);
      if (page.status !== 'ok') {
        sub.sink.resync(page.reason);
        return false;
      }
    }
    return true;
  }

  private caughtUp(sub: Sub, t: Tail): boolean {
    const pos = sub.positions.get(t.accountId) ?? -1;
    return pos >= batchEnd(t.known) || (pos >= 0 && pos >= t.ringFloor);
  }

  /**
   * Synchronous. When every tail is caught up (directly, or through its ring), delivers the ring's
   * events after the subscriber's positions: the caller joins in the same tick ('joined').
   */
  private tryJoin(sub: Sub, tails: readonly Tail[], cursor: () => string): 'joined' | 'behind' | 'ended' {
    if (!tails.every((t) => this.caughtUp(sub, t))) return 'behind';
    let delivered = 0;
    for (const t of tails) {
      for (const e of t.ring) {
        const at = sub.positions.get(t.accountId) ?? -1;
        if (e.position <= at) continue;
        sub.positions.set(t.accountId, e.cursorPosition);
        const frame = () => this.o.render(e, cursor());
        if (!sub.sink.push(e, frame, cursor)) return 'ended';
        delivered++;
      }
      const at = sub.positions.get(t.accountId) ?? -1;
      if (at < batchEnd(t.known)) sub.positions.set(t.accountId, batchEnd(t.known));
    }
    if (delivered > 0) this.o.onDelivered?.(delivered);
    sub.joined = true;
    return sub.closed ? 'ended' : 'joined';
  }

  /** One page of the store for one account; false when the subscription ended (resync, overflow). */
  private async replayPage(sub: Sub, tail: Tail, cursor: () => string): Promise<boolean> {
    const pos = sub.positions.get(tail.accountId) ?? -1;
    const knownBefore = tail.known;
    const page = await this.o.store.readChanges(tail.accountId, pos < 0 ? FROM_OLDEST : readAfterSeq(pos), this.o.replayPageSize);
    if (sub.closed) return false;
    if (page.status !== 'ok') {
      sub.sink.resync(page.reason);
      return false;
    }
    if (page.batches.length === 0) {
      // From the oldest, and nothing kept: every batch the hub knew of before the read is gone (a purge).
      if (pos < 0) sub.positions.set(tail.accountId, batchEnd(knownBefore));
      return true;
    }
    let delivered = 0;
    for (const batch of page.batches) {
      for (const e of this.toEvents(batch)) {
        const at = sub.positions.get(tail.accountId) ?? -1;
        if (e.position <= at) continue;
        // The cursor a client gets with an event is the position after it.
        sub.positions.set(tail.accountId, e.cursorPosition);
        const frame = () => this.o.render(e, cursor());
        if (!sub.sink.push(e, frame, cursor)) return false;
        delivered++;
        // The client reads at its own pace: the replay waits, it does not pile up.
        if (sub.sink.pressure) {
          await sub.sink.drained();
          if (sub.closed) return false;
        }
      }
      sub.positions.set(tail.accountId, batchEnd(batch.seq));
    }
    if (delivered > 0) this.o.onDelivered?.(delivered);
    return true;
  }
}
