import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Workers and child processes run dist/: build it first so no test runs stale worker code.
    globalSetup: ['test/support/build-before-tests.ts'],
    // Worker-thread and server tests spawn real threads and sockets; forks keep them isolated per file.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
