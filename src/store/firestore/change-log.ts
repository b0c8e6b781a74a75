import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FieldValue, Timestamp, type DocumentData, type DocumentSnapshot, type Firestore } from 'firebase-admin/firestore';
import { backoffDelay } from '../../domain/backoff.js';
import type { ChangeEvent } from '../../domain/change-events.js';
import { TransientStoreError } from '../../domain/errors.js';
import type { Logger } from '../../logging/logger.js';
import { FROM_OLDEST, decodeEvents, encodeEvent, type ChangeBatch, type ChangePage } from '../change-log.js';
import type { WriteOp } from './batching.js';
import { GRPC_ALREADY_EXISTS, grpcCodeOf } from './errors.js';
import { millisOf } from './documents.js';
import { COLLECTIONS } from './paths.js';

/**
 * The change log on Firestore (docs/live-events.md, "Firestore"). One document per committed batch,
 * `wasyncFeed/{accountId}__{seq}`, written with `create()` in the same commit as the data it
 * describes. Numbers are per account and without gaps, and there is no counter document (Firestore
 * sustains about one write a second per document):
 *
 * - the next number is the last one this store object wrote (or, the first time, the highest in the
 *   log) plus one, allocated under a per-account lock held until the commit returns, so two commits of
 *   one store object never overtake each other;
 * - `create()` fails the whole commit when the number is taken (another thread or instance wrote it
 *   first): the head is read again and the commit retried under the next number. So a number is only
 *   ever taken by a commit that saw every lower one committed, which is what lets a reader treat a
 *   missing number as pruned, never as "not yet visible";
 * - a retried commit whose first attempt did land (a timeout after the server committed) finds its
 *   own document, recognised by a random `writer` token, and counts as done.
 *
 * Ordering never relies on `serverTimestamp()`: on Google's emulator it resolves to when the request
 * arrived, not to the commit time (a commit can become visible after a later-stamped one), so it only
 * serves retention. Cross-instance wake-ups go through `wasyncFeedHeads/{accountId}`, written at most
 * once a second per account after a commit: hints, never read for correctness.
 */

/** Events of one document stay under this (Firestore's limit is 1 MiB per document). */
export const FEED_DOC_MAX_BYTES = 900 * 1024;
/** How often (at most) this store object rewrites an account's head hint. */
const HINT_INTERVAL_MS = 1000;
/** Retries of a commit whose number another writer took meanwhile (with a short jittered pause each). */
const NUMBER_RETRIES = 20;
const PRUNE_PAGE = 300;

export function feedDocId(accountId: string, seq: number): string {
  return `${accountId}__${String(seq).padStart(12, '0')}`;
}

