import { proto, toNumber } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { countMessages, generateHistory } from '../../bench/generate-history.js';
import type { MessageRecord } from '../../src/domain/records.js';
import { applyJidMappings, mapHistorySet, mapResolver } from '../../src/ingest/index.js';

const NOW = Date.UTC(2025, 5, 1);

function ingestAll(chunks: ReturnType<typeof generateHistory>, ownJids?: ReadonlySet<string>) {
  const map = new Map<string, string>();
  const records: MessageRecord[] = [];
  let total = 0;
  let skipped = 0;
  for (const chunk of chunks) {
    const b = mapHistorySet(chunk, { accountId: 'acc', now: NOW, source: 'history_sync', resolver: mapResolver(map), ...(ownJids ? { ownJids } : {}) });
    applyJidMappings(map, b.mutations);
    total += b.total;
    skipped += b.skipped;
    for (const m of b.mutations) if (m.kind === 'message') records.push(m.record);
  }
  return { map, records, total, skipped };
}

describe('generateHistory (benchmark input)', () => {
  const opts = { chats: 60, messagesPerChat: 50, seed: 42, chunkSize: 700 };
  const chunks = generateHistory(opts);

  it('is deterministic for a seed and differs across seeds', () => {
    const again = generateHistory(opts);
    expect(again.map((c) => c.messages.map((m) => m.key.id))).toEqual(chunks.map((c) => c.messages.map((m) => m.key.id)));
    expect(generateHistory({ ...opts, seed: 43 })[0]!.messages[0]!.key.id).not.toBe(chunks[0]!.messages[0]!.key.id);
  });

  it('has the requested count, chunked, Baileys-shaped', () => {
    expect(countMessages(chunks)).toBe(3000);
    expect(chunks.length).toBe(Math.ceil(3000 / 700));
    for (const c of chunks.slice(0, -1)) expect(c.messages.length).toBe(700);
    expect(chunks[0]!.syncType).toBe(proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP);
    expect(chunks.at(-1)!.progress).toBe(100);
    const all = chunks.flatMap((c) => c.messages);
    expect(all[0]!.messageTimestamp).not.toBeTypeOf('number'); // Long, as decoded protos carry
    expect(new Set(all.map((m) => m.key.id)).size).toBe(all.length);
    expect(all.some((m) => m.key.fromMe)).toBe(true);
    expect(all.some((m) => m.key.remoteJid?.endsWith('@lid') && m.key.remoteJidAlt)).toBe(true);
    expect(all.some((m) => m.key.remoteJid?.endsWith('@lid') && !m.key.remoteJidAlt)).toBe(true);
    expect(all.some((m) => m.key.remoteJid?.endsWith('@g.us'))).toBe(true);
    // Newest first within a chat.
    const first = all.filter((m) => m.key.remoteJid === all[0]!.key.remoteJid).map((m) => toNumber(m.messageTimestamp));
    expect([...first].sort((a, b) => b - a)).toEqual(first);
  });

  it('maps completely: every message stored, mixed types, own times, LIDs resolved where knowable', () => {
    const { records, total, skipped, map } = ingestAll(chunks, new Set(['40700000001@s.whatsapp.net']));
    expect(total).toBe(3000);
    expect(skipped).toBe(0);
    expect(records).toHaveLength(3000);
    const types = new Set(records.map((r) => r.messageType));
    for (const t of ['text', 'image', 'video', 'audio', 'document', 'sticker']) expect(types).toContain(t);
    expect(records.some((r) => r.mediaType === 'image' && r.body !== '')).toBe(true);
    expect(records.every((r) => r.createdAt < NOW && r.syncedAt === NOW)).toBe(true);
    expect(records.filter((r) => r.fromMe).every((r) => r.rawMessage !== null)).toBe(true);
    // Every LID chat whose PN the data reveals ends up on the PN thread.
    const lidThreads = new Set(records.filter((r) => r.clientJid.endsWith('@lid')).map((r) => r.clientJid));
    for (const lid of lidThreads) expect(map.has(lid)).toBe(false);
    // No mapping ever points at our own number.
    expect([...map.values()]).not.toContain('40700000001@s.whatsapp.net');
  });

  it('noise entries are counted as skips', () => {
    const noisy = generateHistory({ chats: 10, messagesPerChat: 100, seed: 5, noiseRatio: 0.1 });
    const { records, total, skipped } = ingestAll(noisy);
    expect(total).toBe(1100);
    expect(skipped).toBe(100);
    expect(records).toHaveLength(1000);
  });
});
