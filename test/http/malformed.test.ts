import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadIdOf } from '../../src/domain/records.js';
import { makeMessage } from '../support/records.js';
import { AUTH, rawRequest, startHarness, TOKEN, type Harness } from './harness.js';

const ACC = 'acc-malformed';
const JID = '40712345678@s.whatsapp.net';
const THREAD = encodeURIComponent(threadIdOf(ACC, JID));

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.store.createAccount({ id: ACC });
  await h.store.applyMutations(
    ACC,
    Array.from({ length: 5 }, (_, i) => ({
      kind: 'message' as const,
      record: makeMessage({ id: `BAD${i}`, accountId: ACC, clientJid: JID }),
    })),
  );
});

afterAll(async () => {
  const errors = h.errors();
  await h.stop();
  expect(errors).toEqual([]);
});

/** Everything a refused request must leave as it was. */
async function snapshot(): Promise<string> {
  const accounts = await h.store.listAccounts();
  const out: Record<string, unknown> = {};
  for (const a of accounts) {
    const threads = await h.store.listThreads(a.id, { limit: 500 });
    out[a.id] = { messages: await h.store.countMessages(a.id), threads: threads.items.map((t) => t.id) };
  }
  return JSON.stringify(out);
}

function request(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; auth?: boolean } = {},
): Buffer {
  const headers: Record<string, string> = { host: 'localhost', ...(opts.auth === false ? {} : AUTH), ...opts.headers };
  if (opts.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) {
    headers['content-length'] = String(Buffer.byteLength(opts.body));
  }
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body)]);
}

const json = { 'content-type': 'application/json' };
const T = `/api/whatsapp/threads/${ACC}`;
const M = `/api/whatsapp/messages/${ACC}/${THREAD}`;
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

interface Row {
  name: string;
  req: Buffer;
  status: number;
  code: string;
}

