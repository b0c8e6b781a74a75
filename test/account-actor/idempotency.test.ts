import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchWriter } from '../../src/account-actor/batch-writer.js';
import { previewOf } from '../../src/domain/merge.js';
import { mapHistorySet, mapMessagesUpsert, applyJidMappings, mapResolver, type IngestContext } from '../../src/ingest/index.js';
import type { MessageRecord, ThreadRecord } from '../../src/domain/records.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { generateHistory } from '../../src/connectors/sim/history-generator.js';

const ACCOUNT = 'account_test_idem';

async function allPages<T>(fetch: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await fetch(cursor);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/**
 * Issue 2's idempotency proof: the same 10,000-entry history ingested three times, then the same
 * messages again as live upserts, through the real mapping, batch writer and SQLite store. The
 * simulated phone's history, like a real one, holds some deleted-for-everyone stubs with no content:
 * those are skipped (and counted), so the exact expectation is entries minus stubs.
 */
describe('idempotent ingest of a 10,000-message history', () => {
  let dir: string;
  let store: Store;
  let storable = 0;
  let stubs = 0;
  const lidToPn = new Map<string, string>();
  const { chunks } = generateHistory({ chats: 100, messagesPerChat: 100, seed: 'idempotency' });

  const ctx = (source: IngestContext['source'], syncType?: number | null): IngestContext => ({
    accountId: ACCOUNT,
    now: Date.now(),
    source,
    syncType: syncType ?? null,
    resolver: mapResolver(lidToPn),
  });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-idem-'));
    store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: ACCOUNT });
    const writer = new BatchWriter({ store, accountId: ACCOUNT, maxOps: 500, flushMs: 5, dryRun: false });

    for (let round = 0; round < 3; round++) {
      for (const chunk of chunks) {
        const batch = mapHistorySet(chunk, ctx('history_sync', chunk.syncType));
        if (round === 0) {
          storable += batch.total - batch.skipped;
          stubs += batch.skipReasons.stub ?? 0;
          expect(Object.keys(batch.skipReasons).filter((r) => r !== 'stub')).toEqual([]);
        }
        applyJidMappings(lidToPn, batch.mutations);
        const outcome = await writer.submit(batch.mutations, { history: true });
        expect(outcome.errors).toBe(0);
      }
    }
    // The same messages again, as WhatsApp re-delivers them live (offline catch-up arrives as `append`).
    for (const chunk of chunks) {
      for (const type of ['append', 'notify'] as const) {
        const batch = mapMessagesUpsert({ messages: chunk.messages, type }, ctx('realtime'));
        applyJidMappings(lidToPn, batch.mutations);
        const outcome = await writer.submit(batch.mutations, { history: false });
        expect(outcome.errors).toBe(0);
      }
    }
    await writer.close(30_000);
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores exactly one row per message: 10,000 entries minus the deletion stubs', async () => {
    expect(chunks.reduce((n, c) => n + c.messages.length, 0)).toBe(10_000);
    expect(storable).toBe(10_000 - stubs);
    expect(storable).toBeGreaterThan(9_500);
    expect(await store.countMessages(ACCOUNT)).toBe(storable);
  });

  it('keeps history provenance: the first sighting wins, createdAt is the WhatsApp time', async () => {
    const first = chunks[0]!.messages[0]!;
    const row = await store.getMessage(ACCOUNT, first.key.id!);
    expect(row?.syncSource).toBe('history_sync');
    expect(row?.createdAt).toBe(Number(first.messageTimestamp) * 1000);
  });

  it('every thread summary is its newest message, and every message is in exactly one thread', async () => {
    const threads = await allPages<ThreadRecord>((cursor) => store.listThreads(ACCOUNT, { limit: 500, cursor }));
    let total = 0;
    const seen = new Set<string>();
    for (const t of threads) {
      const messages = await allPages<MessageRecord>((cursor) => store.listMessages(ACCOUNT, t.id, { limit: 500, cursor, order: 'desc' }));
      total += messages.length;
      for (const m of messages) {
        expect(seen.has(m.id)).toBe(false);
        seen.add(m.id);
        expect(m.clientJid).toBe(t.clientJid);
      }
      const newest = messages[0]!;
      expect(t.lastMessageAt).toBe(newest.createdAt);
      expect(t.lastMessageId).toBe(newest.id);
      expect(t.lastMessagePreview).toBe(previewOf(newest));
    }
    expect(total).toBe(storable);
  });

  it('one person is one thread: no LID thread survives for a person whose phone number is known', async () => {
    const threads = await allPages<ThreadRecord>((cursor) => store.listThreads(ACCOUNT, { limit: 500, cursor }));
    for (const t of threads) {
      if (t.clientJid.endsWith('@lid')) expect(lidToPn.has(t.clientJid)).toBe(false);
    }
    const pnWithLid = threads.filter((t) => t.lidJid !== null);
    expect(pnWithLid.length).toBeGreaterThan(0);
    for (const t of pnWithLid) expect(lidToPn.get(t.lidJid!)).toBe(t.clientJid);
  });
});
