import { afterAll, beforeAll } from 'vitest';
import { createFirestoreStore } from '../../src/store/firestore/index.js';
import { startFirestoreEmulator, type Connection, type FirestoreEmulator } from '../support/firestore-emulator.js';
import { googleFirestoreEmulatorInstalled, startGoogleFirestoreEmulator, type GoogleFirestoreEmulator } from '../support/google-firestore-emulator.js';
import { runSettingsQueueContract } from './settings-queue.contract.js';

/**
 * Runs on Google's Firestore emulator (started here, or the one WASYNC_TEST_FIRESTORE_EMULATOR_HOST
 * names): the queue's claim needs transaction isolation and correct query order after updates,
 * which the in-process npm emulator lacks (see test/support/google-firestore-emulator.ts).
 */
const EXTERNAL = 'WASYNC_TEST_FIRESTORE_EMULATOR_HOST';

let google: GoogleFirestoreEmulator | null = null;
let emulator: FirestoreEmulator;
beforeAll(async () => {
  if (!process.env[EXTERNAL]) {
    if (!googleFirestoreEmulatorInstalled()) {
      throw new Error(`Google's Firestore emulator is needed: apt-get install google-cloud-cli-firestore-emulator, or set ${EXTERNAL} to a running one`);
    }
    google = await startGoogleFirestoreEmulator();
    process.env[EXTERNAL] = google.host;
  }
  emulator = await startFirestoreEmulator();
});
afterAll(async () => {
  await emulator?.stop();
  if (google) {
    delete process.env[EXTERNAL];
    await google.stop();
  }
});

runSettingsQueueContract(
  'firestore',
  async () => {
    const connections: Connection[] = [emulator.connect()];
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
  },
  { isolatesTransactions: true },
);
