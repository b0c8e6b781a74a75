import type { BaileysEventMap, WAMessageKey } from '@whiskeysockets/baileys';
import type { WaSocket } from '../connectors/types.js';
import { WasyncError } from '../domain/errors.js';
import type { BackfillResult, MessageRecord } from '../domain/records.js';
import type { Logger } from '../logging/logger.js';
import type { Store } from '../store/port.js';
import { backfillCompletedEvent, backfillProgressEvent } from './feed-events.js';
import type { ActorEvent, BackfillAnchor, BackfillCommand } from './protocol.js';

/** How long the phone may take to answer one thread's history request. */
export const BACKFILL_RESPONSE_TIMEOUT_MS = 30_000;

export interface BackfillRunnerDeps {
  accountId: string;
  store: Store;
  logger: Logger;
  now: () => number;
  /** The live socket, or `NOT_CONNECTED`. */
  socket: () => WaSocket;
  emit: (event: ActorEvent) => void;
  /** The phone-number JID the actor learned for a LID (an answer may name the chat by either). */
  pnForLid: (lid: string) => string | undefined;
  /** Default `BACKFILL_RESPONSE_TIMEOUT_MS` (tests shorten it). */
  responseTimeoutMs?: number;
}

interface Waiter {
  chatJid: string;
  resolve: (saved: number) => void;
  timer: NodeJS.Timeout;
}

/**
 * The actor's backfill: asks the phone for history thread by thread and waits for each answer, which
 * arrives as an ON_DEMAND `messaging-history.set` the actor ingests like any history and hands back
 * through `onAnswer` with the count it saved. Anchored at each thread's oldest stored message a run
 * deepens the history (manual and auto backfill); at its newest it re-fetches the recent window
 * (recent sync). One thread at a time: the phone answers slowly and Firestore likes it calm.
 *
 * Runs never overlap: the phone's answers are matched to requests by chat when WhatsApp does not echo
 * the request id, so two runs asking about the same chat at once could swap answers. A request of the
 * kind already waiting or running shares that run instead of queueing a copy.
 */
export class BackfillRunner {
  private readonly d: BackfillRunnerDeps;
  private readonly waiters = new Map<string, Waiter>();
  /** Runs waiting or running, by kind (`anchor/record`). */
  private readonly runs = new Map<string, Promise<BackfillResult>>();
  private tail: Promise<void> = Promise.resolve();

  constructor(deps: BackfillRunnerDeps) {
    this.d = deps;
  }

  run(cmd: BackfillCommand): Promise<BackfillResult> {
    const anchor = cmd.anchor ?? 'oldest';
    const record = cmd.record ?? 'backfill';
    const kind = `${anchor}/${record}`;
    const pending = this.runs.get(kind);
    if (pending !== undefined) return pending;
    const run = this.tail.then(() => this.runNow({ ...cmd, anchor, record }));
    const tracked = run.finally(() => {
      if (this.runs.get(kind) === tracked) this.runs.delete(kind);
    });
    this.runs.set(kind, tracked);
    this.tail = tracked.then(
      () => undefined,
      () => undefined,
    );
    return tracked;
  }

  /**
   * An ON_DEMAND answer was ingested (`saved` messages new to the store): it settles the request that
   * asked for it, found by the request id WhatsApp echoes or, when it does not, by the chat.
   */
  onAnswer(data: BaileysEventMap['messaging-history.set'], saved: number): void {
    const echoed = data.peerDataRequestSessionId ?? undefined;
    let key = echoed !== undefined && this.waiters.has(echoed) ? echoed : undefined;
    if (key === undefined) {
      const chat = data.messages[0]?.key?.remoteJid;
      if (chat) {
        for (const [k, w] of this.waiters) {
          if (w.chatJid === chat || this.d.pnForLid(chat) === w.chatJid) {
            key = k;
            break;
          }
        }
      }
    }
    const waiter = key === undefined ? undefined : this.waiters.get(key);
    if (!waiter || key === undefined) return;
    clearTimeout(waiter.timer);
    this.waiters.delete(key);
    waiter.resolve(saved);
  }

  private async runNow(cmd: Required<BackfillCommand>): Promise<BackfillResult> {
    const { accountId, store, logger } = this.d;
    const sock = this.d.socket();
    logger.info({ reason: cmd.reason, anchor: cmd.anchor }, 'Starting backfill for recent threads');
    const result: BackfillResult = { threads: 0, messages: 0, errors: 0, threadResults: [] };
    const page = await store.listThreads(accountId, { limit: cmd.threads, order: 'desc' });
    for (const thread of page.items) {
      const before = result.threadResults.length;
      try {
        const anchor = await this.anchorOf(thread.id, cmd.anchor);
        if (!anchor) continue;
        const key: WAMessageKey = { remoteJid: thread.clientJid, id: anchor.id, fromMe: anchor.fromMe };
        if (thread.lidJid) key.remoteJidAlt = thread.lidJid;
        const saved = await this.awaitAnswer(thread.clientJid, () =>
          sock.fetchMessageHistory(cmd.count, key, Math.floor(anchor.createdAt / 1000)),
        );
        if (cmd.record === 'backfill') await store.setThreadBackfilledAt(accountId, thread.id, this.d.now());
        result.threads += 1;
        result.messages += saved;
        result.threadResults.push({ threadId: thread.id, messages: saved });
      } catch (err) {
        result.errors += 1;
        result.threadResults.push({ threadId: thread.id, messages: 0, error: err instanceof Error ? err.message : String(err) });
      }
      const done = result.threadResults[before];
      // Per-thread progress for real backfills; the recent sync (every few minutes) only logs its completion.
      if (done && cmd.record === 'backfill') {
        await store
          .appendChanges(accountId, [backfillProgressEvent(cmd, done, result.threadResults.length, page.items.length)])
          .catch((err: unknown) => logger.warn({ err }, 'backfill progress not logged'));
      }
    }
    const at = this.d.now();
    await store.patchAccount(
      accountId,
      cmd.record === 'backfill'
        ? { lastBackfillAt: at, lastBackfillResult: result }
        : { lastRecentSyncAt: at, lastRecentSyncResult: result },
      [backfillCompletedEvent(cmd.reason, cmd.record, result, at)],
    );
    logger.info({ reason: cmd.reason, threads: result.threads, messages: result.messages, errors: result.errors }, 'Backfill complete');
    this.d.emit({ type: 'backfill', accountId, reason: cmd.reason, record: cmd.record, result });
    return result;
  }

  /**
   * The newest end skips our own sends still queued or failed: the phone may never have seen them,
   * and an id it does not know is a poor anchor for its history.
   */
  private async anchorOf(threadId: string, end: BackfillAnchor): Promise<MessageRecord | undefined> {
    const { accountId, store } = this.d;
    if (end === 'oldest') return (await store.listMessages(accountId, threadId, { limit: 1, order: 'asc' })).items[0];
    const newest = await store.listMessages(accountId, threadId, { limit: 10, order: 'desc' });
    return (
      newest.items.find((m) => !(m.syncSource === 'outbound_api' && (m.status === 'queued' || m.sendError !== null))) ?? newest.items[0]
    );
  }

  private async awaitAnswer(chatJid: string, request: () => Promise<string>): Promise<number> {
    const requestId = await request();
    const timeoutMs = this.d.responseTimeoutMs ?? BACKFILL_RESPONSE_TIMEOUT_MS;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(requestId);
        reject(new WasyncError('ACTOR_TIMEOUT', 'the phone did not answer the history request in time'));
      }, timeoutMs);
      timer.unref?.();
      this.waiters.set(requestId, { chatJid, resolve, timer });
    });
  }
}
