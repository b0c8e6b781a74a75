import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, defaultConsoleDir } from '../../src/http/static-files.js';
import { AUTH, call, get, isErrorBody, rawRequest, startHarness, type Harness } from './harness.js';

/**
 * The console's static files (src/http/routes/console.ts, src/http/static-files.ts) on the real uWS
 * server: content types, caching, CSP, revalidation, compression, path tricks, and the API's own
 * answers left as they were. A fixture build in a temp dir, plus the real build in dist/web.
 */

const SECRET = 'top-secret-outside-the-console';
const BIG_JS = `export const data = ${JSON.stringify('x'.repeat(4000))};\n`;
const FILES: Record<string, string | Buffer> = {
  'index.html': '<!doctype html><title>console</title><script type="module" src="/assets/index-AbC123.js"></script>',
  'favicon.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
  'assets/index-AbC123.js': BIG_JS,
  'assets/index-Def456.css': 'body{color:red}',
  'assets/font-Gh7.woff2': Buffer.from([0x77, 0x4f, 0x46, 0x32, 0, 1, 2, 3]),
  'assets/data-9Zz.bin': Buffer.from([1, 2, 3]),
  'assets/.secret-dotfile': SECRET,
};

let root: string;
let h: Harness;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wasync-console-'));
  const web = join(root, 'web');
  for (const [name, content] of Object.entries(FILES)) {
    mkdirSync(join(web, name, '..'), { recursive: true });
    writeFileSync(join(web, name), content);
  }
  // Beside the console's folder: what a traversal would be after.
  writeFileSync(join(root, 'secret.txt'), SECRET);
  h = await startHarness({ consoleDir: web });
});

