import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptedStream, proto } from '@whiskeysockets/baileys';
import type { MessageRecord } from '../../src/domain/records.js';
import { makeMessage } from '../support/records.js';
import { E2E_TOKEN, startTestApp, waitFor, type TestApp } from '../support/e2e.js';

/**
 * Media downloads through the real supervisor: the download runs on the HTTP thread, the re-upload
 * request crosses to the account's worker-thread actor over comlink. The actors run the simulated
 * phone, so the re-upload itself is refused there (MEDIA_UNAVAILABLE, from the worker): what is
 * proven is the wiring, thread hop and error codes included. The re-upload that succeeds is covered
 * by test/http/media.test.ts (socket double) and the actor's own test.
 */

const SIM = 'acc_media_sim';
/** Created through the API (so its actor runs), then marked as a real-WhatsApp account in the store. */
const REAL = 'acc_media_real';
/** Stored only: no actor runs for it. */
const PARKED = 'acc_media_parked';

describe('end to end: media through the supervisor', () => {
  let t: TestApp;
  let cdn: Server;
  let base: string;
  const plaintext = randomBytes(100_000);
  let enc: Awaited<ReturnType<typeof encryptedStream>>;

  const record = (accountId: string, id: string, url: string): MessageRecord =>
    makeMessage({
      id,
      accountId,
      messageType: 'image',
      contentType: 'imageMessage',
      mediaMimetype: 'image/png',
      rawMessage: proto.Message.encode({
        imageMessage: { url, mimetype: 'image/png', mediaKey: enc.mediaKey, fileLength: enc.fileLength },
      }).finish(),
      media: {
        url,
        directPath: null,
        mediaKey: enc.mediaKey.toString('base64'),
        fileEncSha256: null,
        fileSha256: null,
        fileLength: enc.fileLength,
      },
    });

  const media = async (
    accountId: string,
    messageId: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Buffer; json: unknown }> => {
    const res = await fetch(`${t.app.url}/api/whatsapp/media/${accountId}/${messageId}`, {
      headers: { authorization: `Bearer ${E2E_TOKEN}`, ...headers },
      signal: AbortSignal.timeout(10_000),
    });
    const body = Buffer.from(await res.arrayBuffer());
    const json = (res.headers.get('content-type') ?? '').startsWith('application/json')
      ? (JSON.parse(body.toString('utf8')) as unknown)
      : null;
    return { status: res.status, body, json };
  };

  beforeAll(async () => {
    enc = await encryptedStream(plaintext, 'image');
    const encrypted = readFileSync(enc.encFilePath);
    cdn = createServer((req, res) => {
      if (req.url === '/f/img') {
        const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        const start = range ? Number(range[1]) : 0;
        const end = range?.[2] ? Math.min(Number(range[2]), encrypted.length - 1) : encrypted.length - 1;
        res.writeHead(range ? 206 : 200).end(encrypted.subarray(start, end + 1));
      } else {
        res.writeHead(410).end();
      }
    });
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

    t = await startTestApp({ WA_SIM_CHATS: '0' });
    for (const id of [SIM, REAL]) expect((await t.api('POST', '/api/whatsapp/accounts', { accountId: id })).status).toBe(201);
    await t.app.store.patchAccount(REAL, { connector: 'baileys' });
    await t.app.store.createAccount({ id: PARKED, connector: 'baileys', status: 'logged_out' });
    await t.app.store.applyMutations(SIM, [{ kind: 'message', record: record(SIM, 'SIM_IMG', `${base}/f/img`) }]);
    for (const id of [REAL, PARKED]) {
      await t.app.store.applyMutations(id, [
        { kind: 'message', record: record(id, 'IMG', `${base}/f/img`) },
        { kind: 'message', record: record(id, 'EXPIRED', `${base}/gone/img`) },
      ]);
    }
    await waitFor('the actor to connect', async () => {
      const { json } = await t.api<{ account: { runtime: { connection: string } } }>('GET', `/api/whatsapp/accounts/${REAL}`);
      return json.account.runtime.connection === 'open' ? true : undefined;
    });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(enc.encFilePath, { force: true });
    cdn?.closeAllConnections();
    await new Promise((r) => cdn?.close(r));
  });

  it('downloads and decrypts on the HTTP side, whole or by range', async () => {
    const whole = await media(REAL, 'IMG');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(plaintext)).toBe(true);
    const part = await media(REAL, 'IMG', { range: 'bytes=99990-' });
    expect(part.status).toBe(206);
    expect(part.body.equals(plaintext.subarray(99_990))).toBe(true);
  });

  it('media still on the CDN downloads even with no actor running', async () => {
    const r = await media(PARKED, 'IMG');
    expect(r.status).toBe(200);
    expect(r.body.equals(plaintext)).toBe(true);
  });

  it('expired media: the re-upload request reaches the actor in its thread, whose answer (and code) comes back', async () => {
    const r = await media(REAL, 'EXPIRED');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({
      success: false,
      error: { code: 'MEDIA_UNAVAILABLE', message: 'the sim connector cannot ask a phone to re-upload media' },
    });
  });

  it('expired media with no actor to ask: 503 ACCOUNT_NOT_RUNNING', async () => {
    const r = await media(PARKED, 'EXPIRED');
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ error: { code: 'ACCOUNT_NOT_RUNNING' } });
  });

  it('an account on the simulated phone: 404 MEDIA_UNAVAILABLE without asking the CDN', async () => {
    const r = await media(SIM, 'SIM_IMG');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error: { code: 'MEDIA_UNAVAILABLE', message: expect.stringMatching(/simulated phone/) } });
  });

  it('an unknown message: 404 NOT_FOUND', async () => {
    const r = await media(REAL, 'NOPE');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
