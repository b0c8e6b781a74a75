import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { AccountActor } from '../../src/account-actor/account-actor.js';
import { loadConfig } from '../../src/config/index.js';
import { WasyncError } from '../../src/domain/errors.js';
import type { MediaRef } from '../../src/domain/records.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { makeMessage } from '../support/records.js';
import { ConnectorDouble, MediaSocketDouble, SocketDouble } from '../support/socket-double.js';

const ACCOUNT = 'account_test_media';
const PEER = '40712345678@s.whatsapp.net';
const MEDIA_KEY = Buffer.alloc(32, 7);
const OLD_URL = 'https://mmg.whatsapp.net/v/t62.7118-24/old.enc?oh=1';
const logger = pino({ level: 'silent' });

/**
 * The actor's `updateMediaMessage` command through the real AccountActor, with the shared socket
 * double on Baileys' own event buffer; its `reupload` plays the phone's side of `updateMediaMessage`.
 */

/** The simulated phone's socket has no `updateMediaMessage`. */
class SimLikeSocket extends SocketDouble {}

describe('AccountActor.updateMediaMessage', () => {
  let dir: string;
  let store: Store;
  let sock: MediaSocketDouble;
  let actor: AccountActor;

  async function startActor(kind: 'baileys' | 'sim', socket: SocketDouble, mediaReuploadTimeoutMs?: number): Promise<void> {
    // Every test drives `sock`; a SimLikeSocket simply has no re-upload to ask.
    sock = socket as MediaSocketDouble;
    const config = loadConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      WA_CONNECTOR: kind,
      AUTO_BACKFILL_ENABLED: 'false',
      RECENT_SYNC_ENABLED: 'false',
      BATCH_FLUSH_MS: '5',
    });
    actor = new AccountActor({
      accountId: ACCOUNT,
      store,
      connector: new ConnectorDouble(kind, () => socket),
      config,
      logger,
      emit: () => undefined,
      ...(mediaReuploadTimeoutMs === undefined ? {} : { mediaReuploadTimeoutMs }),
    });
    await actor.start();
  }

  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (err) {
      expect(err).toBeInstanceOf(WasyncError);
      return (err as WasyncError).code;
    }
    throw new Error('expected a rejection');
  };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-media-actor-'));
    store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    await store.createAccount({ id: ACCOUNT, connector: 'baileys' });
    const image = { url: OLD_URL, mimetype: 'image/jpeg', mediaKey: MEDIA_KEY, fileLength: 1234 };
    await store.applyMutations(ACCOUNT, [
      {
        kind: 'message',
        record: makeMessage({
          id: 'IMG1',
          accountId: ACCOUNT,
          clientJid: PEER,
          messageType: 'image',
          contentType: 'imageMessage',
          mediaMimetype: 'image/jpeg',
          rawMessage: proto.Message.encode({ imageMessage: image }).finish(),
          media: {
            url: OLD_URL,
            directPath: null,
            mediaKey: MEDIA_KEY.toString('base64'),
            fileEncSha256: null,
            fileSha256: null,
            fileLength: 1234,
          },
        }),
      },
      { kind: 'message', record: makeMessage({ id: 'TXT1', accountId: ACCOUNT, clientJid: PEER, body: 'words' }) },
    ]);
  });

  afterEach(async () => {
    await actor?.stop({ logout: false, timeoutMs: 1_000 }).catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks the socket with the stored message and answers the new reference as plain data, storing nothing', async () => {
    await startActor('baileys', new MediaSocketDouble());
    sock.open();
    const ref: MediaRef = await actor.updateMediaMessage('IMG1');
    expect(ref).toEqual({
      directPath: '/v/t62.7118-24/new.enc?oh=2',
      url: 'https://mmg.whatsapp.net/v/t62.7118-24/new.enc?oh=2',
      mediaKey: MEDIA_KEY.toString('base64'),
      fileEncSha256: null,
      fileSha256: null,
      fileLength: 1234,
    });
    // It crosses to the supervisor by structured clone.
    expect(structuredClone(ref)).toEqual(ref);
    expect(sock.asked).toHaveLength(1);
    expect(sock.asked[0]?.key).toEqual({ remoteJid: PEER, id: 'IMG1', fromMe: false });
    expect(Buffer.from(sock.asked[0]!.message!.imageMessage!.mediaKey!)).toEqual(MEDIA_KEY);
    expect((await store.getMessage(ACCOUNT, 'IMG1'))?.media?.url).toBe(OLD_URL);
  });

  it('NOT_FOUND for an unknown message, MEDIA_UNAVAILABLE for one without media', async () => {
    await startActor('baileys', new MediaSocketDouble());
    sock.open();
    expect(await codeOf(actor.updateMediaMessage('NOPE'))).toBe('NOT_FOUND');
    expect(await codeOf(actor.updateMediaMessage('TXT1'))).toBe('MEDIA_UNAVAILABLE');
    expect(sock.asked).toHaveLength(0);
  });

  it('NOT_CONNECTED before the connection is open', async () => {
    await startActor('baileys', new MediaSocketDouble());
    expect(await codeOf(actor.updateMediaMessage('IMG1'))).toBe('NOT_CONNECTED');
  });

  it('MEDIA_UNAVAILABLE on a socket that cannot ask for re-uploads (the simulated phone)', async () => {
    await startActor('sim', new SimLikeSocket());
    sock.open();
    await expect(actor.updateMediaMessage('IMG1')).rejects.toMatchObject({
      code: 'MEDIA_UNAVAILABLE',
      message: /sim connector cannot ask a phone/,
    });
  });

  it('MEDIA_UNAVAILABLE when the phone cannot re-upload the file', async () => {
    await startActor('baileys', new MediaSocketDouble());
    sock.open();
    sock.reupload = async () => {
      // Baileys' Boom for a MediaRetryNotification other than SUCCESS.
      throw Object.assign(new Error('Media re-upload failed by device (NOT_FOUND)'), { output: { statusCode: 404 } });
    };
    await expect(actor.updateMediaMessage('IMG1')).rejects.toMatchObject({ code: 'MEDIA_UNAVAILABLE', message: /could not re-upload/ });
  });

  it('NOT_CONNECTED when the connection closes while waiting for the phone', async () => {
    await startActor('baileys', new MediaSocketDouble());
    sock.open();
    sock.reupload = async () => {
      sock.close(428);
      throw Object.assign(new Error('Connection Closed'), { output: { statusCode: 428 } });
    };
    expect(await codeOf(actor.updateMediaMessage('IMG1'))).toBe('NOT_CONNECTED');
  });

  it('ACTOR_TIMEOUT when the phone never answers (Baileys would wait forever)', async () => {
    await startActor('baileys', new MediaSocketDouble(), 100);
    sock.open();
    sock.reupload = () => new Promise<WAMessage>(() => undefined);
    const started = Date.now();
    expect(await codeOf(actor.updateMediaMessage('IMG1'))).toBe('ACTOR_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
