import type { BaileysEventMap } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it } from 'vitest';
import { SimConnector, simConnectorFromConfig, type SimPhone } from '../../src/connectors/sim/index.js';
import { loadConfig } from '../../src/config/index.js';
import { ofType, recordEvents, simContext, waitFor } from './sim-support.js';

const FAST = { ackMs: 5, deliveryMs: 5, readMs: 5, historyMs: 1, onDemandMs: 5 };

const phones: SimPhone[] = [];
afterEach(async () => {
  for (const p of phones.splice(0)) await p.end(undefined);
});

describe('SimPhone QR rotation (WA_SIM_PAIR_MS, WA_SIM_QR_MS)', () => {
  it('shows a fresh QR every qrMs until it pairs, then none is left pending', async () => {
    const connector = new SimConnector({ chats: 1, messagesPerChat: 1, rate: 0, seed: 'qr', delays: { ...FAST, pairMs: 450, qrMs: 100 } });
    const phone = (await connector.connect(simContext())) as SimPhone;
    phones.push(phone);
    const events = recordEvents(phone);
    await waitFor(() => phone.connection === 'open', 3000, 'open');

    const updates = ofType(events, 'connection.update');
    const qrs = updates
      .filter((u): u is BaileysEventMap['connection.update'] & { qr: string } => typeof u.qr === 'string')
      .map((u) => u.qr);
    // At 0, 100, 200, 300 and 400 ms: five distinct QRs, all before `open`.
    expect(qrs).toHaveLength(5);
    expect(new Set(qrs).size).toBe(5);
    const openAt = updates.findIndex((u) => u.connection === 'open');
    const lastQrAt = updates.findLastIndex((u) => typeof u.qr === 'string');
    expect(lastQrAt).toBeLessThan(openAt);
    // Waiting well past another rotation: no QR after pairing.
    await new Promise((r) => setTimeout(r, 250));
    expect(ofType(events, 'connection.update').filter((u) => typeof u.qr === 'string')).toHaveLength(5);
  });

  it('takes its delays from the environment', async () => {
    const connector = simConnectorFromConfig(
      loadConfig({ WA_SIM_CHATS: '1', WA_SIM_MESSAGES_PER_CHAT: '1', WA_SIM_PAIR_MS: '300', WA_SIM_QR_MS: '100' }),
    );
    const phone = connector.connectPhone(simContext());
    phones.push(phone);
    const events = recordEvents(phone);
    const started = Date.now();
    await waitFor(() => phone.connection === 'open', 3000, 'open');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(ofType(events, 'connection.update').filter((u) => typeof u.qr === 'string')).toHaveLength(3);
  });
});
