import { generateHistory } from '../src/connectors/sim/history-generator.js';
import { mapHistorySet, mapResolver } from '../src/ingest/index.js';

export interface MappingOffloadResult {
  messages: number;
  mapMs: number;
  /** Structured clone of the chunk's messages: what handing it to a pool thread costs this thread. */
  cloneInMs: number;
  /** Structured clone of the resulting mutations: what receiving them back costs. */
  cloneOutMs: number;
}

/**
 * Would a piscina pool help with mapping a large history chunk? Only if shipping the chunk to another
 * thread and the mutations back costs less than mapping it here. Best of three for each figure.
 */
export function benchMappingOffload(messages = 50_000): MappingOffloadResult {
  const { chunks } = generateHistory({ chats: 250, messagesPerChat: messages / 250, seed: 'offload', chunkSize: messages });
  const chunk = chunks.reduce((a, b) => (b.messages.length > a.messages.length ? b : a));
  const ctx = {
    accountId: 'a',
    now: Date.now(),
    source: 'history_sync' as const,
    syncType: chunk.syncType ?? null,
    resolver: mapResolver(new Map()),
  };
  let mapMs = Infinity;
  let cloneInMs = Infinity;
  let cloneOutMs = Infinity;
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    const batch = mapHistorySet(chunk, ctx);
    mapMs = Math.min(mapMs, performance.now() - t);
    t = performance.now();
    structuredClone(chunk.messages);
    cloneInMs = Math.min(cloneInMs, performance.now() - t);
    t = performance.now();
    structuredClone(batch.mutations);
    cloneOutMs = Math.min(cloneOutMs, performance.now() - t);
  }
  return { messages: chunk.messages.length, mapMs, cloneInMs, cloneOutMs };
}
