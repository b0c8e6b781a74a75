import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/http/server.js';
import { AUTH, rawRequest, startHarness, type Harness } from './harness.js';

/** A small seeded generator: the same run every time, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACC = 'acc-fuzz';
const NASTY = [
  '',
  '%',
  '%00',
  '%zz',
  '..',
  '../../etc/passwd',
  '%2F',
  'é',
  '\u{1F600}',
  'a'.repeat(300),
  ' ',
  '?',
  '#',
  ';',
  '*',
  '{}',
  '[]',
  '"',
  "'",
  '\\',
  '-1',
  '1e309',
  'NaN',
  'null',
];
const BODIES = [
  '',
  '{',
  '}',
  'null',
  '[]',
  '"x"',
  '1',
  '{"accountId":1}',
  '{"accountId":"acc-fuzz","to":[],"text":{}}',
  '{"accountId":"acc-fuzz","to":"1@g.us","text":"x"}',
  '{"accountId":"acc-fuzz","to":"40712345678","text":""}',
  '{"scopes":["read","root"]}',
  '{"phoneNumber":"abc"}',
  '{"__proto__":{"x":1}}',
  '\u0000\u0001',
  '\xff\xfe',
  '{"a":'.repeat(50),
];
const QUERIES = [
  '',
  '?limit=-1',
  '?limit=abc',
  '?limit=100000',
  '?cursor=%%%',
  '?cursor=eyJ4Ijox',
  '?order=up',
  '?orderBy=x',
  '?purge=maybe',
  '?a=1&a=2',
  '?limit=1e3',
];
const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'];

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.store.createAccount({ id: ACC });
});
afterAll(async () => {
  await h.stop();
});

/**
 * Requests malformed for the application, on well-formed HTTP/1.1 request lines: a request line or a
 * header uWebSockets.js itself refuses (raw spaces or non-ASCII in the path, a Content-Length that is
 * not a number, HTTP/1.0) never reaches wasync and gets uWS's own answer (README, Bad requests).
 */
describe('fuzz: malformed requests against every route', () => {
  it('3,000 requests: never a 5xx, every error a JSON error, the server still healthy', async () => {
    const random = rng(14);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const failures: string[] = [];
    let done = 0;
    const started = Date.now();
    const one = async (): Promise<void> => {
      const route = pick(ROUTES);
      const path = route.pattern
        .split('/')
        .map((seg) => (seg.startsWith(':') ? (random() < 0.6 ? encodeURIComponent(pick(NASTY)) || 'x' : ACC) : seg))
        .join('/');
      const method = random() < 0.7 ? route.method.toUpperCase() : pick(METHODS);
      const body = random() < 0.6 ? pick(BODIES) : undefined;
      const headers: Record<string, string> = { host: 'x' };
      if (random() < 0.85) headers.authorization = AUTH.authorization;
      else if (random() < 0.5) headers.authorization = pick(['Bearer', 'Bearer wsk_zz', 'Basic abc', `Bearer ${'x'.repeat(500)}`]);
      if (body !== undefined) {
        headers['content-type'] = pick(['application/json', 'text/plain', '']);
        headers['content-length'] = random() < 0.9 ? String(Buffer.byteLength(body, 'latin1')) : pick(['99999999999', '0', '70000']);
      }
      if (random() < 0.2) headers.range = pick(['bytes=', 'bytes=5-1', 'bytes=-0', 'chars=1-2', 'bytes=0-1,2-3']);
      if (random() < 0.1) headers['if-none-match'] = pick(['*', '"x"', 'W/"y"']);
      const head = `${method} ${path}${pick(QUERIES)} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`;
      const declared = Number(headers['content-length']);
      // A body shorter than announced would make the server wait for the rest: send what was announced when it is small.
      const payload =
        body === undefined
          ? ''
          : Number.isFinite(declared) && declared >= 0 && declared < 100_000
            ? body.padEnd(declared, ' ').slice(0, declared)
            : body;
      let r: Awaited<ReturnType<typeof rawRequest>>;
      try {
        r = await rawRequest(h.port, Buffer.from(head + payload, 'latin1'), { timeoutMs: 3_000 });
      } catch (err) {
        // An announced body that never fully comes is the client's problem; uWS may keep waiting.
        if (!/timed out/.test(String(err)) || !(declared > payload.length)) failures.push(`${method} ${path}: ${String(err)}`);
        return;
      } finally {
        done += 1;
      }
      if (r.status >= 500) failures.push(`${method} ${path} → ${r.status} ${r.body.slice(0, 200)}`);
      if (r.status >= 400 && method !== 'HEAD') {
        const isJson = /\r\ncontent-type: application\/json/i.test(r.head);
        let shaped = false;
        try {
          const parsed = JSON.parse(r.body) as { success?: unknown; error?: { code?: unknown; message?: unknown } };
          shaped = parsed.success === false && typeof parsed.error?.code === 'string' && typeof parsed.error.message === 'string';
        } catch {
          shaped = false;
        }
        if (!isJson || !shaped) failures.push(`${method} ${path} → ${r.status} not a JSON error: ${r.body.slice(0, 120)}`);
      }
    };
    const N = 3_000;
    const workers = Array.from({ length: 16 }, async () => {
      while (done < N) await one();
    });
    await Promise.all(workers);
    console.log(`fuzz: ${done} requests in ${Date.now() - started} ms`);
    expect(failures.slice(0, 20)).toEqual([]);
    const health = await fetch(`${h.base}/health`);
    expect(health.status).toBe(200);
  }, 120_000);
});
