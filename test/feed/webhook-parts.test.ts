import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressRefusedError, checkWebhookUrl, refusal } from '../../src/feed/webhooks/address-guard.js';
import { WebhookClient } from '../../src/feed/webhooks/client.js';
import { deliveryId, signatureHeader, verifySignature } from '../../src/feed/webhooks/signature.js';
import { batchEnd, cursorPosition, decodeCursor, encodeCursor, readAfterSeq } from '../../src/feed/position.js';

/** The webhook parts on their own: addresses refused, the HTTP client's classification, signatures; cursors. */

describe('SSRF guard', () => {
  it.each([
    ['169.254.169.254', true, 'metadata'],
    ['169.254.170.2', true, 'metadata'],
    ['fd00:ec2::254', true, 'metadata'],
    ['0.0.0.0', true, 'metadata'],
    ['224.0.0.1', true, 'metadata'],
    ['127.0.0.1', false, 'loopback'],
    ['10.1.2.3', false, 'loopback'],
    ['172.20.0.1', false, 'loopback'],
    ['192.168.1.1', false, 'loopback'],
    ['169.254.1.1', false, 'loopback'],
    ['100.64.0.1', false, 'loopback'],
    ['::1', false, 'loopback'],
    ['fe80::1', false, 'loopback'],
    ['fc00::1', false, 'loopback'],
    ['::ffff:10.0.0.1', false, 'loopback'],
    ['::ffff:169.254.169.254', true, 'metadata'],
  ])('%s is refused (always: %s)', (address, always, kind) => {
    expect(refusal(address, false)).toMatch(kind === 'metadata' ? /metadata/ : /WEBHOOK_ALLOW_PRIVATE/);
    if (always) expect(refusal(address, true)).not.toBeNull();
    else expect(refusal(address, true)).toBeNull();
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1'])('%s is public', (address) => {
    expect(refusal(address, false)).toBeNull();
  });

  it('checks the URL itself: scheme, credentials, IP literals', () => {
    expect(() => checkWebhookUrl('gopher://example.com/', false)).toThrow(AddressRefusedError);
    expect(() => checkWebhookUrl('https://u:p@example.com/', false)).toThrow(/credentials/);
    expect(() => checkWebhookUrl('http://127.0.0.1:8080/', false)).toThrow(/ALLOW_PRIVATE/);
    expect(() => checkWebhookUrl('http://[::1]/', false)).toThrow(AddressRefusedError);
    expect(checkWebhookUrl('http://127.0.0.1:8080/', true).port).toBe('8080');
    expect(checkWebhookUrl('https://hooks.example.com/x', false).hostname).toBe('hooks.example.com');
  });
});

