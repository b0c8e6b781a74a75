import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { inlineReads } from '../src/http/conversation-reads.js';
import { pooledReads } from '../src/http/read-pool.js';
import { NOT_ARCHIVED, threadIdOf, type MessageRecord } from '../src/domain/records.js';

export interface ReadOffloadResult {
  limit: number;
  inlineMs: number;
  pooledMs: number;
  /** Main-thread event-loop time per read when offloaded (dispatch + receive): what uWS would still be blocked for. */
  pooledMainThreadMs: number;
}

/**
 * Does moving the HTTP read path (SQLite page read + JSON) to a piscina pool free the uWS thread?
 * Measures, for one page read, the time inline on the main thread versus the round trip through a
 * pool and the part of it the main thread still spends.
 */
export async function benchReadOffload(): Promise<ReadOffloadResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-read-'));
  const file = path.join(dir, 'wasync.db');
  const store = openSqliteStore({ file });
  await store.init();
  await store.createAccount({ id: 'a' });
  const jid = '40712345678@s.whatsapp.net';
  const now = Date.now();
  const base: Omit<MessageRecord, 'id' | 'waMessageId' | 'createdAt' | 'tsClient'> = {
    accountId: 'a',
    clientJid: jid,
    direction: 'inbound',
    body: 'a message body of a realistic length, say sixty characters.',
    status: 'delivered',
    messageType: 'text',
    mediaType: null,
    mediaUrl: null,
    mediaMimetype: null,
    mediaFilename: null,
    tsServer: now,
    syncedAt: null,
    syncSource: 'realtime',
    deliveredAt: null,
    readAt: null,
    contentType: 'conversation',
    fromMe: false,
    participant: null,
    pushName: 'Ana',
    syncType: null,
    mediaSize: null,
    media: null,
    refMessageId: null,
    editedAt: null,
    revokedAt: null,
    sendError: null,
    rawMessage: null,
    senderName: null,
    ...NOT_ARCHIVED,
  };
  for (let b = 0; b < 20; b++) {
    await store.applyMutations(
      'a',
      Array.from({ length: 500 }, (_, i) => {
        const n = b * 500 + i;
        const createdAt = now - n * 1000;
        return {
          kind: 'message' as const,
          record: { ...base, id: `M${n}`, waMessageId: `M${n}`, createdAt, tsClient: new Date(createdAt).toISOString() },
        };
      }),
    );
  }
  const threadId = threadIdOf('a', jid);
  const pool = pooledReads({ STORE: 'sqlite', DATA_DIR: dir, LOG_LEVEL: 'warn' }, 2);
  const direct = inlineReads(store);
  const results: ReadOffloadResult[] = [];
  try {
    for (const limit of [50, 500]) {
      const N = limit === 50 ? 2000 : 300;
      const query = { limit, order: 'desc' as const, cursor: null };
      // Inline: the read plus the JSON text the server writes, both on this thread.
      const inline = async (): Promise<string> => {
        const reply = await direct.messages('a', threadId, query);
        return 'json' in reply ? JSON.stringify(reply.json) : 'text' in reply ? reply.text : Buffer.from(reply.bytes).toString();
      };
      for (let i = 0; i < 50; i++) await inline();
      let t = performance.now();
      for (let i = 0; i < N; i++) await inline();
      const inlineMs = (performance.now() - t) / N;

      for (let i = 0; i < 50; i++) await pool.messages('a', threadId, query);
      t = performance.now();
      for (let i = 0; i < N; i++) await pool.messages('a', threadId, query);
      const pooledMs = (performance.now() - t) / N;
      // Main-thread share: how busy this event loop is while reads run in the pool.
      const elu0 = performance.eventLoopUtilization();
      t = performance.now();
      await Promise.all(Array.from({ length: N }, () => pool.messages('a', threadId, query)));
      const elu = performance.eventLoopUtilization(elu0);
      const pooledMainThreadMs = elu.active / N;
      results.push({ limit, inlineMs, pooledMs, pooledMainThreadMs });
    }
  } finally {
    await pool.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
