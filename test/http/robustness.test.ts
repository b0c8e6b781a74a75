import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { threadIdOf } from '../../src/domain/records.js';
import { ROUTES } from '../../src/http/server.js';
import type { Store, StoreHealth } from '../../src/store/port.js';
import { AUTH, call, get, isErrorBody, startHarness, type Harness } from './harness.js';

const ACC = 'acc-robust';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  await h.store.createAccount({ id: ACC });
});

afterEach(async () => {
  // uWS 20 throws instead of aborting the process on a touch after abort; the server logs that at error.
  const errors = h.errors();
  await h.stop();
  expect(errors).toEqual([]);
});

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Collects what the server sends until it closes the connection (or the deadline passes). */
function readUntilClose(socket: Socket, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error('server kept the connection open')), timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

async function healthy(): Promise<void> {
  const r = await call(h.base, '/health', { auth: false });
  expect(r.status).toBe(200);
}

describe('every route answers', () => {
  it('each route in the table gives a JSON, metrics or export answer within the deadline', async () => {
    const thread = encodeURIComponent(threadIdOf(ACC, '40712345678@s.whatsapp.net'));
    for (const route of ROUTES) {
      const path = route.pattern.replace(':accountId', ACC).replace(':threadId', thread);
      const r = await call(h.base, path, {
        method: route.method.toUpperCase(),
        ...(route.body
          ? { body: JSON.stringify({ accountId: `new-${route.method}`, to: '40712345678', text: 'x', phoneNumber: '40712345678' }) }
          : {}),
      });
      expect(r.status, `${route.method} ${route.pattern}`).toBeGreaterThanOrEqual(200);
      // An export is JSON Lines (here, of an account without messages: empty); /metrics is text.
      if (route.pattern.startsWith('/api/whatsapp/export/')) expect(r.status, route.pattern).toBe(200);
      else if (route.pattern !== '/metrics') expect(typeof r.body, route.pattern).toBe('object');
      if (r.status >= 400) expect(isErrorBody(r.body), route.pattern).toBe(true);
    }
  });

  it('200 concurrent requests all answer', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => call(h.base, i % 2 ? `/api/whatsapp/threads/${ACC}` : '/api/whatsapp/accounts')),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
  });
});