afterAll(async () => {
  await h?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('the console page', () => {
  it.each(['/', '/index.html'])('%s is the page, without a token, with the CSP and revalidation', async (path) => {
    const r = await call(h.base, path, { auth: false });
    expect(r.status).toBe(200);
    expect(r.body).toBe(FILES['index.html']);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('etag')).toMatch(/^"[\w-]{22}"$/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
  });

  it('the CSP allows only this origin: no inline script or style, no eval, no framing, no other host', () => {
    const directives = new Map(
      CONSOLE_CSP.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-|https?:|\*/);
  });

  it('answers 304 to a matching If-None-Match (strong, weak or *) and 200 to another', async () => {
    const first = await call(h.base, '/', { auth: false });
    const etag = first.headers.get('etag')!;
    for (const tag of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const r = await rawRequest(h.port, get('/', { 'if-none-match': tag }));
      expect(r.status, tag).toBe(304);
      expect(r.body, tag).toBe('');
      expect(r.head, tag).toMatch(new RegExp(`\\r\\netag: ${etag}`, 'i'));
    }
    expect((await call(h.base, '/', { auth: false, headers: { 'if-none-match': '"other"' } })).status).toBe(200);
  });
});

describe('assets', () => {
  it.each([
    ['/assets/index-AbC123.js', 'text/javascript; charset=utf-8'],
    ['/assets/index-Def456.css', 'text/css; charset=utf-8'],
    ['/assets/font-Gh7.woff2', 'font/woff2'],
    ['/assets/data-9Zz.bin', 'application/octet-stream'],
    ['/favicon.svg', 'image/svg+xml'],
  ])('%s is %s', async (path, type) => {
    const r = await rawRequest(h.port, get(path, {}));
    expect(r.status).toBe(200);
    expect(r.head).toMatch(new RegExp(`\\r\\ncontent-type: ${type.replace(/[+]/g, '\\+')}\\r\\n`, 'i'));
    expect(r.head).toMatch(/\r\nx-content-type-options: nosniff/i);
  });

  it('hashed assets are cached for a year as immutable; other files are revalidated', async () => {
    const asset = await call(h.base, '/assets/index-Def456.css', { auth: false });
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // Only the page gets the page's headers.
    expect(asset.headers.get('content-security-policy')).toBeNull();
    const icon = await call(h.base, '/favicon.svg', { auth: false });
    expect(icon.headers.get('cache-control')).toBe('no-cache');
    expect(icon.headers.get('etag')).toBeTruthy();
  });

  it('sends brotli or gzip when accepted (and smaller), identical once decoded, with Vary', async () => {
    const raw = (enc: string) =>
      fetch(`${h.base}/assets/index-AbC123.js`, { headers: { 'accept-encoding': enc }, signal: AbortSignal.timeout(5000) });
    // fetch decodes transparently; read the raw bytes over a socket instead.
    const bytes = async (enc: string): Promise<{ encoding: string | null; body: Buffer }> => {
      const r = await rawRequest(h.port, get('/assets/index-AbC123.js', { 'accept-encoding': enc }));
      const encoding = /\r\ncontent-encoding: *(\S+)/i.exec(r.head)?.[1] ?? null;
      expect(r.head).toMatch(/\r\nvary: accept-encoding/i);
      return { encoding, body: Buffer.from(r.body, 'latin1') };
    };
    const br = await bytes('gzip, deflate, br');
    expect(br.encoding).toBe('br');
    expect(brotliDecompressSync(br.body).toString()).toBe(BIG_JS);
    expect(br.body.length).toBeLessThan(BIG_JS.length / 4);
    const gz = await bytes('gzip');
    expect(gz.encoding).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(BIG_JS);
    for (const refused of ['gzip;q=0', 'identity', '']) {
      const plain = await bytes(refused);
      expect(plain.encoding, refused).toBeNull();
      expect(plain.body.toString(), refused).toBe(BIG_JS);
    }
    expect(await (await raw('br')).text()).toBe(BIG_JS);
    // Small files are sent as they are.
    expect((await bytes('br, gzip')).encoding).toBe('br');
    const small = await rawRequest(h.port, get('/assets/index-Def456.css', { 'accept-encoding': 'br, gzip' }));
    expect(small.head).not.toMatch(/content-encoding/i);
  });
});

describe('path tricks never leave the build', () => {
  const tricks = [
    '/assets/../secret.txt',
    '/assets/..%2Fsecret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/assets/%2e%2e%2fsecret.txt',
    '/assets/%2e%2e',
    '/assets/..%5Csecret.txt',
    '/assets/%00index-AbC123.js',
    '/assets/index-AbC123.js%00.css',
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/sub/../../secret.txt',
    '/assets//index-AbC123.js',
    '/assets/.secret-dotfile',
    '/secret.txt',
    '/web/index.html',
    '/assets/',
    '/assets',
  ];
  it.each(tricks)('%s is refused with a JSON error', async (path) => {
    for (const headers of [{}, AUTH]) {
      const r = await rawRequest(h.port, get(path, headers));
      expect([400, 401, 404], `${path} ${JSON.stringify(headers)}`).toContain(r.status);
      expect(r.body).not.toContain(SECRET);
      expect(r.head).toMatch(/\r\ncontent-type: application\/json/i);
      expect(isErrorBody(JSON.parse(r.body))).toBe(true);
    }
  });
});

describe('the API keeps its answers', () => {
  it('API routes still need the token (401 JSON) and unknown API paths are 404 JSON with it', async () => {
    const noToken = await call(h.base, '/api/whatsapp/accounts', { auth: false });
    expect(noToken.status).toBe(401);
    expect(isErrorBody(noToken.body)).toBe(true);
    expect(noToken.headers.get('cache-control')).toBe('no-store');
    const unknown = await call(h.base, '/api/whatsapp/nope');
    expect(unknown.status).toBe(404);
    expect(isErrorBody(unknown.body)).toBe(true);
    // Without the token an unknown path is a 401, as before: 404 vs 401 would map the API out.
    expect((await call(h.base, '/api/whatsapp/nope', { auth: false })).status).toBe(401);
    expect((await call(h.base, '/nope', { auth: false })).status).toBe(401);
    expect((await call(h.base, '/api/whatsapp/accounts')).status).toBe(200);
  });

  it('the console routes answer GET only (405 JSON with Allow)', async () => {
    const r = await call(h.base, '/', { method: 'POST', auth: false });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
    expect(isErrorBody(r.body)).toBe(true);
  });
});

describe('a server whose console was not built', () => {
  it('says how to build it at /, without naming a path, and the API still works', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'wasync-console-empty-'));
    const bare = await startHarness({ consoleDir: join(empty, 'missing') });
    try {
      const page = await call(bare.base, '/', { auth: false });
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('npm run build');
      expect(page.body).not.toContain(empty);
      expect((await call(bare.base, '/assets/index-AbC123.js', { auth: false })).status).toBe(404);
      expect((await call(bare.base, '/api/whatsapp/accounts')).status).toBe(200);
    } finally {
      await bare.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('the real build (dist/web, built before the tests)', () => {
  it('serves a page whose every script and stylesheet is an external, hashed, served asset', async () => {
    const real = await startHarness({ consoleDir: defaultConsoleDir() });
    try {
      const page = await call(real.base, '/', { auth: false });
      expect(page.status).toBe(200);
      const html = String(page.body);
      expect(html).toBe(readFileSync(join(defaultConsoleDir(), 'index.html'), 'utf8'));
      // No inline script, no inline style, nothing from another host: what the CSP would refuse.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(html).not.toMatch(/\sstyle=|<style/i);
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
      const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(refs.some((r) => r.endsWith('.js'))).toBe(true);
      expect(refs.some((r) => r.endsWith('.css'))).toBe(true);
      for (const ref of refs) {
        expect(ref).toMatch(/^\/assets\/[\w.-]+-[\w-]{8}\.(js|css)$/);
        const r = await call(real.base, ref, { auth: false });
        expect(r.status, ref).toBe(200);
        expect(r.headers.get('cache-control'), ref).toBe('public, max-age=31536000, immutable');
        expect(r.headers.get('content-type'), ref).toBe(ref.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      }
      expect((await call(real.base, '/favicon.svg', { auth: false })).status).toBe(200);
    } finally {
      await real.stop();
    }
  });
});
