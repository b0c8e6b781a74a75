import type { ApiMessage, ApiThread } from '../api/types.js';

/** Pure helpers of the inbox: ordering and merging pages and live events without duplicates. */

/** Oldest first: by WhatsApp time, then id (the API's keyset order, reversed). */
export function compareMessages(a: ApiMessage, b: ApiMessage): number {
  const ta = a.createdAt ?? '';
  const tb = b.createdAt ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Adds or replaces messages by id and keeps the list in order; the list given is not changed. */
export function mergeMessages(list: readonly ApiMessage[], incoming: readonly ApiMessage[]): ApiMessage[] {
  if (incoming.length === 0) return list as ApiMessage[];
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of incoming) {
    const before = byId.get(m.id);
    // A status only moves forward: a stale poll answer must not take a `read` back to `sent`.
    byId.set(m.id, before ? { ...before, ...m, status: laterStatus(before.status, m.status) } : m);
  }
  return [...byId.values()].sort(compareMessages);
}

const STATUS_RANK: Record<string, number> = { queued: 0, sent: 1, delivered: 2, read: 3 };

function laterStatus(a: ApiMessage['status'], b: ApiMessage['status']): ApiMessage['status'] {
  return (STATUS_RANK[b] ?? -1) >= (STATUS_RANK[a] ?? -1) ? b : a;
}

/** Newest first, as the API lists them; threads without a time last. */
export function compareThreads(a: ApiThread, b: ApiThread): number {
  const ta = a.lastMessageAt ?? '';
  const tb = b.lastMessageAt ?? '';
  if (ta !== tb) return ta > tb ? -1 : 1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function mergeThreads(list: readonly ApiThread[], incoming: readonly ApiThread[]): ApiThread[] {
  if (incoming.length === 0) return list as ApiThread[];
  const byId = new Map(list.map((t) => [t.id, t]));
  for (const t of incoming) byId.set(t.id, { ...(byId.get(t.id) ?? {}), ...t });
  return [...byId.values()].sort(compareThreads);
}

/** Name or number contains the query (digits are compared without `+`, spaces or dashes). */
export function threadMatches(t: ApiThread, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === '') return true;
  if ((t.displayName ?? '').toLowerCase().includes(q)) return true;
  const digits = q.replace(/[\s+\-()]/g, '');
  if (digits !== '' && /^\d+$/.test(digits) && t.clientJid.split('@')[0]!.includes(digits)) return true;
  return t.clientJid.toLowerCase().includes(q);
}

export const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'video', 'audio', 'document', 'sticker']);
