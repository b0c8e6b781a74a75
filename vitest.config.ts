import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Google's Cloud Firestore emulator, once per run, shared by every file (one project id each).
    globalSetup: ['test/support/firestore-global-setup.ts'],
    // Worker-thread and server tests spawn real threads and sockets; forks keep them isolated per file.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
