import type { TestProject } from 'vitest/node';
import { FirestoreEmulatorMissingError, startGoogleFirestoreEmulator, type GoogleFirestoreEmulator } from './google-firestore-emulator.js';

/**
 * vitest globalSetup: one Google Cloud Firestore emulator for the whole run, on a free port, shared
 * by every test file (each file, and each connection in it, uses its own project id, so files run in
 * parallel without seeing each other's data). Test files reach it through `inject('firestoreEmulator')`
 * (test/support/firestore-emulator.ts).
 *
 * WASYNC_TEST_FIRESTORE_EMULATOR_HOST=host:port uses an emulator already running instead.
 * When the emulator is not installed, the run goes on: the tests that need it fail with the one
 * message naming the package to install; every other test runs.
 */

export type FirestoreEmulatorInfo =
  | { host: string; startupMs: number | null; error?: undefined }
  | { host?: undefined; startupMs?: undefined; error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    firestoreEmulator: FirestoreEmulatorInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.WASYNC_TEST_FIRESTORE_EMULATOR_HOST;
  if (external) {
    project.provide('firestoreEmulator', { host: external, startupMs: null });
    return async () => undefined;
  }
  let emulator: GoogleFirestoreEmulator;
  try {
    emulator = await startGoogleFirestoreEmulator();
  } catch (err) {
    if (!(err instanceof FirestoreEmulatorMissingError)) throw err;
    console.error(`\n${err.message}\n`);
    project.provide('firestoreEmulator', { error: err.message });
    return async () => undefined;
  }
  console.log(`Google's Cloud Firestore emulator on ${emulator.host}, answering ${Math.round(emulator.startupMs)} ms after start`);
  project.provide('firestoreEmulator', { host: emulator.host, startupMs: emulator.startupMs });
  return () => emulator.stop();
}
