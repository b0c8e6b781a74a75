import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Boom } from '@hapi/boom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { makeEventBuffer, type UserFacingSocketConfig, type WASocket } from '@whiskeysockets/baileys';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/index.js';
import { BaileysConnector } from '../../src/connectors/baileys/baileys-connector.js';
import {
  BUNDLED_WA_VERSION,
  REFETCH_GUARD_MS,
  WA_VERSION_SETTING,
  WaVersionResolver,
  fetchWaWebVersion,
  isVersionRejection,
  type WaVersion,
  type WaVersionFetcher,
} from '../../src/connectors/baileys/wa-version.js';
import { WaVersionService } from '../../src/connectors/baileys/wa-version-service.js';
import { createProtocolVersionService } from '../../src/connectors/index.js';
import { StoreError } from '../../src/domain/errors.js';
import { registerProtocolVersionMetrics } from '../../src/metrics/protocol-version-metrics.js';
import type { Store } from '../../src/store/port.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

const logger = pino({ level: 'silent' });
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 3, 1);
const V1: WaVersion = [2, 3000, 1_050_000_001];
const V2: WaVersion = [2, 3000, 1_050_000_002];

/** An injected fetcher (no network here): answers from a script, counts calls, sees the abort signal. */
function scriptedFetcher(...answers: Array<WaVersion | Error | 'hang'>): WaVersionFetcher & { calls: number; signals: AbortSignal[] } {
  const f = Object.assign(
    async (signal: AbortSignal): Promise<WaVersion> => {
      f.calls += 1;
      f.signals.push(signal);
      const a = answers[Math.min(f.calls - 1, answers.length - 1)];
      if (a === 'hang') return new Promise<WaVersion>(() => undefined);
      if (a instanceof Error) throw a;
      return a!;
    },
    { calls: 0, signals: [] as AbortSignal[] },
  );
  return f;
}