describe('WebhookClient', () => {
  let server: http.Server;
  let port = 0;
  let respond: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, r) => r.end();
  beforeAll(async () => {
    server = http.createServer((req, res) => respond(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const client = (o: Partial<ConstructorParameters<typeof WebhookClient>[0]> = {}) =>
    new WebhookClient({ allowPrivate: true, connectTimeoutMs: 1000, timeoutMs: 1000, ...o });

  it.each([
    [200, true, false],
    [204, true, false],
    [301, false, false],
    [400, false, false],
    [404, false, false],
    [410, false, false],
    [408, false, true],
    [429, false, true],
    [500, false, true],
    [503, false, true],
  ])('HTTP %i: delivered %s, retryable %s', async (status, ok, retryable) => {
    respond = (_req, res) => {
      res.writeHead(status, status === 429 ? { 'retry-after': '7' } : {});
      res.end('body');
    };
    const c = client();
    const out = await c.post(`http://127.0.0.1:${port}/x`, '{}', { 'content-type': 'application/json' });
    c.close();
    expect(out.ok).toBe(ok);
    if (!out.ok) {
      expect(out.retryable).toBe(retryable);
      expect(out.status).toBe(status);
      if (status === 429) expect(out.retryAfterMs).toBe(7000);
    }
  });

  it('times out a receiver that does not answer; refuses loopback names unless allowed, without connecting', async () => {
    let hits = 0;
    respond = () => {
      hits++;
    };
    const slow = client({ timeoutMs: 300 });
    const out = await slow.post(`http://127.0.0.1:${port}/x`, '{}', {});
    slow.close();
    expect(out).toMatchObject({ ok: false, retryable: true });
    expect(!out.ok && out.error).toMatch(/no answer within 300 ms/);
    const strict = client({ allowPrivate: false });
    const before = hits;
    const byName = await strict.post(`http://localhost:${port}/x`, '{}', {});
    const byIp = await strict.post(`http://127.0.0.1:${port}/x`, '{}', {});
    strict.close();
    expect(byName).toMatchObject({ ok: false, retryable: false });
    expect(!byName.ok && byName.error).toMatch(/address refused/);
    expect(byIp).toMatchObject({ ok: false, retryable: false });
    expect(hits).toBe(before);
  });

  it('a connection that cannot be made is retryable', async () => {
    const c = client();
    const out = await c.post('http://127.0.0.1:1/x', '{}', {});
    c.close();
    expect(out).toMatchObject({ ok: false, status: null, retryable: true });
  });
});

describe('signatures and ids', () => {
  it('HMAC-SHA256 over "timestamp.body", as the README snippet verifies it', () => {
    const header = signatureHeader('whsec_abc', 1_700_000_000, '{"a":1}');
    const expected = createHmac('sha256', 'whsec_abc').update('1700000000.{"a":1}').digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
    expect(verifySignature('whsec_abc', header, '{"a":1}', 1_700_000_010)).toBe(true);
    expect(verifySignature('whsec_abc', header, '{"a":2}', 1_700_000_010)).toBe(false);
    expect(verifySignature('other', header, '{"a":1}', 1_700_000_010)).toBe(false);
    expect(verifySignature('whsec_abc', header, '{"a":1}', 1_700_001_000)).toBe(false);
  });

  it('a delivery id is stable for an endpoint and an event, and differs otherwise', () => {
    expect(deliveryId('wh_1', 'evt_1')).toBe(deliveryId('wh_1', 'evt_1'));
    expect(deliveryId('wh_1', 'evt_1')).not.toBe(deliveryId('wh_2', 'evt_1'));
    expect(deliveryId('wh_1', 'evt_1')).not.toBe(deliveryId('wh_1', 'evt_2'));
  });
});

describe('cursors', () => {
  it('round-trip, compress when long, and refuse anything else', () => {
    const one = { kind: 'account' as const, epoch: 'e1', accountId: 'acc', position: batchEnd(42) };
    expect(decodeCursor(encodeCursor(one))).toEqual(one);
    const many = {
      kind: 'all' as const,
      epoch: 'e1',
      positions: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`account_prod_${i}`, i * 70_000])),
    };
    const encoded = encodeCursor(many);
    expect(encoded[0]).toBe('z');
    expect(decodeCursor(encoded)).toEqual(many);
    for (const bad of [
      '',
      'x',
      'jnotbase64!',
      `j${Buffer.from('[2,"e","a","x",1]').toString('base64url')}`,
      `j${Buffer.from('[1,"e","a","x",-1]').toString('base64url')}`,
      42,
      null,
    ]) {
      expect(() => decodeCursor(bad)).toThrow(/malformed cursor/);
    }
  });

  it('positions: the last event of a batch stands for the whole batch', () => {
    expect(cursorPosition(7, 2, 3)).toBe(batchEnd(7));
    expect(cursorPosition(7, 1, 3)).toBe(7 * 65536 + 1);
    expect(readAfterSeq(batchEnd(7))).toBe(7);
    expect(readAfterSeq(7 * 65536 + 1)).toBe(6);
  });
});
