import { chromiumMissingReason, chromiumPath } from './chromium.js';

/** vitest globalSetup: says once, up front, when the browser tests will be skipped and why. */
export default function checkChromium(): void {
  if (!chromiumPath()) process.stderr.write(`${chromiumMissingReason()}\n`);
}