describe('WhatsApp Web version', () => {
  let dir: string;
  let store: Store;
  let now: number;
  const clock = () => now;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-waver-'));
    store = openSqliteStore({ file: path.join(dir, 'wasync.db') });
    await store.init();
    now = T0;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const resolver = (fetcher: WaVersionFetcher, o: { pinned?: WaVersion; timeoutMs?: number; settings?: Store } = {}) =>
    new WaVersionResolver({
      settings: o.settings ?? store,
      logger,
      fetcher,
      maxAgeMs: DAY,
      timeoutMs: o.timeoutMs ?? 200,
      now: clock,
      pinned: o.pinned ?? null,
    });

  describe('resolver', () => {
    it('fetched: no cache yet, so it fetches and caches the version for every instance', async () => {
      const fetcher = scriptedFetcher(V1);
      const s = await resolver(fetcher).resolve();
      expect(s).toEqual({ version: V1, source: 'fetched', fetchedAt: T0, checkedAt: T0, lastError: null });
      expect((await store.getSetting(WA_VERSION_SETTING))?.value).toEqual({ version: V1, fetchedAt: T0 });
      expect(fetcher.calls).toBe(1);
    });

    it('cached: another instance (or a restart) within the refresh interval uses the cache, no fetch; past it, refetches', async () => {
      await resolver(scriptedFetcher(V1)).resolve();
      const other = scriptedFetcher(V2);
      now = T0 + DAY - 1;
      expect(await resolver(other).resolve()).toMatchObject({ version: V1, source: 'cached', fetchedAt: T0 });
      expect(other.calls).toBe(0);
      now = T0 + DAY;
      expect(await resolver(other).resolve()).toMatchObject({ version: V2, source: 'fetched', fetchedAt: T0 + DAY });
      expect(other.calls).toBe(1);
    });

    it('pinned: WA_VERSION wins everywhere and nothing is fetched', async () => {
      await store.putSetting(WA_VERSION_SETTING, { version: V1, fetchedAt: T0 });
      const fetcher = scriptedFetcher(V2);
      const r = resolver(fetcher, { pinned: [2, 3000, 7] });
      for (const s of [await r.resolve(), await r.resolve({ force: true }), await r.forConnect(), await r.afterRejection([2, 3000, 7])]) {
        expect(s).toEqual({ version: [2, 3000, 7], source: 'pinned', fetchedAt: null, checkedAt: null, lastError: null });
      }
      expect(fetcher.calls).toBe(0);
    });

    it('a failed fetch falls back to the last known good (the cache), then to the bundled version', async () => {
      expect(await resolver(scriptedFetcher(new Error('sw.js answered 400'))).resolve()).toEqual({
        version: BUNDLED_WA_VERSION,
        source: 'bundled',
        fetchedAt: null,
        checkedAt: T0,
        lastError: 'sw.js answered 400',
      });
      await resolver(scriptedFetcher(V1)).resolve();
      now = T0 + 2 * DAY;
      const stale = await resolver(scriptedFetcher(new Error('getaddrinfo ENOTFOUND web.whatsapp.com'))).resolve();
      expect(stale).toMatchObject({ version: V1, source: 'cached', fetchedAt: T0, lastError: 'getaddrinfo ENOTFOUND web.whatsapp.com' });
      // The failure did not overwrite the cache.
      expect((await store.getSetting(WA_VERSION_SETTING))?.value).toEqual({ version: V1, fetchedAt: T0 });
    });

    it('a fetch that hangs is cut at the deadline (and told to abort); an unusable answer counts as a failure', async () => {
      const hang = scriptedFetcher('hang');
      const started = Date.now();
      const s = await resolver(hang, { timeoutMs: 100 }).resolve();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(s).toMatchObject({ source: 'bundled', lastError: 'timed out after 100 ms' });
      expect(hang.signals[0]?.aborted).toBe(true);
      const junk = scriptedFetcher([2, -1, 3] as WaVersion);
      expect(await resolver(junk).resolve()).toMatchObject({ source: 'bundled', lastError: expect.stringMatching(/unusable version/) });
    });

    it('keeps working from memory when the store is down: fetched is used, then remembered as last known good', async () => {
      const broken = Object.create(store) as Store;
      broken.getSetting = async () => {
        throw new StoreError('disk I/O error');
      };
      broken.putSetting = broken.getSetting as unknown as Store['putSetting'];
      const r = resolver(scriptedFetcher(V1, new Error('offline')), { settings: broken });
      expect(await r.resolve()).toMatchObject({ version: V1, source: 'fetched' });
      expect(await r.resolve()).toMatchObject({ version: V1, source: 'cached', lastError: 'offline' });
      expect(await r.forConnect()).toMatchObject({ version: V1, source: 'cached' });
    });

    it('forConnect reads the cache and never fetches; bundled when there is nothing', async () => {
      const fetcher = scriptedFetcher(V2);
      const r = resolver(fetcher);
      expect(await r.forConnect()).toMatchObject({ version: BUNDLED_WA_VERSION, source: 'bundled' });
      await store.putSetting(WA_VERSION_SETTING, { version: V1, fetchedAt: T0 - 5 * DAY });
      expect(await r.forConnect()).toMatchObject({ version: V1, source: 'cached', fetchedAt: T0 - 5 * DAY });
      await store.putSetting(WA_VERSION_SETTING, { version: 'garbage', fetchedAt: 'x' });
      expect(await r.forConnect()).toMatchObject({ version: V1, source: 'cached' });
      expect(fetcher.calls).toBe(0);
    });

    // After a rejection: the rejected version is refetched, a newer cached one taken as is, and one
    // confirmed moments ago not refetched.
    it('after a rejection: refetches, takes a newer cached version, does not refetch one confirmed moments ago', async () => {
      await store.putSetting(WA_VERSION_SETTING, { version: V1, fetchedAt: T0 - DAY / 2 });
      const fetcher = scriptedFetcher(V2);
      const r = resolver(fetcher);
      expect(await r.afterRejection(V1)).toMatchObject({ version: V2, source: 'fetched' });
      expect(fetcher.calls).toBe(1);
      // Another actor whose socket announced V1 finds V2 in the cache.
      const other = scriptedFetcher(V2);
      expect(await resolver(other).afterRejection(V1)).toMatchObject({ version: V2, source: 'cached' });
      expect(other.calls).toBe(0);
      // V2 rejected too, seconds after it was fetched: fetching again would only say V2 again.
      now = T0 + REFETCH_GUARD_MS - 1;
      expect(await resolver(other).afterRejection(V2)).toMatchObject({ version: V2, source: 'cached' });
      expect(other.calls).toBe(0);
    });

    it('concurrent rejections in one thread share one fetch', async () => {
      const fetcher = scriptedFetcher(V2);
      const r = resolver(fetcher);
      const all = await Promise.all(Array.from({ length: 10 }, () => r.afterRejection(BUNDLED_WA_VERSION)));
      expect(fetcher.calls).toBe(1);
      expect(new Set(all.map((s) => s.version.join('.')))).toEqual(new Set([V2.join('.')]));
    });
  });

  describe('Baileys fetcher and the rejection test', () => {
    afterEach(() => {
      vi.unstubAllGlobals();
    });

    it("reads the client revision from WhatsApp Web's sw.js and fails loudly when Baileys could not", async () => {
      const sw = 'self.__swData=JSON.parse(/*BTDS*/"{\\"dynamic_data\\":{\\"SiteData\\":{\\"client_revision\\":1050012345}}}");';
      const fetchStub = vi.fn(async () => new Response(sw, { status: 200 }));
      vi.stubGlobal('fetch', fetchStub);
      const signal = new AbortController().signal;
      expect(await fetchWaWebVersion(signal)).toEqual([2, 3000, 1050012345]);
      expect((fetchStub.mock.calls[0] as unknown as [string, RequestInit])[1].signal).toBe(signal);
      // Baileys answers its bundled version with isLatest=false instead of throwing (issue 1929).
      vi.stubGlobal('fetch', async () => new Response('Bad Request', { status: 400, statusText: 'Bad Request' }));
      await expect(fetchWaWebVersion(signal)).rejects.toThrow(/could not read the version from WhatsApp Web/);
      vi.stubGlobal('fetch', async () => new Response('no revision here', { status: 200 }));
      await expect(fetchWaWebVersion(signal)).rejects.toThrow(/client revision/);
    });

    it.each([
      [
        '405 Connection Failure (failure reason=405)',
        new Boom('Connection Failure', { statusCode: 405, data: { reason: '405', location: 'cln' } }),
        true,
      ],
      ['401 logged out', new Boom('Connection Failure', { statusCode: 401, data: { reason: '401' } }), false],
      ['428 connection closed', new Boom('Connection Closed', { statusCode: 428 }), false],
      ['515 restart required', new Boom('Stream Errored (restart required)', { statusCode: 515 }), false],
      ['a network error', new Error('ECONNRESET'), false],
      ['nothing', undefined, false],
    ])('%s → version rejection: %s', (_name, error, expected) => {
      expect(isVersionRejection(error)).toBe(expected);
    });
  });

  describe('main-thread service', () => {
    it('resolves at start, reports version, source and age, follows a version another thread cached, and feeds the metric', async () => {
      const service = new WaVersionService({
        settings: store,
        logger,
        fetcher: scriptedFetcher(V1),
        maxAgeMs: DAY,
        refreshMs: DAY,
        now: clock,
      });
      expect(service.status()).toBeNull();
      await service.start();
      try {
        now = T0 + 90_000;
        expect(service.status()).toEqual({
          version: V1.join('.'),
          source: 'fetched',
          fetchedAt: T0,
          ageSeconds: 90,
          checkedAt: T0,
          lastError: null,
        });
        // An actor refetched after a rejection: the service picks it up on its next cache sync.
        await store.putSetting(WA_VERSION_SETTING, { version: V2, fetchedAt: T0 + 60_000 });
        await service.sync();
        expect(service.status()).toMatchObject({ version: V2.join('.'), source: 'cached', ageSeconds: 30 });

        const registry = new Registry();
        registerProtocolVersionMetrics(registry, () => service.status());
        const text = await registry.metrics();
        expect(text).toContain(`wasync_wa_version_info{version="${V2.join('.')}",source="cached"} 1`);
        expect(text).toContain('wasync_wa_version_age_seconds{source="cached"} 30');
        expect(text.match(/^wasync_wa_version_info\{/gm)).toHaveLength(1);
      } finally {
        service.stop();
      }
    });

    it('bundled and pinned versions have no age; the metric then has no age sample', async () => {
      const service = new WaVersionService({
        settings: store,
        logger,
        fetcher: scriptedFetcher(new Error('offline')),
        maxAgeMs: DAY,
        refreshMs: DAY,
        now: clock,
      });
      await service.start();
      service.stop();
      expect(service.status()).toMatchObject({ source: 'bundled', ageSeconds: null, fetchedAt: null, lastError: 'offline' });
      const registry = new Registry();
      registerProtocolVersionMetrics(registry, () => service.status());
      const text = await registry.metrics();
      expect(text).toContain(`wasync_wa_version_info{version="${BUNDLED_WA_VERSION.join('.')}",source="bundled"} 1`);
      expect(text).not.toMatch(/^wasync_wa_version_age_seconds\{/m);
    });

    it('exists for the real connector only; WA_VERSION pins it', async () => {
      expect(await createProtocolVersionService(loadConfig({ DATA_DIR: dir, WA_CONNECTOR: 'sim' }), store, logger)).toBeNull();
      const pinned = await createProtocolVersionService(loadConfig({ DATA_DIR: dir, WA_VERSION: '2.3000.1012345678' }), store, logger);
      await pinned!.start();
      pinned!.stop();
      expect(pinned!.status()).toMatchObject({ version: '2.3000.1012345678', source: 'pinned', ageSeconds: null });
    });

    it('WA_VERSION must look like a version', () => {
      expect(() => loadConfig({ WA_VERSION: '2.3000' })).toThrow(/WA_VERSION: expected a WhatsApp Web version/);
      expect(loadConfig({ WA_VERSION: ' 2.3000.1 ' }).WA_VERSION).toEqual([2, 3000, 1]);
    });
  });

  describe('BaileysConnector', () => {
    const ACCOUNT = 'account_test_waver';
    const configs: UserFacingSocketConfig[] = [];
    const makeSocket = (config: UserFacingSocketConfig): WASocket => {
      configs.push(config);
      return { ev: makeEventBuffer(logger) } as unknown as WASocket;
    };
    beforeEach(async () => {
      configs.length = 0;
      await store.createAccount({ id: ACCOUNT });
    });
    const connector = (o: { pinned?: WaVersion; fetcher?: WaVersionFetcher } = {}) =>
      new BaileysConnector({
        syncFullHistory: true,
        logLevel: 'silent',
        makeSocket,
        now: clock,
        waVersion: { pinned: o.pinned ?? null, fetcher: o.fetcher ?? scriptedFetcher(new Error('unused')) },
      });
    const ctx = () => ({ accountId: ACCOUNT, store, logger });

    it('hands the socket the cached version, the pinned one, or the bundled one', async () => {
      await connector().connect(ctx());
      expect(configs.at(-1)?.version).toEqual(BUNDLED_WA_VERSION);
      await store.putSetting(WA_VERSION_SETTING, { version: V1, fetchedAt: T0 });
      await connector().connect(ctx());
      expect(configs.at(-1)?.version).toEqual(V1);
      await connector({ pinned: [2, 3000, 9] }).connect(ctx());
      expect(configs.at(-1)?.version).toEqual([2, 3000, 9]);
    });

    it('repairs a 405 by refetching (the next socket announces the new version) and leaves other closes to the actor', async () => {
      await store.putSetting(WA_VERSION_SETTING, { version: V1, fetchedAt: T0 - DAY });
      const fetcher = scriptedFetcher(V2);
      const c = connector({ fetcher });
      await c.connect(ctx());
      expect(configs.at(-1)?.version).toEqual(V1);
      expect(c.repairBeforeRetry(ctx(), new Boom('Connection Closed', { statusCode: 428 }))).toBeNull();
      const repair = c.repairBeforeRetry(ctx(), new Boom('Connection Failure', { statusCode: 405, data: { reason: '405' } }));
      expect(repair).not.toBeNull();
      await repair;
      expect(fetcher.calls).toBe(1);
      await c.connect(ctx());
      expect(configs.at(-1)?.version).toEqual(V2);
    });
  });
});

describe('WhatsApp Web version refresh interval', () => {
  it('stays within what a timer can hold (setInterval overflows past 2^31-1 ms)', () => {
    expect(() => loadConfig({ WA_VERSION_REFRESH_MS: '2147483648' })).toThrow(/WA_VERSION_REFRESH_MS/);
    expect(loadConfig({}).WA_VERSION_REFRESH_MS).toBe(86_400_000);
  });
});
