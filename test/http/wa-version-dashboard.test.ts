import { afterEach, describe, expect, it } from 'vitest';
import type { ProtocolVersionStatus } from '../../src/connectors/protocol-version.js';
import { call, startHarness, type Harness } from './harness.js';

/** `GET /api/status/dashboard` → `waVersion`, on the real uWS server. */
describe('dashboard: WhatsApp Web version', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.stop();
    h = null;
  });

  it('shows the version in use, its source and its age, with instants as ISO 8601', async () => {
    const status: ProtocolVersionStatus = {
      version: '2.3000.1050012345',
      source: 'cached',
      fetchedAt: Date.UTC(2026, 3, 1, 6),
      ageSeconds: 7200,
      checkedAt: Date.UTC(2026, 3, 1, 8),
      lastError: 'timed out after 5000 ms',
    };
    h = await startHarness({ protocolVersion: () => status });
    const r = await call(h.base, '/api/status/dashboard');
    expect(r.status).toBe(200);
    expect((r.body as { waVersion: unknown }).waVersion).toEqual({
      version: '2.3000.1050012345',
      source: 'cached',
      fetchedAt: '2026-04-01T06:00:00.000Z',
      ageSeconds: 7200,
      checkedAt: '2026-04-01T08:00:00.000Z',
      lastError: 'timed out after 5000 ms',
    });
  });

  it('is null where no connector version applies (the simulated phone)', async () => {
    h = await startHarness();
    const r = await call(h.base, '/api/status/dashboard');
    expect((r.body as { waVersion: unknown }).waVersion).toBeNull();
  });
});
