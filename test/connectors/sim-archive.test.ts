import { describe, expect, it } from 'vitest';
import type { WAMessage } from '@whiskeysockets/baileys';
import { LidPnPairs, MessageArchive } from '../../src/connectors/sim/archive.js';
import { onDemandHistorySync } from '../../src/connectors/sim/on-demand.js';
import { SimConnector, simConnectorFromConfig, type SimPhone } from '../../src/connectors/sim/index.js';
import { loadConfig } from '../../src/config/index.js';
import { ofType, recordEvents, simContext, waitFor } from './sim-support.js';

const A = '40711111111@s.whatsapp.net';
const B = '40722222222@s.whatsapp.net';
const FAR = { ts: 1e12, id: '' };

function msg(jid: string, id: string, seconds: number): WAMessage {
  return { key: { remoteJid: jid, id, fromMe: false }, messageTimestamp: seconds, message: { conversation: `text ${id}` } };
}

/** Ids of `jid` the archive would serve to a backfill from the newest end, oldest first. */
function kept(archive: MessageArchive, jid: string): string[] {
  return archive
    .olderThan(jid, FAR, 1e6)
    .map((m) => m.id)
    .reverse();
}

describe('the simulated phone keeps the newest messages of each chat only', () => {
  it.each([
    { keep: 1, sent: 10 },
    { keep: 3, sent: 10 },
    { keep: 10, sent: 10 },
    { keep: 10, sent: 9 },
    { keep: 7, sent: 50 },
  ])('keep $keep of $sent per chat, in order', ({ keep, sent }) => {
    const archive = new MessageArchive({ keepPerChat: keep });
    for (let i = 0; i < sent; i++) {
      archive.add(msg(A, `A${i}`, 100 + i));
      archive.add(msg(B, `B${i}`, 100 + i));
    }
    const n = Math.min(keep, sent);
    expect(archive.size).toBe(2 * n);
    const newest = (p: string): string[] => Array.from({ length: n }, (_, k) => `${p}${sent - n + k}`);
    expect(kept(archive, A)).toEqual(newest('A'));
    expect(kept(archive, B)).toEqual(newest('B'));
  });

  it('places late arrivals by age and drops whatever is then the oldest; a message older than all it keeps is not taken', () => {
    const archive = new MessageArchive({ keepPerChat: 3 });
    for (const [id, ts] of [
      ['m10', 10],
      ['m30', 30],
      ['m40', 40],
    ] as const)
      archive.add(msg(A, id, ts));
    archive.add(msg(A, 'm20', 20)); // newer than m10: kept, m10 dropped
    expect(kept(archive, A)).toEqual(['m20', 'm30', 'm40']);
    archive.add(msg(A, 'm5', 5)); // older than everything kept: not taken
    expect(kept(archive, A)).toEqual(['m20', 'm30', 'm40']);
    archive.add(msg(A, 'm30', 30)); // a duplicate changes nothing
    expect(archive.size).toBe(3);
    archive.add(msg(A, 'm50', 50));
    expect(kept(archive, A)).toEqual(['m30', 'm40', 'm50']);
    // A dropped id can come back when it is newer than what is kept (a different message with a reused id).
    archive.add(msg(A, 'm20', 60));
    expect(kept(archive, A)).toEqual(['m40', 'm50', 'm20']);
  });

  it('keeps every message with keepPerChat 0, and 200 per chat by default', () => {
    const all = new MessageArchive({ keepPerChat: 0 });
    const dflt = new MessageArchive();
    for (let i = 0; i < 1_200; i++) {
      all.add(msg(A, `A${i}`, i));
      dflt.add(msg(A, `A${i}`, i));
    }
    expect(all.size).toBe(1_200);
    expect(dflt.size).toBe(200);
    expect(kept(dflt, A)[0]).toBe('A1000');
  });

  it('rejects a bound that is not a whole number ≥ 0', () => {
    for (const keepPerChat of [-1, 1.5, Number.NaN]) expect(() => new MessageArchive({ keepPerChat })).toThrow(RangeError);
  });

  it('serves backfills from the newest kept messages, and nothing past the oldest kept', () => {
    const archive = new MessageArchive({ keepPerChat: 5 });
    for (let i = 0; i < 20; i++) archive.add(msg(A, `A${i}`, 1_000 + i));
    const ask = (anchor: { ts: number; id: string }, count: number): string[] =>
      (onDemandHistorySync({ world: null, archive, pairs: new LidPnPairs(), jid: A, anchor, count }).conversations[0]?.messages ?? []).map(
        (m) => m.message?.key?.id ?? '',
      );
    expect(ask({ ts: 2_000, id: '' }, 3)).toEqual(['A19', 'A18', 'A17']);
    expect(ask({ ts: 1_017, id: 'A17' }, 50)).toEqual(['A16', 'A15']);
    expect(ask({ ts: 1_015, id: 'A15' }, 50)).toEqual([]);
  });

  it('WA_SIM_KEEP_PER_CHAT reaches the phone (200 by default)', () => {
    const env = { WA_CONNECTOR: 'sim' };
    const keepOf = (c: ReturnType<typeof simConnectorFromConfig>): unknown =>
      (c as unknown as { opts: { keepPerChat?: number } }).opts.keepPerChat;
    expect(keepOf(simConnectorFromConfig(loadConfig(env)))).toBe(200);
    expect(keepOf(simConnectorFromConfig(loadConfig({ ...env, WA_SIM_KEEP_PER_CHAT: '25' })))).toBe(25);
    expect(() => loadConfig({ ...env, WA_SIM_KEEP_PER_CHAT: '-1' })).toThrow();
  });

  it('a phone streaming live messages keeps at most keepPerChat of each chat', async () => {
    const connector = new SimConnector({ chats: 2, messagesPerChat: 2, rate: 500, keepPerChat: 4, fullHistory: false });
    const phone = (await connector.connect(simContext('acc_keep'))) as SimPhone;
    try {
      const events = recordEvents(phone);
      const live = (): number =>
        ofType(events, 'messages.upsert')
          .filter((u) => u.type === 'notify')
          .reduce((n, u) => n + u.messages.length, 0);
      await waitFor(() => live() >= 40, 10_000, 'live messages');
      const archive = (connector as unknown as { accounts: Map<string, { archive: MessageArchive }> }).accounts.get('acc_keep')!.archive;
      expect(archive.size).toBeGreaterThan(0);
      expect(archive.size).toBeLessThanOrEqual(2 * 4);
    } finally {
      await phone.end(undefined);
    }
  });
});
