import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { startApp, type App } from '../../src/app.js';
import { checkResponse } from './api-contract.js';

export const E2E_TOKEN = 'e2e-token-0123456789abcdef';

export interface TestApp {
  app: App;
  dataDir: string;
  env: Record<string, string>;
  /** GET/POST/DELETE with the bearer token; returns status and parsed JSON. */
  api<T = Record<string, unknown>>(method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: T }>;
  close(): Promise<void>;
}

/**
 * The real server in this process: real worker-thread actors (from the build in dist/), real uWS on a
 * free port, SQLite in a temp dir, the simulated phone. Only the process boundary is skipped; the
 * signal-handling test spawns the real entry point instead.
 */
export async function startTestApp(
  overrides: Record<string, string>,
  /** Runs on the empty data dir before the server starts (accounts stored by an earlier run, say). */
  prepare?: (dataDir: string) => Promise<void>,
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasync-e2e-'));
  await prepare?.(dataDir);
  const env: Record<string, string> = {
    ...(Object.fromEntries(Object.entries(process.env).filter(([, v]) => typeof v === 'string')) as Record<string, string>),
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    STORE: 'sqlite',
    API_TOKEN: E2E_TOKEN,
    WA_CONNECTOR: 'sim',
    LOG_LEVEL: 'error',
    AUTO_BACKFILL_ENABLED: 'false',
    RECENT_SYNC_ENABLED: 'false',
    BATCH_FLUSH_MS: '10',
    ...overrides,
  };
  const config = loadConfig(env);
  const app = await startApp(config, { env, logger: pino({ level: env.LOG_LEVEL ?? 'warn' }) });
  return {
    app,
    dataDir,
    env,
    async api(method, urlPath, body) {
      const res = await fetch(`${app.url}${urlPath}`, {
        method,
        headers: { authorization: `Bearer ${E2E_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      const contentType = res.headers.get('content-type') ?? '';
      const json: unknown = text && contentType.startsWith('application/json') ? JSON.parse(text) : text ? text : {};
      // Every answer is checked against its route's response schema (test/support/api-contract.ts).
      checkResponse({ method, path: urlPath, status: res.status, contentType, body: json });
      return { status: res.status, json: json as never };
    },
    async close() {
      await app.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
