import { defineConfig } from 'vitest/config';

/**
 * Files whose properties are timings or rates on a shared CPU (lease renewals against the emulator, 1,000 msg/s
 * with a slow consumer, the actor's event-loop delay during a store outage, a browser driving a live pairing, QR
 * rotation in the CLI, process supervision by pm2): they run one at a time, after the
 * rest, with nothing beside them. Everything else runs two files at a time (2 cores), which keeps `npm test`
 * under 10 minutes here.
 */
const solo = [
  'test/e2e/fleet.test.ts',
  'test/e2e/fleet-standby.test.ts',
  'test/e2e/store-outage.test.ts',
  'test/e2e/store-outage-firestore.test.ts',
  'test/feed/slow-consumer.test.ts',
  'test/console/console.test.ts',
  'test/console/docs.test.ts',
  'test/cli/cli.test.ts',
  'test/deploy/pm2.test.ts',
];

const shared = {
  // Worker-thread and server tests spawn real threads and sockets; forks keep them isolated per file.
  pool: 'forks' as const,
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    // Run in order: workers and child processes run dist/, so build it first and no test runs stale worker code;
    // then Google's Cloud Firestore emulator, once per run, shared by every file (one project id each);
    // last, one line if Chromium is missing (the browser tests then skip).
    globalSetup: ['test/support/build-before-tests.ts', 'test/support/firestore-global-setup.ts', 'test/support/chromium-global-setup.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'parallel',
          include: ['test/**/*.test.ts'],
          exclude: solo,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'solo',
          include: solo,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