/** The events of one commit cut into document-sized chunks (each event's JSON encoded once). */
export function chunkEvents(events: readonly ChangeEvent[], maxBytes = FEED_DOC_MAX_BYTES): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let bytes = 2;
  for (const e of events) {
    const json = encodeEvent(e);
    const size = Buffer.byteLength(json, 'utf8') + 1;
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 2;
    }
    current.push(json);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export class FirestoreChangeLog {
  /** Last number this object knows per account (null: read it from the log first). */
  private readonly known = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly hinted = new Map<string, { at: number; timer: NodeJS.Timeout | null; seq: number }>();
  private epoch: string | null = null;

  constructor(
    private readonly db: Firestore,
    private readonly now: () => number,
    private readonly logger: Logger | undefined,
    /** After each commit that appended (the store's post-commit listeners). */
    private readonly onAppended: (accountId: string) => void,
  ) {}

  private feed() {
    return this.db.collection(COLLECTIONS.feed);
  }

  private doc(accountId: string, seq: number) {
    return this.feed().doc(feedDocId(accountId, seq));
  }

  /**
   * Runs one commit carrying `events` for `accountId`: `run` gets the feed documents' writes to add
   * to its batch and commits (with its own retries); numbering, conflicts and a retry that already
   * landed are handled here. Resolves once committed.
   */
  async append(accountId: string, events: readonly ChangeEvent[], run: (feedOps: WriteOp[]) => Promise<void>): Promise<void> {
    const chunks = chunkEvents(events);
    await this.exclusive(accountId, async () => {
      for (let attempt = 1; ; attempt++) {
        const first = (await this.knownHead(accountId)) + 1;
        const writer = randomUUID();
        const committedAt = Timestamp.fromMillis(this.now());
        const ops: WriteOp[] = chunks.map((chunk, i) => ({
          type: 'create',
          ref: this.doc(accountId, first + i),
          data: {
            accountId,
            seq: first + i,
            commitAt: FieldValue.serverTimestamp(),
            committedAt,
            count: chunk.length,
            events: `[${chunk.join(',')}]`,
            writer,
          },
        }));
        try {
          await run(ops);
        } catch (err) {
          this.known.delete(accountId);
          if (!isAlreadyExists(err)) throw err;
          // Ours after all (an attempt that timed out had landed), or another writer's number.
          const snap = await this.doc(accountId, first).get();
          if (snap.get('writer') !== writer) {
            if (attempt >= NUMBER_RETRIES)
              throw new TransientStoreError(`change log of ${accountId}: batch number contention`, { cause: err });
            await sleep(backoffDelay(attempt, { baseMs: 5, maxMs: 200, jitter: 'full' }));
            continue;
          }
        }
        const last = first + chunks.length - 1;
        this.known.set(accountId, last);
        this.hint(accountId, last);
        this.onAppended(accountId);
        return;
      }
    });
  }

  async read(accountId: string, afterSeq: number | typeof FROM_OLDEST, limit: number, again = true): Promise<ChangePage> {
    let q = this.feed().where('accountId', '==', accountId);
    if (afterSeq !== FROM_OLDEST) q = q.where('seq', '>', afterSeq);
    const snap = await q.orderBy('seq').limit(limit).get();
    // A purged account's last batch stays, emptied, to keep its number: it reads as pruned.
    const purged = snap.docs.some((d) => d.get('purged') === true);
    const batches = snap.docs.filter((d) => d.get('purged') !== true).map((d) => toBatch(d.data()));
    if (afterSeq === FROM_OLDEST) return { status: 'ok', batches };
    if (purged) return { status: 'resync', reason: 'pruned' };
    if (batches.length > 0) {
      return batches[0]!.seq === afterSeq + 1 ? { status: 'ok', batches } : { status: 'resync', reason: 'pruned' };
    }
    // Nothing after: caught up, unless the position is past the head (a foreign cursor). A head
    // beyond the position was committed after the page was read: read the page again, once.
    const head = await this.head(accountId);
    if (afterSeq > head) return { status: 'resync', reason: 'ahead' };
    if (afterSeq === head) return { status: 'ok', batches: [] };
    return again ? this.read(accountId, afterSeq, limit, false) : { status: 'resync', reason: 'pruned' };
  }

  async head(accountId: string): Promise<number> {
    const snap = await this.feed().where('accountId', '==', accountId).orderBy('seq', 'desc').limit(1).get();
    const seq = snap.docs[0]?.get('seq');
    return typeof seq === 'number' ? seq : 0;
  }

  async heads(accountIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const found = await Promise.all(accountIds.map(async (id) => [id, await this.head(id)] as const));
    for (const [id, seq] of found) if (seq > 0) out.set(id, seq);
    return out;
  }

  /**
   * Deletes batches whose server commit time is before `before`, keeping each account's last one;
   * expired single-use keys go too. Returns the batches deleted.
   */
  async prune(before: number, deleteDocs: (refs: ReadonlyArray<ReturnType<FirestoreChangeLog['doc']>>) => Promise<void>): Promise<number> {
    let deleted = 0;
    let cursor: DocumentSnapshot | null = null;
    const headOf = new Map<string, number>();
    for (;;) {
      let q = this.feed().where('commitAt', '<', Timestamp.fromMillis(before)).orderBy('commitAt').limit(PRUNE_PAGE);
      if (cursor) q = q.startAfter(cursor);
      const snap = await q.get();
      if (snap.empty) break;
      const doomed = [];
      for (const d of snap.docs) {
        const accountId = String(d.get('accountId'));
        if (!headOf.has(accountId)) headOf.set(accountId, await this.head(accountId));
        if (Number(d.get('seq')) < headOf.get(accountId)!) doomed.push(d.ref);
      }
      if (doomed.length > 0) await deleteDocs(doomed);
      deleted += doomed.length;
      if (snap.size < PRUNE_PAGE) break;
      cursor = snap.docs[snap.docs.length - 1]!;
    }
    const expired = await this.db.collection(COLLECTIONS.once).where('expiresAt', '<', this.now()).limit(PRUNE_PAGE).get();
    if (!expired.empty) await deleteDocs(expired.docs.map((d) => d.ref));
    return deleted;
  }

  /**
   * Purge: every batch of the account goes (they hold message bodies) but the last, emptied, which
   * keeps its number: an account created again under the same id numbers on.
   */
  async purge(accountId: string, deleteDocs: (refs: ReadonlyArray<ReturnType<FirestoreChangeLog['doc']>>) => Promise<void>): Promise<void> {
    await this.exclusive(accountId, async () => {
      const head = await this.head(accountId);
      for (;;) {
        const snap = await this.feed().where('accountId', '==', accountId).where('seq', '<', head).orderBy('seq').limit(PRUNE_PAGE).get();
        if (snap.empty) break;
        await deleteDocs(snap.docs.map((d) => d.ref));
      }
      if (head > 0) await this.doc(accountId, head).update({ events: '[]', count: 0, purged: true });
      this.known.delete(accountId);
      const pending = this.hinted.get(accountId);
      if (pending?.timer) clearTimeout(pending.timer);
      this.hinted.delete(accountId);
      await this.db.collection(COLLECTIONS.feedHeads).doc(accountId).delete();
    });
  }

  /** Created once per database; every store reads the same one. */
  async epochOf(): Promise<string> {
    if (this.epoch !== null) return this.epoch;
    const ref = this.db.collection(COLLECTIONS.feedMeta).doc('log');
    const candidate = randomUUID().replace(/-/g, '').slice(0, 16);
    try {
      await ref.create({ epoch: candidate, createdAt: Timestamp.fromMillis(this.now()) });
      this.epoch = candidate;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      this.epoch = String((await ref.get()).get('epoch'));
    }
    return this.epoch;
  }

  async useOnce(key: string, expiresAt: number): Promise<boolean> {
    try {
      await this.db.collection(COLLECTIONS.once).doc(key).create({ expiresAt });
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
  }

  /** Listens to the head hints other writers leave; `onHint` gets the accounts that moved. */
  watch(onHint: (accountIds: readonly string[]) => void, onError: (err: unknown) => void): () => void {
    return this.db.collection(COLLECTIONS.feedHeads).onSnapshot(
      (snap) => {
        const ids = snap.docChanges().map((c) => c.doc.id);
        if (ids.length > 0) onHint(ids);
      },
      (err) => onError(err),
    );
  }

  close(): void {
    for (const h of this.hinted.values()) if (h.timer) clearTimeout(h.timer);
    this.hinted.clear();
  }

  private async knownHead(accountId: string): Promise<number> {
    const known = this.known.get(accountId);
    if (known !== undefined) return known;
    const head = await this.head(accountId);
    this.known.set(accountId, head);
    return head;
  }

  /** Best effort, at most once a second per account: a lost hint only delays another instance's readers. */
  private hint(accountId: string, seq: number): void {
    const h = this.hinted.get(accountId) ?? { at: 0, timer: null, seq };
    h.seq = Math.max(h.seq, seq);
    this.hinted.set(accountId, h);
    if (h.timer) return;
    const wait = Math.max(0, h.at + HINT_INTERVAL_MS - this.now());
    h.timer = setTimeout(() => {
      h.timer = null;
      h.at = this.now();
      this.db
        .collection(COLLECTIONS.feedHeads)
        .doc(accountId)
        .set({ seq: h.seq, at: Timestamp.fromMillis(h.at) })
        .catch((err: unknown) => this.logger?.warn({ err, accountId }, 'change-log head hint not written'));
    }, wait);
    h.timer.unref();
  }

  private exclusive<T>(accountId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(accountId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(accountId, settled);
    void settled.then(() => {
      if (this.locks.get(accountId) === settled) this.locks.delete(accountId);
    });
    return run;
  }
}

function isAlreadyExists(err: unknown): boolean {
  if (grpcCodeOf(err) === GRPC_ALREADY_EXISTS) return true;
  const cause = err instanceof Error ? err.cause : undefined;
  return cause !== undefined && grpcCodeOf(cause) === GRPC_ALREADY_EXISTS;
}

function toBatch(d: DocumentData): ChangeBatch {
  return {
    accountId: String(d.accountId),
    seq: Number(d.seq),
    committedAt: millisOf(d.committedAt) ?? millisOf(d.commitAt) ?? 0,
    events: typeof d.events === 'string' ? decodeEvents(d.events) : [],
  };
}
