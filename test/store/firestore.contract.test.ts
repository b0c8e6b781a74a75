import { afterAll, beforeAll } from 'vitest';
import { createFirestoreStore } from '../../src/store/firestore/index.js';
import { startFirestoreEmulator, type FirestoreEmulator } from '../support/firestore-emulator.js';
import { runStoreContract } from './contract.js';

let emulator: FirestoreEmulator;
beforeAll(async () => {
  emulator = await startFirestoreEmulator();
});
afterAll(async () => {
  await emulator.stop();
});

runStoreContract('firestore', async () => {
  const connection = emulator.connect();
  // No pacing pauses in tests: the ramp and jitter have their own tests.
  const store = createFirestoreStore({ firestore: connection.firestore, batching: { jitterMs: 0 } });
  return { store, cleanup: () => connection.close() };
});
