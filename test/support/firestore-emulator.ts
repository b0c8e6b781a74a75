import { inject } from 'vitest';
import { emulatorClient, type EmulatorClient } from './firestore-emulator-client.js';

export type { Connection, EmulatorClient } from './firestore-emulator-client.js';

/**
 * The run's Google Cloud Firestore emulator (started once by test/support/firestore-global-setup.ts),
 * for one test file: call in `beforeAll`, `close()` in `afterAll`. On a machine without the emulator
 * this throws the one message that names the package to install: the test fails, it is not skipped.
 */
export function openFirestoreEmulator(): EmulatorClient {
  const info = inject('firestoreEmulator');
  if (!info) throw new Error('no Firestore emulator was provided: run the tests through vitest.config.ts (its globalSetup starts one)');
  if (info.error !== undefined) throw new Error(info.error);
  return emulatorClient(info.host);
}
