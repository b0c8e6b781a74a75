import { createHash } from 'node:crypto';
import { proto } from '@whiskeysockets/baileys';
import type { Logger } from '../../logging/logger.js';
import type { Store } from '../../store/port.js';
import { SerialQueue, keySlot, type AuthStateCodec } from './auth-state.js';

/**
 * The durable list of history-sync notifications received but not yet confirmed committed by the
 * actor (see docs/history-durability.md). A notification is a small media reference (direct path,
 * media key, hashes; the first chunk may carry its payload inline), so the list stays small.
 *
 * It lives in the auth-key space of the store port under a type Baileys never uses, because the port
 * has no other opaque per-account storage; that also gets it sealed with AUTH_STATE_KEY (media keys
 * are secrets) and wiped with the session on logout, when its references are of no further use to us.
 */
export const JOURNAL_KEY_TYPE = 'wasync-history-journal';
const JOURNAL_KEY_ID = 'pending';

/** Past this many, the oldest entries are dropped: the journal must stay one small value. */
export const MAX_JOURNAL_ENTRIES = 256;
/** Replays per notification before it is given up (expired media, a chunk that always fails). */
export const MAX_REPLAY_ATTEMPTS = 3;

export interface JournalEntry {
  id: string;
  /** `proto.Message.HistorySyncNotification`, encoded, base64. */
  notification: string;
  syncType: number | null;
  chunkOrder: number | null;
  receivedAt: number;
  /** Replays started for this entry (persisted before each one, so a crash loop counts too). */
  attempts: number;
}

interface JournalValue {
  v: 1;
  entries: JournalEntry[];
}

/** Content-derived, so the pre-ack hook and the later upsert agree on it without sharing state. */
export function historyNotificationId(n: proto.Message.IHistorySyncNotification): string {
  const bytes = proto.Message.HistorySyncNotification.encode(n).finish();
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
}

export function decodeJournalNotification(entry: JournalEntry): proto.Message.HistorySyncNotification {
  return proto.Message.HistorySyncNotification.decode(Buffer.from(entry.notification, 'base64'));
}

export class HistoryJournal {
  private entries: JournalEntry[];
  private readonly queue = new SerialQueue();

  private constructor(
    private readonly store: Store,
    private readonly codec: AuthStateCodec,
    private readonly logger: Logger,
    entries: JournalEntry[],
  ) {
    this.entries = entries;
  }

  static async open(store: Store, codec: AuthStateCodec, logger: Logger): Promise<HistoryJournal> {
    const found = await store.readAuthKeys(codec.accountId, JOURNAL_KEY_TYPE, [JOURNAL_KEY_ID]);
    const bytes = found.get(JOURNAL_KEY_ID);
    let entries: JournalEntry[] = [];
    if (bytes) {
      const value = codec.decode(bytes, journalSlot(), 'the history-sync journal') as Partial<JournalValue> | null;
      entries = Array.isArray(value?.entries) ? value.entries.filter(isEntry) : [];
    }
    return new HistoryJournal(store, codec, logger, entries);
  }

  pending(): readonly JournalEntry[] {
    return this.entries;
  }

  has(id: string): boolean {
    return this.entries.some((e) => e.id === id);
  }

  /** Idempotent: recording a notification twice (hook, then upsert; or a redelivery) keeps one entry. */
  record(n: proto.Message.IHistorySyncNotification, now: number): Promise<string> {
    const id = historyNotificationId(n);
    return this.queue.run(async () => {
      if (this.has(id)) return id;
      const entry: JournalEntry = {
        id,
        notification: Buffer.from(proto.Message.HistorySyncNotification.encode(n).finish()).toString('base64'),
        syncType: n.syncType ?? null,
        chunkOrder: n.chunkOrder ?? null,
        receivedAt: now,
        attempts: 0,
      };
      let next = [...this.entries, entry];
      if (next.length > MAX_JOURNAL_ENTRIES) {
        const dropped = next.slice(0, next.length - MAX_JOURNAL_ENTRIES);
        next = next.slice(-MAX_JOURNAL_ENTRIES);
        this.logger.warn({ dropped: dropped.length }, 'history journal full: oldest unconfirmed notifications dropped');
      }
      await this.persist(next);
      return id;
    });
  }

  commit(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    const done = new Set(ids);
    return this.queue.run(async () => {
      const next = this.entries.filter((e) => !done.has(e.id));
      if (next.length !== this.entries.length) await this.persist(next);
    });
  }

  /** Counts a replay before it starts; returns false (and drops the entry) once it has had its tries. */
  beginReplay(id: string): Promise<boolean> {
    return this.queue.run(async () => {
      const entry = this.entries.find((e) => e.id === id);
      if (!entry) return false;
      if (entry.attempts >= MAX_REPLAY_ATTEMPTS) {
        this.logger.error(
          { notification: id, syncType: entry.syncType, chunkOrder: entry.chunkOrder, attempts: entry.attempts },
          'history-sync chunk could not be committed after repeated replays; giving it up (its messages may be missing)',
        );
        await this.persist(this.entries.filter((e) => e.id !== id));
        return false;
      }
      await this.persist(this.entries.map((e) => (e.id === id ? { ...e, attempts: e.attempts + 1 } : e)));
      return true;
    });
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async persist(next: JournalEntry[]): Promise<void> {
    const value: JournalValue = { v: 1, entries: next };
    const bytes = next.length === 0 ? null : this.codec.encode(value, journalSlot());
    await this.store.writeAuthKeys(this.codec.accountId, [{ type: JOURNAL_KEY_TYPE, id: JOURNAL_KEY_ID, value: bytes }]);
    // Only after the write: memory never claims more durability than the store has.
    this.entries = next;
  }
}

function journalSlot(): string {
  return keySlot(JOURNAL_KEY_TYPE, JOURNAL_KEY_ID);
}

function isEntry(e: unknown): e is JournalEntry {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.notification === 'string' && typeof r.attempts === 'number';
}
