import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../src/http/server.js';
import { ApiKeys, type Scope } from '../../src/supervisor/api-keys.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';
import { call, startHarness, TOKEN, type Harness } from './harness.js';

const ACC = 'acc-scoped';
const OTHER = 'acc-other';

/**
 * The scope every route needs, as the README's API table documents it: written out here rather than
 * read from the route table, so the test checks the server against the contract. A route missing here fails.
 */
const REQUIRED: Record<string, Scope> = {
  'GET /diag': 'admin',
  'GET /api/status/dashboard': 'admin',
  'GET /api/whatsapp/threads/:accountId': 'read',
  'GET /api/whatsapp/messages/:accountId/:threadId': 'read',
  'GET /api/whatsapp/export/:accountId': 'read',
  'GET /api/whatsapp/media/:accountId/:messageId': 'read',
  'GET /api/whatsapp/accounts': 'read',
  'POST /api/whatsapp/accounts': 'admin',
  'GET /api/whatsapp/accounts/:accountId': 'read',
  'DELETE /api/whatsapp/accounts/:accountId': 'admin',
  'POST /api/whatsapp/accounts/:accountId/regenerate-qr': 'admin',
  'GET /api/whatsapp/accounts/:accountId/qr': 'admin',
  'POST /api/whatsapp/accounts/:accountId/pairing-code': 'admin',
  'POST /api/whatsapp/backfill/:accountId': 'admin',
  'POST /api/whatsapp/send': 'send',
  'POST /api/whatsapp/api-keys': 'admin',
  'GET /api/whatsapp/api-keys': 'admin',
  'DELETE /api/whatsapp/api-keys/:keyId': 'admin',
  'POST /api/whatsapp/ws-ticket': 'read',
  'POST /api/whatsapp/webhooks': 'admin',
  'GET /api/whatsapp/webhooks': 'admin',
  'GET /api/whatsapp/webhooks/:id': 'admin',
  'DELETE /api/whatsapp/webhooks/:id': 'admin',
  'POST /api/whatsapp/webhooks/:id/redeliver': 'admin',
  'POST /api/whatsapp/webhooks/:id/reset': 'admin',
  'GET /api/whatsapp/instances': 'admin',
};
/** Routes that name no account: a key limited to accounts may not use them (the accounts list filters instead). */
const NO_ACCOUNT = new Set([
  'GET /diag',
  'GET /api/status/dashboard',
  'POST /api/whatsapp/accounts',
  'POST /api/whatsapp/api-keys',
  'GET /api/whatsapp/api-keys',
  'DELETE /api/whatsapp/api-keys/:keyId',
  'POST /api/whatsapp/webhooks',
  'GET /api/whatsapp/webhooks',
  'GET /api/whatsapp/webhooks/:id',
  'DELETE /api/whatsapp/webhooks/:id',
  'POST /api/whatsapp/webhooks/:id/redeliver',
  'POST /api/whatsapp/webhooks/:id/reset',
  'GET /api/whatsapp/instances',
]);
/** Routes that filter by the key's accounts instead of naming one: any key with the scope may call them. */
const FILTER = new Set(['GET /api/whatsapp/accounts', 'POST /api/whatsapp/ws-ticket']);

interface Who {
  name: string;
  scopes: Scope[];
  accounts: string[] | null;
}
const WHO: Who[] = [
  { name: 'read', scopes: ['read'], accounts: null },
  { name: 'send', scopes: ['send'], accounts: null },
  { name: 'admin', scopes: ['admin'], accounts: null },
  { name: 'read+send on ACC', scopes: ['read', 'send'], accounts: [ACC] },
  { name: 'admin on OTHER', scopes: ['admin'], accounts: [OTHER] },
];

let h: Harness;
let keysStore: TempStore;
let keys: ApiKeys;
const tokens = new Map<string, string>();

beforeAll(async () => {
  keysStore = await openTempStore('keys');
  keys = new ApiKeys(keysStore.store);
  h = await startHarness({ apiKeys: keys });
  await h.store.createAccount({ id: ACC });
  await h.store.createAccount({ id: OTHER });
  for (const w of WHO) tokens.set(w.name, (await keys.create({ name: w.name, scopes: w.scopes, accounts: w.accounts })).key);
});
afterAll(async () => {
  await h.stop();
  await keysStore.cleanup();
});

function requestFor(pattern: string, method = 'post'): { path: string; body?: string } {
  const path = pattern
    .replace(':accountId', ACC)
    .replace(':threadId', encodeURIComponent(`${ACC}__1@s.whatsapp.net`))
    .replace(':messageId', 'M1')
    .replace(':keyId', '0000000000000000')
    .replace(':id', 'wh-none');
  if (method !== 'post') return { path };
  if (pattern === '/api/whatsapp/send') return { path, body: JSON.stringify({ accountId: ACC, to: '40712345678', text: 'hi' }) };
  if (pattern.endsWith('/pairing-code')) return { path, body: JSON.stringify({ phoneNumber: '40712345678' }) };
  if (pattern === '/api/whatsapp/accounts') return { path, body: JSON.stringify({ accountId: 'created-by-test' }) };
  if (pattern === '/api/whatsapp/api-keys') return { path, body: JSON.stringify({ scopes: ['read'] }) };
  return { path };
}

