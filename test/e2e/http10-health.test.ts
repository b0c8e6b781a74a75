import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../support/e2e.js';

const run = promisify(execFile);

describe('health checks over HTTP/1.0 (HEALTH_PORT)', () => {
  it('curl --http1.0 /health works on HEALTH_PORT; the main port keeps uWS 20 answer (505), as the README says', async () => {
    const t = await startTestApp({ HEALTH_PORT: '0' });
    try {
      expect(t.app.healthPort).toEqual(expect.any(Number));
      const base = `http://127.0.0.1:${t.app.healthPort}`;
      const health = await run('curl', ['--http1.0', '-s', '-w', '\\n%{http_code}', `${base}/health`]);
      const [body, code] = health.stdout.split('\n');
      expect(code).toBe('200');
      expect(JSON.parse(body!)).toMatchObject({ status: 'ok', store: { backend: 'sqlite' } });
      const ready = await run('curl', ['--http1.0', '-fsS', `${base}/ready`]);
      expect(JSON.parse(ready.stdout)).toMatchObject({ ready: true, mode: 'active' });
      // Nothing else is served there: no API, no token to guess.
      const api = await run('curl', ['--http1.0', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${base}/api/whatsapp/accounts`]);
      expect(api.stdout).toBe('404');
      const main = await run('curl', ['--http1.0', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${t.app.url}/health`]);
      expect(main.stdout).toBe('505');
    } finally {
      await t.close();
    }
  }, 60_000);
});
