import { describe, expect, it } from 'vitest';
import { jidNormalizedUser } from '@whiskeysockets/baileys';
import { generateHistory } from '../../src/connectors/sim/history-generator.js';
import type { MessageRecord } from '../../src/domain/records.js';
import { applyJidMappings, mapHistorySet, mapResolver } from '../../src/ingest/index.js';

const NOW = Date.UTC(2026, 5, 1);

/** Ingest over the simulated phone's whole history: the payload shapes a demo account really receives. */
describe('ingest of a generated history', () => {
  const generated = generateHistory({ chats: 60, messagesPerChat: 50, seed: 'ingest', now: NOW - 86_400_000, chunkSize: 700 });
  const own = new Set([jidNormalizedUser(generated.identity.id), jidNormalizedUser(generated.identity.lid)]);

  const map = new Map<string, string>();
  const records: MessageRecord[] = [];
  let total = 0;
  let skipped = 0;
  for (const chunk of generated.chunks) {
    const b = mapHistorySet(chunk, {
      accountId: 'acc',
      now: NOW,
      source: 'history_sync',
      syncType: chunk.syncType ?? null,
      resolver: mapResolver(map),
      ownJids: own,
    });
    applyJidMappings(map, b.mutations);
    total += b.total;
    skipped += b.skipped;
    for (const m of b.mutations) if (m.kind === 'message') records.push(m.record);
  }

  it('stores every message but the deletion stubs, with mixed types and the WhatsApp time as createdAt', () => {
    expect(total).toBe(3000);
    // Deleted-for-everyone messages reach history as content-less REVOKE stubs: skipped, counted.
    const stubs = generated.chunks.flatMap((c) => c.messages).filter((m) => !m.message && m.messageStubType).length;
    expect(skipped).toBe(stubs);
    expect(new Set(records.map((r) => r.id)).size).toBe(3000 - stubs);
    const types = new Set(records.map((r) => r.messageType));
    for (const t of ['text', 'image', 'document']) expect(types).toContain(t);
    expect(records.every((r) => r.createdAt < NOW && r.syncedAt === NOW && r.tsClient === new Date(r.createdAt).toISOString())).toBe(true);
    expect(records.filter((r) => r.fromMe).every((r) => r.rawMessage !== null)).toBe(true);
  });

  it('resolves LID chats to the phone number wherever the history reveals it, never to our own number', () => {
    const lidThreads = new Set(records.filter((r) => r.clientJid.endsWith('@lid')).map((r) => r.clientJid));
    for (const lid of lidThreads) expect(map.has(lid)).toBe(false);
    expect(map.size).toBeGreaterThan(0);
    for (const pn of map.values()) expect(own.has(pn)).toBe(false);
  });
});