describe('every route × every scope', () => {
  const protectedRoutes = ROUTES.filter((r) => !r.open).map((r) => `${r.method.toUpperCase()} ${r.pattern}`);

  it('the table covers every protected route', () => {
    expect(protectedRoutes.sort()).toEqual(Object.keys(REQUIRED).sort());
  });

  const cases = WHO.flatMap((w) =>
    ROUTES.filter((r) => !r.open).map((r) => {
      const key = `${r.method.toUpperCase()} ${r.pattern}`;
      const scope = REQUIRED[key]!;
      const scoped = w.scopes.includes(scope) || w.scopes.includes('admin');
      const accountOk = w.accounts === null || (!NO_ACCOUNT.has(key) && (FILTER.has(key) || w.accounts.includes(ACC)));
      return { who: w.name, route: key, method: r.method, pattern: r.pattern, allowed: scoped && accountOk };
    }),
  );

  it.each(cases)('$who → $route: allowed $allowed', async ({ who, method, pattern, allowed }) => {
    const { path, body } = requestFor(pattern, method);
    const r = await call(h.base, path, {
      method: method.toUpperCase(),
      auth: false,
      headers: { authorization: `Bearer ${tokens.get(who)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    });
    if (allowed) expect([401, 403]).not.toContain(r.status);
    else {
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
    }
  });

  it('the bootstrap token may do everything; no token or a wrong one is 401 everywhere', async () => {
    for (const r of ROUTES.filter((x) => !x.open)) {
      const { path } = requestFor(r.pattern, r.method);
      const none = await call(h.base, path, { method: r.method.toUpperCase(), auth: false });
      expect(none.status).toBe(401);
      const wrong = await call(h.base, path, {
        method: r.method.toUpperCase(),
        auth: false,
        headers: { authorization: 'Bearer wsk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      });
      expect(wrong.status).toBe(401);
    }
    const boot = await call(h.base, '/api/whatsapp/api-keys', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(boot.status).toBe(200);
  });

  it('a key limited to accounts lists only those accounts', async () => {
    // The table's DELETE rows removed the account.
    await h.store.createAccount({ id: ACC }).catch(() => undefined);
    const r = await call(h.base, '/api/whatsapp/accounts', {
      auth: false,
      headers: { authorization: `Bearer ${tokens.get('read+send on ACC')}` },
    });
    expect(r.status).toBe(200);
    expect((r.body as { accounts: Array<{ id: string }> }).accounts.map((a) => a.id)).toEqual([ACC]);
  });
});

describe('API keys through the API', () => {
  it('created by an admin, shown once, listed hashed with last use, revoked (then 401)', async () => {
    await h.store.createAccount({ id: ACC }).catch(() => undefined);
    const created = await call(h.base, '/api/whatsapp/api-keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'inbox app', scopes: ['read'], accounts: [ACC] }),
    });
    expect(created.status).toBe(201);
    const { key, apiKey } = created.body as { key: string; apiKey: { id: string; scopes: string[]; lastUsedAt: string | null } };
    expect(key).toMatch(/^wsk_[a-f0-9]{16}_/);
    expect(apiKey).toMatchObject({ name: 'inbox app', scopes: ['read'], accounts: [ACC], lastUsedAt: null, revokedAt: null });
    const use = await call(h.base, `/api/whatsapp/threads/${ACC}`, { auth: false, headers: { authorization: `Bearer ${key}` } });
    expect(use.status).toBe(200);
    const list = await call(h.base, '/api/whatsapp/api-keys');
    const listed = (list.body as { apiKeys: Array<Record<string, unknown>> }).apiKeys.find((k) => k.id === apiKey.id)!;
    expect(listed.lastUsedAt).toEqual(expect.any(String));
    // The secret is everything after `wsk_{id}_` (base64url: it may hold `_` itself).
    const secret = key.split('_').slice(2).join('_');
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(JSON.stringify(list.body)).not.toContain('hash');
    // Nothing stored can be turned back into the key.
    const stored = JSON.stringify(await keysStore.store.getSetting(`apiKey:${apiKey.id}`));
    expect(stored).not.toContain(secret);
    const revoked = await call(h.base, `/api/whatsapp/api-keys/${apiKey.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect((revoked.body as { apiKey: { revokedAt: string } }).apiKey.revokedAt).toEqual(expect.any(String));
    const after = await call(h.base, `/api/whatsapp/threads/${ACC}`, { auth: false, headers: { authorization: `Bearer ${key}` } });
    expect(after.status).toBe(401);
  });

  it('bad input is a 400 and creates nothing', async () => {
    for (const body of [{}, { scopes: [] }, { scopes: ['root'] }, { scopes: ['read'], accounts: [] }, { scopes: ['read'], name: '' }]) {
      const r = await call(h.base, '/api/whatsapp/api-keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(400);
    }
    expect((await call(h.base, '/api/whatsapp/api-keys/zz', { method: 'DELETE' })).status).toBe(404);
  });
});
