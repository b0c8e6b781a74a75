import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium, type TestBrowser } from '../support/chromium.js';
import { call, type Harness, startHarness, TOKEN } from '../http/harness.js';

/**
 * The API reference page (`/docs`) in Debian's Chromium: it renders this server's OpenAPI document
 * with nothing from another origin, no CSP violation and no script error, and its "Try it out" reaches
 * the API with the bearer token typed into "Authorize".
 */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/docs/', import.meta.url));

/** The page's globals as the callbacks below use them (this file compiles without the DOM library). */
interface PageGlobals {
  document: { addEventListener(type: string, l: (e: { violatedDirective: string; blockedURI: string }) => void): void };
  console: { error(msg: string): void };
}

describe.skipIf(!chromiumPath())('API reference page in Chromium', () => {
  let h: Harness;
  let chrome: TestBrowser;
  let page: Page;
  const problems: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness();
    await h.store.createAccount({ id: 'docs-acc', status: 'open' });
    chrome = await launchChromium();
    const context = await chrome.context();
    await context.addInitScript(() => {
      const w = globalThis as unknown as PageGlobals;
      w.document.addEventListener('securitypolicyviolation', (e) =>
        w.console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    page.on('request', (req) => {
      if (!req.url().startsWith(`${h.base}/`)) foreign.push(req.url());
    });
    page.on('response', (res) => {
      if (res.status() >= 400 && !res.url().includes('/api/')) problems.push(`${res.status()} for ${res.url()}`);
    });
  });

  afterAll(async () => {
    await chrome?.close();
    await h?.stop();
  });

  it('renders every operation of the document, loading nothing from another origin', async () => {
    await page.goto(`${h.base}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    const doc = (await call(h.base, '/openapi.json', { auth: false })).body as {
      paths: Record<string, Record<string, unknown>>;
      webhooks?: Record<string, Record<string, unknown>>;
    };
    // Swagger UI renders the live feed's events (the `webhooks` section) as operations too.
    const operations = [...Object.values(doc.paths), ...Object.values(doc.webhooks ?? {})].reduce(
      (n, item) => n + Object.keys(item).length,
      0,
    );
    await expect.poll(() => page.locator('.opblock').count(), { timeout: 10_000 }).toBe(operations);
    await expect(page.locator('.info .title').textContent()).resolves.toContain('wasync API');
    await expect(page.getByText('/api/whatsapp/messages/{accountId}/{threadId}').first().isVisible()).resolves.toBe(true);
    // Swagger UI shows what it does not like about a document as a "Warning" or an errors box.
    await expect(page.getByText('Warning', { exact: true }).count()).resolves.toBe(0);
    await expect(page.locator('.errors-wrapper').count()).resolves.toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs.png') });
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('"Authorize" takes the token and "Try it out" answers from the API', async () => {
    await page
      .getByRole('button', { name: /Authorize/ })
      .first()
      .click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input').first().fill(TOKEN);
    // Swagger UI's own labels: "Apply credentials" (Authorize), then the "Close" (done) button.
    await dialog.locator('button.modal-btn.authorize').click();
    await dialog.locator('button.btn-done').click();

    const op = page.locator('#operations-Accounts-listAccounts');
    await op.locator('.opblock-summary').click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    await op.getByRole('button', { name: 'Execute' }).click();
    const status = op.locator('.live-responses-table tbody .response-col_status').first();
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toContain('200');
    await expect(op.locator('.live-responses-table').textContent()).resolves.toContain('docs-acc');
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs-try-it-out.png'), fullPage: false });
    // The token went in a header, never into a URL.
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });
});
