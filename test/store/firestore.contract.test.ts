import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirestoreStore } from '../../src/store/firestore/index.js';
import { openFirestoreEmulator, type Connection, type EmulatorClient } from '../support/firestore-emulator.js';
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
  const connections = [emulator.connect()];
  // No pacing pauses in tests: the ramp and jitter have their own tests.
  const open = (c: Connection) => createFirestoreStore({ firestore: c.firestore, batching: { jitterMs: 0 } });
  return {
    store: open(connections[0]!),
    // A second client on the same project: another instance, or the process after a restart.
    reopen: async () => {
      const c = emulator.connect(connections[0]!.projectId);
      connections.push(c);
      return open(c);
    },
    cleanup: async () => {
      for (const c of connections) await c.close();
    },
  };
});

// Runs after the contract (tests of a file run in order): what the whole suite made the store send.
describe('indexes for the contract suite', () => {
  it('every query the contract made the store send is served by firestore.indexes.json', () => {
    const file = readIndexFile();
    expect(queries.shapes.size).toBeGreaterThan(5);
    expect([...queries.shapes.values()].map((q) => indexVerdict(q, file)).filter((v) => !v.ok)).toEqual([]);
  });
});
