import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { BaileysEventMap } from '@whiskeysockets/baileys';
import { AccountActor } from '../../src/account-actor/account-actor.js';
import { loadConfig } from '../../src/config/index.js';
import { SimConnector, type SimPhone } from '../../src/connectors/sim/index.js';
import type { Connector } from '../../src/connectors/types.js';
import { threadIdOf } from '../../src/domain/records.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ACCOUNT = 'account_test_groups';
const NOW = Date.UTC(2025, 0, 15, 12);

let t: TempStore | null = null;
let actor: AccountActor | null = null;
afterEach(async () => {
  await actor?.stop({ logout: false, timeoutMs: 2_000 }).catch(() => undefined);
  await t?.cleanup();
  actor = null;
  t = null;
});

/**
 * Groups through the real actor and the simulated phone: rosters from the history and the metadata
 * fetch at connect, subjects, sender names, then live subject and membership changes. The phone's own
 * state is the truth the store must converge to.
 */
describe('groups through the actor (simulated phone)', () => {
  it('rosters, subjects and sender names land in the store and follow live group changes', async () => {
    t = await openTempStore('groups', ACCOUNT);
    const sim = new SimConnector({
      chats: 40,
      messagesPerChat: 8,
      rate: 400,
      seed: 'groups-e2e',
      now: NOW,
      delays: { historyMs: 1, pairMs: 0 },
    });
    const phones: SimPhone[] = [];
    const connector: Connector = Object.assign(Object.create(sim) as SimConnector, {
      connect: async (ctx: Parameters<Connector['connect']>[0]) => {
        const phone = sim.connectPhone(ctx);
        phones.push(phone);
        return phone;
      },
    });
    const changes: Array<BaileysEventMap['group-participants.update'] | BaileysEventMap['groups.update']> = [];
    const config = loadConfig({
      DATA_DIR: t.dir,
      WA_CONNECTOR: 'sim',
      AUTO_BACKFILL_ENABLED: 'false',
      RECENT_SYNC_ENABLED: 'false',
      BATCH_FLUSH_MS: '5',
    });
    actor = new AccountActor({
      accountId: ACCOUNT,
      store: t.store,
      connector,
      config,
      logger: pino({ level: 'silent' }),
      emit: () => undefined,
    });
    await actor.start();
    const phone = phones[0]!;
    phone.ev.on('group-participants.update', (e) => changes.push(e));
    phone.ev.on('groups.update', (e) => {
      if (e.length === 1 && e[0]?.participants === undefined) changes.push(e);
    });
    await vi.waitFor(() => expect(changes.length).toBeGreaterThanOrEqual(8), { timeout: 15_000, interval: 20 });
    await phone.end(undefined);
    await actor.stop({ logout: false, timeoutMs: 5_000 });

    const truth = Object.values(phone.groupMetadata());
    expect(truth.length).toBeGreaterThan(1);
    for (const g of truth) {
      const thread = await t.store.getThread(ACCOUNT, threadIdOf(ACCOUNT, g.id));
      expect(thread, g.id).toMatchObject({ isGroup: true, displayName: g.subject, displayNameSource: 'groupSubject' });
      expect(thread?.groupAddressingMode).toBe(g.addressingMode);
      expect(thread?.participants?.map((p) => [p.jid, p.admin])).toEqual(g.participants.map((p) => [p.id, p.admin ?? null]));
      // LID members carry their phone number (the metadata states it).
      for (const p of thread?.participants ?? []) if (p.jid.endsWith('@lid')) expect(p.phoneNumber).toMatch(/@s\.whatsapp\.net$/);
    }

    // Group messages from others carry their sender and a name for them.
    const group = truth[0]!;
    const page = await t.store.listMessages(ACCOUNT, threadIdOf(ACCOUNT, group.id), { limit: 100 });
    const fromOthers = page.items.filter((m) => !m.fromMe);
    expect(fromOthers.length).toBeGreaterThan(0);
    for (const m of fromOthers) {
      expect(m.participant).toMatch(/@(s\.whatsapp\.net|lid)$/);
      expect(m.senderName).toEqual(expect.any(String));
    }
  }, 30_000);
});
