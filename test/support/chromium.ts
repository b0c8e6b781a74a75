import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install -y chromium`), driven by playwright-core: no browser download
 * (none can happen here). `WASYNC_TEST_CHROMIUM` names another binary.
 */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string | null {
  const chosen = process.env.WASYNC_TEST_CHROMIUM;
  if (chosen) return existsSync(chosen) ? chosen : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** The one line `npm test` prints when the browser tests cannot run. */
export function chromiumMissingReason(): string {
  const chosen = process.env.WASYNC_TEST_CHROMIUM;
  return chosen
    ? `browser tests (test/console/) not run: WASYNC_TEST_CHROMIUM=${chosen} does not exist`
    : `browser tests (test/console/) not run: Chromium not found at ${CANDIDATES.join(' or ')}; ` +
        'install it with: apt-get install -y chromium';
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  browser: Browser;
  /** A fresh context per call (its own sessionStorage): a laptop screen unless told otherwise. */
  context(opts?: { viewport?: { width: number; height: number }; timezoneId?: string; isMobile?: boolean }): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * Launches Chromium. playwright-core gives every launch a fresh `--user-data-dir` of its own (a temp
 * directory it removes on close), so no profile state leaks between runs or files.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(chromiumMissingReason());
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_FLAGS, timeout: 60_000 });
  return {
    browser,
    context: (opts = {}) =>
      browser.newContext({
        viewport: opts.viewport ?? { width: 1366, height: 850 },
        locale: 'en-US',
        timezoneId: opts.timezoneId ?? 'Asia/Kolkata',
        ...(opts.isMobile ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
      }),
    async close() {
      await browser.close();
    },
  };
}
