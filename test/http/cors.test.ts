import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { AUTH, startHarness, type Harness } from './harness.js';

const APP = 'https://inbox.example.com';

async function preflight(h: Harness, path: string, origin: string): Promise<Response> {
  return fetch(`${h.base}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });
}

describe('CORS_ORIGINS', () => {
  let on: Harness;
  let star: Harness;
  let off: Harness;
  beforeAll(async () => {
    on = await startHarness({ corsOrigins: [APP] });
    star = await startHarness({ corsOrigins: ['*'] });
    off = await startHarness();
    for (const h of [on, star, off]) await h.store.createAccount({ id: 'acc-cors' });
  });
  afterAll(async () => {
    for (const h of [on, star, off]) await h.stop();
  });

  it('a listed origin: the preflight is answered without a token, with methods, headers and max-age; never credentials', async () => {
    const r = await preflight(on, '/api/whatsapp/threads/acc-cors', APP);
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(APP);
    expect(r.headers.get('vary')).toMatch(/Origin/);
    expect(r.headers.get('access-control-allow-methods')).toBe('GET');
    expect(r.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(r.headers.get('access-control-max-age')).toBe('600');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('the actual request carries the origin back (and exposes the media headers); errors too', async () => {
    const ok = await fetch(`${on.base}/api/whatsapp/threads/acc-cors`, { headers: { ...AUTH, origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toContain('x-wasync-media-source');
    const denied = await fetch(`${on.base}/api/whatsapp/threads/acc-cors`, { headers: { origin: APP } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('an origin not listed gets no CORS header, and its preflight is refused', async () => {
    const r = await preflight(on, '/api/whatsapp/threads/acc-cors', 'https://evil.example');
    expect(r.status).toBe(403);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${on.base}/api/whatsapp/threads/acc-cors`, { headers: { ...AUTH, origin: 'https://evil.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a preflight for a path that is no route is 404', async () => {
    expect((await preflight(on, '/api/nope', APP)).status).toBe(404);
  });

  it('* answers * and still never allows credentials', async () => {
    const r = await preflight(star, '/api/whatsapp/send', 'https://anything.example');
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('off by default: no CORS headers, an OPTIONS without a token is 401', async () => {
    const r = await preflight(off, '/api/whatsapp/threads/acc-cors', APP);
    expect(r.status).toBe(401);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('the variable: origins only (no paths), * alone', () => {
    expect(loadConfig({ CORS_ORIGINS: `${APP}, http://localhost:5173` }).CORS_ORIGINS).toEqual([APP, 'http://localhost:5173']);
    expect(loadConfig({}).CORS_ORIGINS).toBeUndefined();
    for (const bad of [`${APP}/`, `${APP}/path`, 'inbox.example.com', `*,${APP}`, 'ftp://x.example']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });
});
