import { proto, toNumber, type WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { generateHistory } from '../../src/connectors/sim/index.js';
import { buildHistorySync, planHistory } from '../../src/connectors/sim/history-sync.js';
import { SimWorld } from '../../src/connectors/sim/world.js';
import { isLongValue } from './sim-support.js';

const NOW = Date.UTC(2025, 0, 15, 12);
const SyncType = proto.HistorySync.HistorySyncType;

function allMessages(chunks: ReturnType<typeof generateHistory>['chunks']): WAMessage[] {
  return chunks.flatMap((c) => c.messages);
}

function contentOf(m: WAMessage): proto.IMessage | null | undefined {
  return m.message?.ephemeralMessage?.message ?? m.message?.documentWithCaptionMessage?.message ?? m.message;
}

describe('generateHistory', () => {
  const opts = { chats: 25, messagesPerChat: 40, seed: 'history-test', now: NOW, chunkSize: 200 };
  const h = generateHistory(opts);
  const messages = allMessages(h.chunks);

  it('delivers every message exactly once and every chat at least once', () => {
    const ids = messages.map((m) => `${m.key.remoteJid}/${m.key.id}`);
    expect(ids).toHaveLength(25 * 40);
    expect(new Set(ids).size).toBe(25 * 40);
    const chatIds = new Set(h.chunks.flatMap((c) => c.chats.map((chat) => chat.id)));
    expect(chatIds.size).toBe(25);
    const perChat = new Map<string, number>();
    for (const m of messages) perChat.set(m.key.remoteJid as string, (perChat.get(m.key.remoteJid as string) ?? 0) + 1);
    expect([...perChat.values()].every((n) => n === 40)).toBe(true);
  });

  it('keeps an archive of older messages per chat, disjoint from the history', () => {
    expect(h.archive).toHaveLength(25 * 20);
    const historyIds = new Set(messages.map((m) => m.key.id));
    expect(h.archive.some((m) => historyIds.has(m.key.id))).toBe(false);
    // Older than everything the history holds for the same chat.
    const oldest = new Map<string, number>();
    for (const m of messages) {
      const ts = toNumber(m.messageTimestamp);
      const jid = m.key.remoteJid as string;
      oldest.set(jid, Math.min(oldest.get(jid) ?? Infinity, ts));
    }
    for (const m of h.archive) expect(toNumber(m.messageTimestamp)).toBeLessThan(oldest.get(m.key.remoteJid as string) as number);
  });

  it('carries proto instances with Long timestamps, as Baileys decodes a history upload', () => {
    for (const m of messages) {
      expect(m).toBeInstanceOf(proto.WebMessageInfo);
      expect(isLongValue(m.messageTimestamp)).toBe(true);
    }
    for (const chunk of h.chunks) {
      for (const chat of chunk.chats) {
        expect(chat).toBeInstanceOf(proto.Conversation);
        expect(isLongValue(chat.conversationTimestamp)).toBe(true);
      }
    }
    expect(h.archive.every((m) => m instanceof proto.WebMessageInfo && isLongValue(m.messageTimestamp))).toBe(true);
  });

  it('builds exactly what proto decoding of the same bytes yields', () => {
    const world = new SimWorld(opts);
    const plan = planHistory(world, opts);
    for (const p of plan.slice(0, 3)) {
      const sync = buildHistorySync(world, p);
      const decoded = proto.HistorySync.decode(proto.HistorySync.encode(sync).finish());
      expect(decoded).toStrictEqual(sync);
    }
  });

  it('orders chunks like WhatsApp: bootstrap first (isLatest), then RECENT and FULL rising to 100 %', () => {
    const first = h.chunks[0];
    expect(first?.syncType).toBe(SyncType.INITIAL_BOOTSTRAP);
    expect(first?.isLatest).toBe(true);
    expect(h.chunks.slice(1).every((c) => c.isLatest === false)).toBe(true);
    for (const type of [SyncType.RECENT, SyncType.FULL]) {
      const phase = h.chunks.filter((c) => c.syncType === type);
      expect(phase.length).toBeGreaterThan(1);
      const progress = phase.map((c) => c.progress as number);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(progress.at(-1)).toBe(100);
      expect(phase.map((c) => c.chunkOrder)).toEqual(phase.map((_, k) => k + 1));
    }
    expect(h.chunks.every((c) => c.messages.length <= 200)).toBe(true);
    // Within a chunk, a chat's messages come newest first.
    for (const chunk of h.chunks) {
      const byChat = new Map<string, number[]>();
      for (const m of chunk.messages)
        byChat.set(m.key.remoteJid as string, [...(byChat.get(m.key.remoteJid as string) ?? []), toNumber(m.messageTimestamp)]);
      for (const ts of byChat.values()) expect(ts).toEqual([...ts].sort((a, b) => b - a));
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const again = generateHistory(opts);
    expect(again.chunks).toEqual(h.chunks);
    expect(again.archive).toEqual(h.archive);
    const other = generateHistory({ ...opts, seed: 'another' });
    const otherIds = new Set(allMessages(other.chunks).map((m) => m.key.id));
    expect(messages.some((m) => otherIds.has(m.key.id))).toBe(false);
  });

  it('addresses some chats by LID with the phone number stated, and has groups with participants', () => {
    const chats = h.chunks.flatMap((c) => c.chats);
    const lidChat = chats.find((c) => c.id?.endsWith('@lid') && c.pnJid);
    expect(lidChat).toBeDefined();
    const mappings = h.chunks.flatMap((c) => c.lidPnMappings ?? []);
    expect(mappings).toContainEqual({ lid: lidChat?.id, pn: lidChat?.pnJid });
    const contact = h.chunks.flatMap((c) => c.contacts).find((c) => c.id === lidChat?.id);
    expect(contact?.phoneNumber).toBe(lidChat?.pnJid);

    const group = chats.find((c) => c.id?.endsWith('@g.us'));
    expect(group?.participant?.length).toBeGreaterThan(2);
    const groupMsgs = messages.filter((m) => m.key.remoteJid === group?.id && !m.key.fromMe);
    expect(groupMsgs.length).toBeGreaterThan(0);
    expect(groupMsgs.every((m) => typeof m.key.participant === 'string' && m.key.participant.length > 0)).toBe(true);
  });

  it('mixes realistic content', () => {
    const contents = messages.map(contentOf);
    const image = contents.find((c) => c?.imageMessage)?.imageMessage;
    expect(image?.mediaKey).toHaveLength(32);
    expect(image?.fileSha256).toHaveLength(32);
    expect(image?.mimetype).toBe('image/png');
    expect(isLongValue(image?.fileLength)).toBe(true);
    expect(image?.directPath).toMatch(/^\/v\/t62\./);
    expect(contents.some((c) => c?.documentMessage?.fileName)).toBe(true);
    expect(contents.some((c) => c?.audioMessage?.ptt)).toBe(true);
    expect(contents.some((c) => c?.extendedTextMessage?.contextInfo?.quotedMessage)).toBe(true);
    expect(contents.some((c) => typeof c?.conversation === 'string')).toBe(true);
    expect(messages.some((m) => m.message?.ephemeralMessage)).toBe(true);
    expect(messages.some((m) => m.messageStubType === proto.WebMessageInfo.StubType.REVOKE && !m.message)).toBe(true);
    const own = messages.filter((m) => m.key.fromMe);
    expect(own.length).toBeGreaterThan(messages.length / 5);
    const ownContent = own.filter((m) => !m.messageStubType);
    expect(ownContent.every((m) => typeof m.status === 'number' && m.status >= proto.WebMessageInfo.Status.SERVER_ACK)).toBe(true);
    expect(messages.some((m) => m.pushName)).toBe(true);
  });

  it('generates 100,000 messages in well under a few seconds of CPU', () => {
    // CPU time, not wall time: on a shared machine the wall clock measures the neighbours.
    const t0 = process.cpuUsage();
    const big = generateHistory({ chats: 2000, messagesPerChat: 50, archivePerChat: 0, seed: 'big', now: NOW });
    const used = process.cpuUsage(t0);
    expect(big.chunks.reduce((n, c) => n + c.messages.length, 0)).toBe(100_000);
    // ~1.1 s on an idle laptop-class core (media files of the sim's pool included); the bound only catches regressions in kind.
    expect((used.user + used.system) / 1000).toBeLessThan(4000);
  });
});
