import { FirestoreServer } from '@firestore-emulator/server';
import { freePort } from '../test/support/free-port.js';

/**
 * The npm Firestore emulator (`@firestore-emulator/server`, the one the test suite runs in-process)
 * in a process of its own, for bench/firestore.ts: the emulator's work then runs on another core
 * than the client under test, as a real Firestore would, instead of sharing its event loop. Reports
 * `{ host }` to the parent over IPC; stops when the parent disconnects.
 */
async function main(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new FirestoreServer();
    try {
      await server.start(port);
      process.send?.({ host: `127.0.0.1:${port}` });
      process.on('disconnect', () => {
        server.stop();
        process.exit(0);
      });
      return;
    } catch (err) {
      server.stop();
      if (attempt >= 5) throw err;
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
