import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Mutation } from '../../src/domain/mutations.js';
import { generateHistory } from '../../src/connectors/sim/history-generator.js';
import { applyJidMappings, mapHistorySet, mapResolver } from '../../src/ingest/index.js';
import { FROM_OLDEST } from '../../src/store/change-log.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.js';

/**
 * `applyMutations` does per batch what one-by-one writes do per message: thread summaries moved once
 * per thread with the batch's newest message, a group sender's thread looked up once per sender, the
 * change log's message events as references. The same history (interleaved chats, shuffled so
 * timestamps arrive out of order, with replays that merge) must end in the same rows and the same
 * logged messages whether it is written in batches of 500 or one mutation at a time.
 */
const ACC = 'acc-eq';
const NOW = 1_750_000_000_000;

let dir: string;
let batched: SqliteStore;
let single: SqliteStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasync-batch-eq-'));
  batched = openSqliteStore({ file: join(dir, 'batched.db'), now: () => NOW });
  single = openSqliteStore({ file: join(dir, 'single.db'), now: () => NOW });
  for (const s of [batched, single]) {
    await s.init();
    await s.createAccount({ id: ACC });
  }
});
afterEach(async () => {
  await batched.close();
  await single.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A seeded shuffle: the same order every run. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The generated history's mutations in the order a batch applies its kinds (names and rosters, then
 * messages, then mappings), messages shuffled across chats, every seventh one replayed later with a
 * receipt-like change (a merge), every eleventh replayed unchanged.
 */
function history(seed: number): Mutation[] {
  const { chunks } = generateHistory({ chats: 24, messagesPerChat: 20, seed: `eq-${seed}` });
  const lidToPn = new Map<string, string>();
  const all: Mutation[] = [];
  for (const chunk of chunks) {
    const b = mapHistorySet(chunk, {
      accountId: ACC,
      now: NOW,
      source: 'history_sync',
      syncType: chunk.syncType ?? null,
      resolver: mapResolver(lidToPn),
    });
    applyJidMappings(lidToPn, b.mutations);
    all.push(...b.mutations);
  }
  const first = all.filter((m) => m.kind === 'thread' || m.kind === 'group-roster' || m.kind === 'group-participants');
  const messages = all.filter((m) => m.kind === 'message');
  const last = all.filter((m) => m.kind === 'jid-mapping');
  const replays: Mutation[] = [];
  messages.forEach((m, i) => {
    if (m.kind !== 'message') return;
    if (i % 7 === 0) replays.push({ kind: 'message', record: { ...m.record, status: 'read', readAt: m.record.createdAt + 5 } });
    else if (i % 11 === 0) replays.push(m);
  });
  return [...first, ...shuffled([...messages, ...replays], seed), ...last];
}

function rows(store: SqliteStore, sql: string): unknown[] {
  const db = new Database(store.file, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

async function loggedMessages(store: SqliteStore): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  let after: number | typeof FROM_OLDEST = FROM_OLDEST;
  for (;;) {
    const page = await store.readChanges(ACC, after, 100);
    if (page.status !== 'ok') throw new Error(`change log: ${page.status}`);
    if (page.batches.length === 0) return out;
    for (const b of page.batches) {
      // The message as the event resolves it (a message created and merged within one batch is one
      // `message.created`, one-by-one it is a created and an updated: the state must be the same).
      for (const e of b.events) {
        if (e.type === 'message.created' || e.type === 'message.updated')
          out.set(e.data.message.id, { threadId: e.data.threadId, message: e.data.message });
      }
      after = b.seq;
    }
  }
}

describe('sqlite applyMutations: a batch ends where one-by-one writes end', () => {
  it.each([1, 2, 3])('generated history, shuffle %i', async (seed) => {
    const mutations = history(seed);
    expect(mutations.filter((m) => m.kind === 'message').length).toBeGreaterThan(400);
    for (let i = 0; i < mutations.length; i += 500) await batched.applyMutations(ACC, mutations.slice(i, i + 500));
    for (const m of mutations) await single.applyMutations(ACC, [m]);

    const threadsSql = 'SELECT * FROM threads ORDER BY id';
    const messagesSql = 'SELECT * FROM messages ORDER BY account_id, id';
    const threads = rows(batched, threadsSql);
    expect(threads.length).toBeGreaterThan(20);
    expect(threads).toEqual(rows(single, threadsSql));
    expect(rows(batched, messagesSql)).toEqual(rows(single, messagesSql));
    expect(rows(batched, 'SELECT * FROM jid_mappings ORDER BY lid')).toEqual(rows(single, 'SELECT * FROM jid_mappings ORDER BY lid'));

    // Every stored message is in both logs, resolved to its stored state.
    const [a, b] = [await loggedMessages(batched), await loggedMessages(single)];
    expect(a.size).toBe(await batched.countMessages(ACC));
    expect(a).toEqual(b);
  });
});
