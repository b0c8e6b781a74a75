import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  EMULATOR_PACKAGE,
  FirestoreEmulatorMissingError,
  findEmulatorJar,
  startGoogleFirestoreEmulator,
} from '../support/google-firestore-emulator.js';

/**
 * The test helper that runs Google's Cloud Firestore emulator: where it is found, and what a machine
 * without it gets (one clear failure naming the package, never a skip).
 */
describe("Google's Firestore emulator for the tests", () => {
  it('is found where the Debian package installs it, next to gcloud, or under CLOUDSDK_ROOT_DIR', () => {
    expect(findEmulatorJar(process.env)).toMatch(/platform\/cloud-firestore-emulator\/cloud-firestore-emulator\.jar$/);
    expect(findEmulatorJar({ PATH: '' }, [])).toBeNull();
  });

  it('without the jar, starting fails with the Debian package named', async () => {
    const err = await startGoogleFirestoreEmulator({ env: { PATH: '' }, fallbackRoots: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FirestoreEmulatorMissingError);
    expect((err as Error).message).toContain(EMULATOR_PACKAGE);
  });

  it('without Java, starting fails with the Debian package named', async () => {
    const err = await startGoogleFirestoreEmulator({ env: { ...process.env, JAVA: '/nonexistent/java' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FirestoreEmulatorMissingError);
    expect((err as Error).message).toContain(EMULATOR_PACKAGE);
  });

  it('a run on a machine without it fails the Firestore test files with that message', () => {
    // A whole vitest run of one Firestore file, its globalSetup included, on a machine "without Java".
    const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/store/firestore-indexes.test.ts'], {
      env: { ...process.env, JAVA: '/nonexistent/java', WASYNC_TEST_FIRESTORE_EMULATOR_HOST: '', FORCE_COLOR: '0', NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status).not.toBe(0);
    expect(output).toContain(EMULATOR_PACKAGE);
    // The file fails (vitest lists the tests of a suite whose beforeAll failed as not run).
    expect(output).toMatch(/FAIL\s+(?:\|\w+\|\s+)?test\/store\/firestore-indexes\.test\.ts/);
    expect(output).toMatch(/Test Files\s+1 failed/);
  });
});
