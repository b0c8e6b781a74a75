import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BufferJSON, initAuthCreds, makeEventBuffer, proto, type WAMessage } from '@whiskeysockets/baileys';
import { REDACTED_QR, recordingFileName, sanitizeEventData, startRecording } from '../../src/connectors/baileys/recorder.js';
import { parseScenario } from '../../src/connectors/sim/scenario.js';
import { PEER_PN, SELF_PN } from '../support/wa-fixtures.js';

const logger = pino({ level: 'silent' });
/** A proto instance, as Baileys emits them (`key` is always set on what it emits). */
const wa = (o: Record<string, unknown>): WAMessage => proto.WebMessageInfo.fromObject(o) as WAMessage;

interface Line {
  type: string;
  at: number;
  event: string;
  data: Record<string, unknown> & { messages?: Array<Record<string, unknown>> };
}

describe('record mode', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-rec-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends every event the socket emits as scenario lines, without creds or key material', async () => {
    const ev = makeEventBuffer(logger);
    let clock = 1_000_000;
    const recorder = startRecording(ev, { dir, accountId: 'account_prod_x1', logger, now: () => clock });
    const thumbnail = randomBytes(64);
    const mediaKey = randomBytes(32);
    const appStateKey = randomBytes(32);
    const creds = initAuthCreds();

    ev.emit('connection.update', { connection: 'connecting', qr: '2@ref,noise,identity,adv-secret' });
    ev.emit('creds.update', creds);
    clock += 1500;
    ev.emit('messages.upsert', {
      type: 'notify',
      messages: [
        wa({
          key: { remoteJid: PEER_PN, id: '3EB0IMG', fromMe: false },
          messageTimestamp: 1_700_000_000,
          pushName: 'Bob',
          message: {
            imageMessage: {
              mimetype: 'image/jpeg',
              caption: 'look',
              jpegThumbnail: thumbnail,
              mediaKey,
              fileLength: 12345,
              directPath: '/v/t62/abc',
            },
            messageContextInfo: { messageSecret: randomBytes(32) },
          },
        }),
        wa({
          key: { remoteJid: SELF_PN, id: '3EB0KEYS', fromMe: true },
          messageTimestamp: 1_700_000_001,
          message: {
            protocolMessage: {
              type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
              appStateSyncKeyShare: { keys: [{ keyId: { keyId: randomBytes(6) }, keyData: { keyData: appStateKey } }] },
            },
          },
        }),
      ],
    });
    clock += 500;
    ev.emit('messaging-history.set', {
      chats: [{ id: PEER_PN, name: 'Bob' }],
      contacts: [{ id: PEER_PN, notify: 'Bob' }],
      messages: [
        wa({ key: { remoteJid: PEER_PN, id: 'H1', fromMe: false }, message: { conversation: 'old' }, messageTimestamp: 1_690_000_000 }),
      ],
      syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
      progress: 10,
      isLatest: true,
    });
    const error = Object.assign(new Error('Stream Errored (restart required)'), {
      output: { statusCode: 515 },
      data: { secretish: 'stanza' },
    });
    ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date(0) } });
    await recorder.close();

    expect(readdirSync(dir)).toEqual([path.basename(recorder.file)]);
    expect(path.basename(recorder.file)).toMatch(/^account_prod_x1-\d{4}-\d{2}-\d{2}T.*\.jsonl$/);
    expect(statSync(recorder.file).mode & 0o077).toBe(0);
    const text = readFileSync(recorder.file, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l, BufferJSON.reviver) as Line);

    expect(lines.map((l) => l.event)).toEqual(['connection.update', 'messages.upsert', 'messaging-history.set', 'connection.update']);
    expect(lines.every((l) => l.type === 'event')).toBe(true);
    expect(lines.map((l) => l.at)).toEqual([0, 1500, 2000, 2000]);

    // Secrets: none of them, in any encoding.
    for (const secret of [mediaKey, appStateKey, creds.noiseKey.private, creds.signedIdentityKey.private]) {
      expect(text).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(text).not.toContain(creds.advSecretKey);
    expect(text).not.toContain('adv-secret');
    expect(text).not.toMatch(/mediaKey|appStateSyncKeyShare|messageSecret/);
    expect(lines[0]?.data.qr).toBe(REDACTED_QR);

    // Content survives, bytes included (BufferJSON round trip).
    const image = (
      lines[1]!.data.messages![0]!.message as { imageMessage: { jpegThumbnail: Buffer; caption: string; fileLength: unknown } }
    ).imageMessage;
    expect(Buffer.isBuffer(image.jpegThumbnail)).toBe(true);
    expect(image.jpegThumbnail.equals(thumbnail)).toBe(true);
    expect(image.caption).toBe('look');
    expect(lines[3]?.data.lastDisconnect).toMatchObject({
      error: { message: 'Stream Errored (restart required)', output: { statusCode: 515 } },
    });
    expect(JSON.stringify(lines[3]?.data)).not.toContain('secretish');

    // And the simulated phone reads the recording back as a scenario.
    const scenario = parseScenario(text, recorder.file);
    expect(scenario.scriptedLifecycle).toBe(true);
    const replayed = scenario.segments.flat().map((e) => e.materialize());
    expect(replayed.map((e) => e.event)).toEqual(['connection.update', 'messages.upsert', 'messaging-history.set', 'connection.update']);
    const upsert = replayed[1];
    if (upsert?.event !== 'messages.upsert') throw new Error('expected messages.upsert');
    expect(upsert.data.messages[0]?.message?.imageMessage?.caption).toBe('look');
  });

  it('stops recording on close', async () => {
    const ev = makeEventBuffer(logger);
    const recorder = startRecording(ev, { dir, accountId: 'a', logger });
    ev.emit('contacts.upsert', [{ id: PEER_PN, notify: 'Bob' }]);
    await recorder.close();
    ev.emit('contacts.upsert', [{ id: PEER_PN, notify: 'Later' }]);
    await recorder.close();
    expect(readFileSync(recorder.file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('names files safely whatever the account id', () => {
    expect(recordingFileName('../../etc/passwd', Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('.._.._etc_passwd-2026-01-02T03-04-05-006Z.jsonl');
  });

  it('strips creds-shaped material wherever it appears', () => {
    const creds = initAuthCreds();
    const out = JSON.stringify(sanitizeEventData('messages.update', [{ nested: { creds } }]), BufferJSON.replacer);
    expect(out).not.toContain(Buffer.from(creds.noiseKey.private).toString('base64'));
    expect(out).not.toContain(creds.advSecretKey);
  });
});
