import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirestoreStore } from '../../src/store/firestore/index.js';
import { openFirestoreEmulator, type EmulatorClient } from '../support/firestore-emulator.js';
import { indexVerdict, readIndexFile, recordQueries, type QueryRecorder } from '../support/firestore-queries.js';
import { runStoreContract } from './contract/index.js';

let emulator: EmulatorClient;
let queries: QueryRecorder;
beforeAll(() => {
  emulator = openFirestoreEmulator();
  queries = recordQueries();
});
afterAll(async () => {
  queries.stop();
  await emulator.close();
});

runStoreContract('firestore', async () => {
  const connection = emulator.connect();
  // No pacing pauses in tests: the ramp and jitter have their own tests.
  const store = createFirestoreStore({ firestore: connection.firestore, batching: { jitterMs: 0 } });
  return { store, cleanup: () => connection.close() };
});

// Runs after the contract (tests of a file run in order): what the whole suite made the store send.
describe('indexes for the contract suite', () => {
  it('every query the contract made the store send is served by firestore.indexes.json', () => {
    const file = readIndexFile();
    expect(queries.shapes.size).toBeGreaterThan(5);
    expect([...queries.shapes.values()].map((q) => indexVerdict(q, file)).filter((v) => !v.ok)).toEqual([]);
  });
});
