import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Run in order: workers and child processes run dist/, so build it first and no test runs stale worker code;
    // then Google's Cloud Firestore emulator, once per run, shared by every file (one project id each);
    // last, one line if Chromium is missing (the browser tests then skip).
    globalSetup: ['test/support/build-before-tests.ts', 'test/support/firestore-global-setup.ts', 'test/support/chromium-global-setup.ts'],
    // Worker-thread and server tests spawn real threads and sockets; forks keep them isolated per file.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