const rows: Row[] = [
  // Bodies
  {
    name: 'truncated JSON',
    req: request('POST', '/api/whatsapp/accounts', { headers: json, body: '{"accountId":' }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'JSON with trailing junk',
    req: request('POST', '/api/whatsapp/send', { headers: json, body: '{"accountId":"a"} x' }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'invalid UTF-8 body',
    req: request('POST', '/api/whatsapp/accounts', { headers: json, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'JSON array body',
    req: request('POST', '/api/whatsapp/accounts', { headers: json, body: '["x"]' }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'JSON null body', req: request('POST', '/api/whatsapp/send', { headers: json, body: 'null' }), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'send with wrong types',
    req: request('POST', '/api/whatsapp/send', { headers: json, body: JSON.stringify({ accountId: 1, to: 2, text: 3 }) }),
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'huge body (100 KiB > 64 KiB)',
    req: request('POST', '/api/whatsapp/send', {
      headers: json,
      body: JSON.stringify({ accountId: ACC, to: '407', text: 'x'.repeat(100 * 1024) }),
    }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'Content-Length announces 10 MB, nothing sent',
    req: request('POST', '/api/whatsapp/accounts', { headers: { ...json, 'content-length': '10000000' } }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  // Routing
  { name: 'unknown /api route', req: request('GET', '/api/nope'), status: 404, code: 'NOT_FOUND' },
  // `/` is the console's page (test/http/console-static.test.ts); other paths outside the API stay JSON 404s.
  { name: 'unknown path outside /api', req: request('GET', '/nope'), status: 404, code: 'NOT_FOUND' },
  { name: 'route missing its parameter', req: request('GET', `/api/whatsapp/messages/${ACC}`), status: 404, code: 'NOT_FOUND' },
  { name: 'trailing segment', req: request('GET', '/health/x'), status: 404, code: 'NOT_FOUND' },
  { name: 'wrong method on threads', req: request('DELETE', T), status: 405, code: 'METHOD_NOT_ALLOWED' },
  {
    name: 'wrong method on send',
    req: request('PUT', '/api/whatsapp/send', { headers: json, body: '{}' }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
  },
  {
    name: 'wrong method on /health (open, no token)',
    req: request('POST', '/health', { auth: false }),
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
  },
  // Path tricks in ids
  { name: '..%2F in accountId', req: request('GET', `/api/whatsapp/threads/..%2Fetc`), status: 400, code: 'BAD_REQUEST' },
  { name: 'literal .. as accountId', req: request('GET', `/api/whatsapp/threads/..`), status: 400, code: 'BAD_REQUEST' },
  { name: '%2e%2e as accountId', req: request('GET', `/api/whatsapp/threads/%2e%2e`), status: 400, code: 'BAD_REQUEST' },
  { name: '%2F inside accountId', req: request('GET', `/api/whatsapp/accounts/a%2Fb`), status: 400, code: 'BAD_REQUEST' },
  { name: 'backslash in accountId', req: request('GET', `/api/whatsapp/accounts/a%5Cb`), status: 400, code: 'BAD_REQUEST' },
  { name: '%00 in accountId', req: request('GET', `/api/whatsapp/threads/acc%00`), status: 400, code: 'BAD_REQUEST' },
  { name: 'CRLF in accountId', req: request('GET', `/api/whatsapp/threads/acc%0d%0aX-Injected:%201`), status: 400, code: 'BAD_REQUEST' },
  { name: 'bad %-escape (%zz)', req: request('GET', `/api/whatsapp/threads/acc%zz`), status: 400, code: 'BAD_REQUEST' },
  { name: 'truncated UTF-8 escape', req: request('GET', `/api/whatsapp/threads/acc%E0%A4%A`), status: 400, code: 'BAD_REQUEST' },
  { name: 'over-long accountId', req: request('GET', `/api/whatsapp/threads/${'a'.repeat(101)}`), status: 400, code: 'BAD_REQUEST' },
  { name: 'over-long threadId', req: request('GET', `/api/whatsapp/messages/${ACC}/${'t'.repeat(401)}`), status: 400, code: 'BAD_REQUEST' },
  { name: '..%2F in threadId', req: request('GET', `/api/whatsapp/messages/${ACC}/..%2F..%2Faccounts`), status: 400, code: 'BAD_REQUEST' },
  { name: '%00 in threadId', req: request('GET', `/api/whatsapp/messages/${ACC}/${THREAD}%00`), status: 400, code: 'BAD_REQUEST' },
  { name: 'empty accountId', req: request('GET', `/api/whatsapp/threads/`), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'path trick on DELETE',
    req: request('DELETE', `/api/whatsapp/accounts/..%2F${ACC}?purge=true`),
    status: 400,
    code: 'BAD_REQUEST',
  },
  // Tokens
  { name: 'no token', req: request('GET', T, { auth: false }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'wrong token', req: request('GET', T, { headers: { authorization: 'Bearer nope' } }), status: 401, code: 'UNAUTHORIZED' },
  {
    name: 'token with a suffix',
    req: request('GET', T, { headers: { authorization: `Bearer ${TOKEN}x` } }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'token prefix only',
    req: request('GET', T, { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  { name: 'Basic scheme', req: request('GET', T, { headers: { authorization: `Basic ${TOKEN}` } }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'empty Bearer', req: request('GET', T, { headers: { authorization: 'Bearer ' } }), status: 401, code: 'UNAUTHORIZED' },
  {
    name: 'no token on a mutating route',
    req: request('DELETE', `/api/whatsapp/accounts/${ACC}?purge=true`, { auth: false }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'no token on send',
    req: request('POST', '/api/whatsapp/send', {
      auth: false,
      headers: json,
      body: JSON.stringify({ accountId: ACC, to: '40712345678', text: 'x' }),
    }),
    status: 401,
    code: 'UNAUTHORIZED',
  },
  { name: 'no token on /diag', req: request('GET', '/diag', { auth: false }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'no token on an unknown route', req: request('GET', '/api/nope', { auth: false }), status: 401, code: 'UNAUTHORIZED' },
  // Query parameters
  ...['0', '-1', '501', '1.5', 'abc', '', '1e2', '%20'].map((v) => ({
    name: `threads limit=${v}`,
    req: request('GET', `${T}?limit=${v}`),
    status: 400,
    code: 'BAD_REQUEST',
  })),
  ...['0', '-1', '501', '1.5', 'abc'].map((v) => ({
    name: `messages limit=${v}`,
    req: request('GET', `${M}?limit=${v}`),
    status: 400,
    code: 'BAD_REQUEST',
  })),
  { name: 'limit given twice', req: request('GET', `${T}?limit=1&limit=2`), status: 400, code: 'BAD_REQUEST' },
  { name: 'threads orderBy=createdAt', req: request('GET', `${T}?orderBy=createdAt`), status: 400, code: 'BAD_REQUEST' },
  { name: 'messages orderBy=lastMessageAt', req: request('GET', `${M}?orderBy=lastMessageAt`), status: 400, code: 'BAD_REQUEST' },
  { name: 'order=sideways', req: request('GET', `${T}?order=sideways`), status: 400, code: 'BAD_REQUEST' },
  { name: 'cursor not base64url', req: request('GET', `${T}?cursor=not*a*cursor`), status: 400, code: 'BAD_REQUEST' },
  { name: 'cursor of an object', req: request('GET', `${T}?cursor=${b64({ ts: 1, id: 'x' })}`), status: 400, code: 'BAD_REQUEST' },
  { name: 'cursor with a fractional ts', req: request('GET', `${M}?cursor=${b64([1.5, 'x'])}`), status: 400, code: 'BAD_REQUEST' },
  { name: 'cursor of junk bytes', req: request('GET', `${M}?cursor=AAAA`), status: 400, code: 'BAD_REQUEST' },
  { name: 'purge=yes', req: request('DELETE', `/api/whatsapp/accounts/${ACC}?purge=yes`), status: 400, code: 'BAD_REQUEST' },
];

describe('malformed requests', () => {
  it.each(rows)('$name → $status $code, data unchanged', async (row) => {
    const before = await snapshot();
    // A 413 is answered before the body is read; it says `Connection: close` and leaves the closing to the
    // client (closing first would reset a client still sending, which then often never reads the answer).
    const r = await rawRequest(h.port, row.req);
    expect(r.status).toBe(row.status);
    expect(r.head).toMatch(/\r\ncontent-type: application\/json/i);
    expect(JSON.parse(r.body)).toEqual({ success: false, error: { code: row.code, message: expect.any(String) } });
    if (row.status === 401) expect(r.head).toMatch(/\r\nwww-authenticate: Bearer/i);
    if (row.status === 405) expect(r.head).toMatch(/\r\nallow: [A-Z]+/i);
    if (row.status === 413) expect(r.head).toMatch(/\r\nconnection: close/i);
    expect(await snapshot()).toBe(before);
  });

  it('the same requests with the right inputs do succeed (the table is not refusing everything)', async () => {
    const ok = [
      request('GET', `${T}?limit=500&order=asc&orderBy=lastMessageAt`),
      request('GET', `${M}?limit=1&orderBy=createdAt`),
      request('GET', T, { headers: { authorization: `bearer   ${TOKEN}` } }),
      request('GET', '/health', { auth: false }),
    ];
    for (const req of ok) expect((await rawRequest(h.port, req)).status).toBe(200);
  });
});
