import { proto } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { SimConnector, simConnectorFromConfig, type SimPhone } from '../../src/connectors/sim/index.js';
import { ofType, recordEvents, simContext, waitFor } from './sim-support.js';

const phones: SimPhone[] = [];
afterEach(async () => {
  for (const p of phones.splice(0)) await p.end(undefined);
});

describe('simConnectorFromConfig', () => {
  it('builds the phone the WA_SIM_* variables describe', async () => {
    const config = loadConfig({
      WA_CONNECTOR: 'sim',
      WA_SIM_CHATS: '3',
      WA_SIM_MESSAGES_PER_CHAT: '4',
      WA_SIM_RATE: '0',
      WHATSAPP_SYNC_FULL_HISTORY: 'false',
    });
    const connector = simConnectorFromConfig(config);
    expect(connector).toBeInstanceOf(SimConnector);
    expect(connector.kind).toBe('sim');
    const phone = (await connector.connect(simContext('acc_config'))) as SimPhone;
    phones.push(phone);
    const events = recordEvents(phone);
    await waitFor(
      () =>
        ofType(events, 'messaging-history.set').some((s) => s.syncType === proto.HistorySync.HistorySyncType.RECENT && s.progress === 100),
      3000,
      'history',
    );
    await new Promise((r) => setTimeout(r, 100));
    const sets = ofType(events, 'messaging-history.set');
    expect(new Set(sets.flatMap((s) => s.chats.map((c) => c.id))).size).toBe(3);
    // Without the full history, the FULL phase stays on the phone (reachable by backfill).
    expect(sets.some((s) => s.syncType === proto.HistorySync.HistorySyncType.FULL)).toBe(false);
    expect(sets.reduce((n, s) => n + s.messages.length, 0)).toBeLessThan(12);
  });

  it('validates the scenario file at construction, naming the line', () => {
    const config = loadConfig({ WA_CONNECTOR: 'sim', WA_SIM_SCENARIO: new URL('./sim-config.test.ts', import.meta.url).pathname });
    expect(() => simConnectorFromConfig(config)).toThrow(/sim-config\.test\.ts:1: invalid JSON/);
  });
});
