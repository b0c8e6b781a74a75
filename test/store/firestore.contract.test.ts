import { afterAll, beforeAll } from 'vitest';
import { createFirestoreStore } from '../../src/store/firestore/index.js';
import { openFirestoreEmulator, type EmulatorClient } from '../support/firestore-emulator.js';
import { runStoreContract } from './contract.js';

let emulator: EmulatorClient;
beforeAll(() => {
  emulator = openFirestoreEmulator();
});
afterAll(async () => {
  await emulator.close();
});

runStoreContract('firestore', async () => {
  const connection = emulator.connect();
  // No pacing pauses in tests: the ramp and jitter have their own tests.
  const store = createFirestoreStore({ firestore: connection.firestore, batching: { jitterMs: 0 } });
  return { store, cleanup: () => connection.close() };
});
