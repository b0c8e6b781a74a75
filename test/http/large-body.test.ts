import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.store.createAccount({ id: 'acc-big' });
});
afterAll(async () => {
  await h.stop();
});

/** A plain node:http client (as curl does: it writes the whole body, then reads), on a fresh connection. */
function post(path: string, body: Buffer, chunked: boolean): Promise<{ status: number | 'reset'; text: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      `${h.base}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: {
          ...AUTH,
          'content-type': 'application/json',
          ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': body.length }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', () => resolve({ status: 'reset', text: '' }));
    if (chunked) {
      for (let i = 0; i < body.length; i += 256 * 1024) req.write(body.subarray(i, i + 256 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

describe('a body over the limit is answered 413, never with a reset', () => {
  const big = Buffer.alloc(5 * 1024 * 1024, 'x');

  it.each([
    ['Content-Length', false],
    ['chunked', true],
  ] as const)(
    '5 MiB (%s), 40 tries: every one reads the JSON 413',
    async (_kind, chunked) => {
      const results: Array<number | 'reset'> = [];
      for (let i = 0; i < 40; i++) {
        const r = await post('/api/whatsapp/send', big, chunked);
        results.push(r.status);
        if (r.status === 413) expect(JSON.parse(r.text)).toMatchObject({ success: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
      }
      expect(results.filter((s) => s !== 413)).toEqual([]);
      // The server is fine afterwards.
      const ok = await fetch(`${h.base}/api/whatsapp/accounts`, { headers: AUTH });
      expect(ok.status).toBe(200);
    },
    120_000,
  );

  it('fetch (undici), 5 MiB, 20 tries', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${h.base}/api/whatsapp/send`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: big,
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    }
  }, 120_000);
});