describe('request bodies', () => {
  it("a body that arrives in many pieces is reassembled byte for byte (uWS reuses each chunk's buffer)", async () => {
    const text = Array.from({ length: 6_000 }, (_, i) => String(i % 10))
      .join('')
      .repeat(10); // 60,000 chars
    const body = Buffer.from(JSON.stringify({ accountId: ACC, to: '40712345678', text }));
    const socket = await openSocket(h.port);
    const answer = readUntilClose(socket);
    socket.write(
      `POST /api/whatsapp/send HTTP/1.1\r\nhost: x\r\nconnection: close\r\n` +
        `authorization: ${AUTH.authorization}\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    for (let off = 0; off < body.length; off += 7_000) {
      socket.write(body.subarray(off, off + 7_000));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await answer).toMatch(/^HTTP\/1\.1 202 /);
    const [stored] = (await h.store.listMessages(ACC, threadIdOf(ACC, '40712345678@s.whatsapp.net'), { limit: 1 })).items;
    expect(stored?.body).toBe(text);
  });

  it('a body of exactly maxBodyBytes is accepted; one byte more is 413', async () => {
    const make = (size: number): string => {
      const base = JSON.stringify({ accountId: ACC, to: '40712345678', text: '' });
      return JSON.stringify({ accountId: ACC, to: '40712345678', text: 'y'.repeat(size - base.length) });
    };
    const exact = await call(h.base, '/api/whatsapp/send', { method: 'POST', body: make(64 * 1024) });
    expect(exact.status).toBe(202);
    const over = await call(h.base, '/api/whatsapp/send', { method: 'POST', body: make(64 * 1024 + 1) });
    expect(over.status).toBe(413);
    expect(await h.store.countMessages(ACC)).toBe(1);
  });
});

describe('clients that go away', () => {
  it('a partial POST with a large Content-Length, then a dropped socket, does not crash the server', async () => {
    const socket = await openSocket(h.port);
    socket.write(
      `POST /api/whatsapp/send HTTP/1.1\r\nhost: x\r\nauthorization: ${AUTH.authorization}\r\n` +
        `content-type: application/json\r\ncontent-length: 60000\r\n\r\n{"accountId":"${ACC}","to":"407`,
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await healthy();
    expect(h.accounts.calls.some((c) => c.op === 'send')).toBe(false);
    expect(h.observed.some((o) => o.route === 'POST /api/whatsapp/send' && o.status === 499)).toBe(true);
  });

  it('a client that leaves while the handler is still working: the late answer is dropped, not written', async () => {
    let release!: () => void;
    h.accounts.sendGate = new Promise<void>((r) => (release = r));
    const socket = await openSocket(h.port);
    const body = JSON.stringify({ accountId: ACC, to: '40712345678', text: 'late' });
    socket.write(
      `POST /api/whatsapp/send HTTP/1.1\r\nhost: x\r\nauthorization: ${AUTH.authorization}\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // Wait until the service holds the request, then drop the client and let the service finish.
    for (let i = 0; i < 100 && !h.accounts.calls.some((c) => c.op === 'send'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(h.accounts.calls.some((c) => c.op === 'send')).toBe(true);
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    release();
    await new Promise((r) => setTimeout(r, 50));
    await healthy();
    // The send itself went through; only its answer had nowhere to go.
    expect(await h.store.countMessages(ACC)).toBe(1);
    expect(h.observed.filter((o) => o.route === 'POST /api/whatsapp/send').map((o) => o.status)).toEqual([499]);
  });

  it('a fetch aborted mid-flight does not crash the server', async () => {
    let release!: () => void;
    h.accounts.sendGate = new Promise<void>((r) => (release = r));
    const controller = new AbortController();
    const pending = fetch(`${h.base}/api/whatsapp/send`, {
      method: 'POST',
      headers: AUTH,
      body: JSON.stringify({ accountId: ACC, to: '40712345678', text: 'x' }),
      signal: controller.signal,
    }).catch((err: unknown) => err);
    for (let i = 0; i < 100 && !h.accounts.calls.some((c) => c.op === 'send'); i++) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    release();
    await new Promise((r) => setTimeout(r, 50));
    await healthy();
  });

  it('a chunked body that grows past the limit gets 413 (Connection: close) while it is still being sent, never a reset', async () => {
    const socket = await openSocket(h.port);
    let text = '';
    let reset = false;
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => (reset = true));
    socket.write(
      `POST /api/whatsapp/send HTTP/1.1\r\nhost: x\r\nauthorization: ${AUTH.authorization}\r\ntransfer-encoding: chunked\r\n\r\n`,
    );
    let sent = 0;
    const chunk = 'x'.repeat(8 * 1024);
    // Keep sending until the server answers: it must not wait for the end of a body it will refuse.
    while (!text.includes('PAYLOAD_TOO_LARGE') && sent < 4 * 1024 * 1024 && !socket.destroyed) {
      socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      sent += chunk.length;
      await new Promise((r) => setTimeout(r, 1));
    }
    // The client may go on sending what it had started: the server reads it and throws it away.
    for (let i = 0; i < 50; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    socket.end('0\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(text).toContain('"PAYLOAD_TOO_LARGE"');
    expect(sent).toBeLessThan(1024 * 1024);
    expect(reset).toBe(false);
    socket.destroy();
    await healthy();
    expect(await h.store.countMessages(ACC)).toBe(0);
  });

  it('a slow client whose headers never end blocks no one and reaches no handler', async () => {
    const before = h.observed.length;
    const socket = await openSocket(h.port);
    socket.on('error', () => undefined);
    // No blank line: the request never completes.
    socket.write(`GET /api/whatsapp/threads/${ACC} HTTP/1.1\r\nhost: x\r\n`);
    await new Promise((r) => setTimeout(r, 20));
    const others = await Promise.all([call(h.base, `/api/whatsapp/threads/${ACC}`), call(h.base, '/api/whatsapp/accounts')]);
    expect(others.map((r) => r.status)).toEqual([200, 200]);
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    // Only the two complete requests reached a route; the half request left no trace.
    expect(
      h.observed
        .slice(before)
        .map((o) => `${o.route} ${o.status}`)
        .sort(),
    ).toEqual(['GET /api/whatsapp/accounts 200', 'GET /api/whatsapp/threads/:accountId 200']);
    await healthy();
  });
});

describe('shutdown', () => {
  it('drain(): every request, open routes included, answers 503 SHUTTING_DOWN', async () => {
    h.server.drain();
    expect(h.server.draining).toBe(true);
    for (const [path, auth] of [
      ['/health', false],
      ['/ready', false],
      [`/api/whatsapp/threads/${ACC}`, true],
    ] as const) {
      const r = await call(h.base, path, { auth });
      expect(r.status, path).toBe(503);
      expect(isErrorBody(r.body) && r.body.error.code).toBe('SHUTTING_DOWN');
    }
  });

  it('close(): no new connections; a kept-alive connection gets 503 SHUTTING_DOWN', async () => {
    const socket = await openSocket(h.port);
    const responses: Buffer[] = [];
    socket.on('data', (d: Buffer) => responses.push(d));
    socket.write(get('/health', {}));
    for (let i = 0; i < 100 && responses.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(responses).toString()).toMatch(/^HTTP\/1\.1 200 /);
    responses.length = 0;

    h.server.close();
    await expect(fetch(`${h.base}/health`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();

    socket.write(get('/health', {}));
    for (let i = 0; i < 100 && responses.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const second = Buffer.concat(responses).toString();
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toContain('"SHUTTING_DOWN"');
    socket.destroy();
  });
});

/** The real store, seen through a different health report (and backend name). */
function withHealth(real: Store, backend: Store['backend'], health: () => Promise<StoreHealth>): Store {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'backend') return backend;
      if (prop === 'health') return health;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('/health', () => {
  it("firestore backend: `.firestore.status` is there for the runbook's jq check", async () => {
    const fs = await startHarness({
      wrapStore: (s) => withHealth(s, 'firestore', async () => ({ status: 'ok', backend: 'firestore', latencyMs: 12.3456 })),
    });
    try {
      const r = await call(fs.base, '/health', { auth: false });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        status: 'ok',
        store: { backend: 'firestore', status: 'ok', latencyMs: 12.35 },
        firestore: { status: 'ok' },
      });
    } finally {
      await fs.stop();
    }
  });

  it('an unhealthy store is 503 with status error, and its detail is not shown', async () => {
    const bad = await startHarness({
      wrapStore: (s) =>
        withHealth(s, 'firestore', async () => ({
          status: 'error',
          backend: 'firestore',
          latencyMs: 1,
          detail: '/secret/creds.json unreadable',
        })),
    });
    try {
      const r = await call(bad.base, '/health', { auth: false });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ status: 'error', firestore: { status: 'error' } });
      expect(JSON.stringify(r.body)).not.toContain('secret');
    } finally {
      await bad.stop();
    }
  });

  it('a store whose health check throws is 503, not 500', async () => {
    const bad = await startHarness({ wrapStore: (s) => withHealth(s, 'sqlite', () => Promise.reject(new Error('database is locked'))) });
    try {
      const r = await call(bad.base, '/health', { auth: false });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ status: 'error', store: { backend: 'sqlite', status: 'error' } });
    } finally {
      await bad.stop();
    }
  });

  it('/metrics without a metrics registry is a JSON 404', async () => {
    const bare = await startHarness({ withMetrics: false });
    try {
      const r = await call(bare.base, '/metrics', { auth: false });
      expect(r.status).toBe(404);
      expect(isErrorBody(r.body)).toBe(true);
    } finally {
      await bare.stop();
    }
  });
});
