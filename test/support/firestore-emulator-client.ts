import { randomUUID } from 'node:crypto';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getFirestore, type CollectionReference, type Firestore } from 'firebase-admin/firestore';

/**
 * firebase-admin clients of one running Firestore emulator (Google's: test/support/google-firestore-
 * emulator.ts). Every `connect()` uses a fresh project id unless told to share one: the emulator keeps
 * projects apart, so each store starts empty without clearing anything, and test files running in
 * parallel on the one emulator never see each other's data.
 */
export interface EmulatorClient {
  readonly host: string;
  /** A new App and Firestore client; on a fresh project unless `projectId` names one to share. */
  connect(projectId?: string): Connection;
  /**
   * Every document that exists in a project, found by listing collections and documents (not by any
   * query the code under test issues): proof of what was written. Sorted, relative to the database root.
   */
  documentPaths(projectId: string): Promise<string[]>;
  /** Deletes every App this client made and restores the environment it changed. */
  close(): Promise<void>;
}

export interface Connection {
  app: App;
  firestore: Firestore;
  projectId: string;
  /** Deletes the App (idempotent). */
  close(): Promise<void>;
}

/** A project id of its own for a test (lower case, as Firestore project ids are). */
export function testProjectId(prefix = 'wasync-test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function emulatorClient(host: string): EmulatorClient {
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
  const previousMetadata = process.env.METADATA_SERVER_DETECTION;
  // firebase-admin reads this when a Firestore instance is created: set before any connect().
  process.env.FIRESTORE_EMULATOR_HOST = host;
  // Tests never talk to Google: without this, google-auth may probe the GCE metadata server.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const apps = new Set<App>();

  const connect = (shared?: string): Connection => {
    const projectId = shared ?? testProjectId();
    const app = initializeApp({ projectId }, `test-${projectId}-${randomUUID().slice(0, 8)}`);
    apps.add(app);
    const firestore = getFirestore(app);
    // Explicitly too: a test may take FIRESTORE_EMULATOR_HOST out of process.env while an app under
    // test runs (it must reach the emulator through the env it is given), and a client made then
    // would otherwise go to Google. ssl: false is what makes the client authenticate as the owner.
    firestore.settings({ host, ssl: false });
    let closed = false;
    return {
      app,
      projectId,
      firestore,
      async close() {
        if (closed) return;
        closed = true;
        apps.delete(app);
        await deleteApp(app);
      },
    };
  };

  return {
    host,
    connect,
    async documentPaths(projectId) {
      const connection = connect(projectId);
      try {
        return await listDocumentPaths(connection.firestore);
      } finally {
        await connection.close();
      }
    },
    async close() {
      await Promise.all([...apps].map((app) => deleteApp(app)));
      apps.clear();
      restoreEnv('FIRESTORE_EMULATOR_HOST', previousHost);
      restoreEnv('METADATA_SERVER_DETECTION', previousMetadata);
    },
  };
}

/** Walks ListCollectionIds / ListDocuments down the tree; a listed document may be missing (only subcollections). */
async function listDocumentPaths(db: Firestore): Promise<string[]> {
  const out: string[] = [];
  const walk = async (collections: CollectionReference[]): Promise<void> => {
    for (const collection of collections) {
      const refs = await collection.listDocuments();
      if (refs.length === 0) continue;
      for (const snap of await db.getAll(...refs)) if (snap.exists) out.push(snap.ref.path);
      for (const ref of refs) await walk(await ref.listCollections());
    }
  };
  await walk(await db.listCollections());
  return out.sort();
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
