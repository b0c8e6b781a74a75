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
    // At 0, 100, 200, 300 and 400 ms: five distinct QRs, all before `open` (on a loaded machine the
    // last ones can be pushed past the pairing, and are then dropped: see the next test).
    expect(qrs.length).toBeGreaterThanOrEqual(3);
    expect(qrs.length).toBeLessThanOrEqual(5);
    expect(new Set(qrs).size).toBe(qrs.length);
    const openAt = updates.findIndex((u) => u.connection === 'open');
    const lastQrAt = updates.findLastIndex((u) => typeof u.qr === 'string');
    expect(lastQrAt).toBeLessThan(openAt);
    // Waiting well past another rotation: no QR after pairing.
    await new Promise((r) => setTimeout(r, 250));
    expect(ofType(events, 'connection.update').filter((u) => typeof u.qr === 'string')).toHaveLength(qrs.length);
  });

  it('never shows a QR after it paired, even when a stalled event loop pushes a rotation past the pairing', async () => {
    const connector = new SimConnector({
      chats: 1,
      messagesPerChat: 1,
      rate: 0,
      seed: 'qr-stall',
      delays: { ...FAST, pairMs: 250, qrMs: 100 },
    });
    const phone = (await connector.connect(simContext())) as SimPhone;
    phones.push(phone);
    const updates: Array<BaileysEventMap['connection.update']> = [];
    phone.ev.on('connection.update', (u) => {
      updates.push(u);
      // The second QR (at 100 ms) arrives on a loop that then stalls for 200 ms: the next rotation,
      // timed from this one, would land at about 400 ms, after the pairing at 250 ms.
      if (typeof u.qr === 'string' && updates.filter((x) => typeof x.qr === 'string').length === 2) {
        const until = Date.now() + 200;
        while (Date.now() < until) {
          // busy: a blocked event loop
        }
      }
    });
    await waitFor(() => phone.connection === 'open', 3000, 'open');
    await new Promise((r) => setTimeout(r, 300));
    const openAt = updates.findIndex((u) => u.connection === 'open');
    expect(openAt).toBeGreaterThan(0);
    expect(updates.slice(openAt).filter((u) => typeof u.qr === 'string')).toEqual([]);
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
