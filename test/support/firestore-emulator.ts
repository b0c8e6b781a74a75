import { randomUUID } from 'node:crypto';
import { FirestoreServer } from '@firestore-emulator/server';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { freePort } from './free-port.js';

/**
 * A Firestore emulator for tests: `@firestore-emulator/server` started in-process on a free port
 * (it speaks the real gRPC API to firebase-admin), or an emulator already running elsewhere when
 * `WASYNC_TEST_FIRESTORE_EMULATOR_HOST` names one (e.g. Google's own emulator, `firebase emulators:start
 * --only firestore`, which implements collection-group queries and transaction isolation, so the
 * emulator-gap tests run there).
 *
 * Every `connect()` uses a fresh project id: the emulator keeps projects apart, so each store starts
 * empty without clearing anything, and tests of one file cannot see each other's data.
 */
export interface FirestoreEmulator {
  readonly host: string;
  /** `in-process`: the npm emulator, with the gaps listed in docs/firestore.md. */
  readonly kind: 'in-process' | 'external';
  /** A new App and Firestore client; on a fresh project unless `projectId` names one to share. */
  connect(projectId?: string): Connection;
  /**
   * Every document path that holds fields in a project, from the emulator's own state (in-process
   * only; null for an external emulator): proof of what was written, independent of any query.
   */
  documentPaths(projectId: string): string[] | null;
  /**
   * Records every document write (create, update, delete) the emulator applies in a project, in
   * order (in-process only; null for an external emulator). How tests count writes per document.
   */
  recordWrites(projectId: string): WriteRecorder | null;
  stop(): Promise<void>;
}

export interface WriteRecorder {
  /** `kind path` per write, oldest first, paths relative to the database root. */
  readonly writes: ReadonlyArray<{ kind: 'create' | 'update' | 'delete'; path: string }>;
  clear(): void;
  stop(): void;
}

export interface Connection {
  app: App;
  firestore: Firestore;
  projectId: string;
  /** Deletes the App (idempotent). */
  close(): Promise<void>;
}

export async function startFirestoreEmulator(): Promise<FirestoreEmulator> {
  const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
  const previousMetadata = process.env.METADATA_SERVER_DETECTION;
  const external = process.env.WASYNC_TEST_FIRESTORE_EMULATOR_HOST;
  let server: FirestoreServer | null = null;
  let host: string;
  if (external) {
    host = external;
  } else {
    ({ server, host } = await startInProcess());
  }
  // firebase-admin reads this when a Firestore instance is created: set before any connect().
  process.env.FIRESTORE_EMULATOR_HOST = host;
  // Tests never talk to Google: without this, google-auth may probe the GCE metadata server.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const apps = new Set<App>();

  return {
    host,
    kind: server ? 'in-process' : 'external',
    connect(shared?: string) {
      const projectId = shared ?? `wasync-test-${randomUUID().slice(0, 8)}`;
      const app = initializeApp({ projectId }, `test-${projectId}-${randomUUID().slice(0, 8)}`);
      apps.add(app);
      let closed = false;
      return {
        app,
        projectId,
        firestore: getFirestore(app),
        async close() {
          if (closed) return;
          closed = true;
          apps.delete(app);
          await deleteApp(app);
        },
      };
    },
    documentPaths(projectId) {
      if (!server) return null;
      const state = server.state.toJSON() as { projects: Record<string, unknown> };
      const paths: string[] = [];
      collectDocumentPaths(state.projects[projectId], paths);
      return paths.map((p) => p.replace(/^projects\/[^/]+\/databases\/[^/]+\/documents\//, '')).sort();
    },
    recordWrites(projectId) {
      if (!server) return null;
      const emitter = server.state.emitter;
      const prefix = `projects/${projectId}/databases/`;
      const writes: Array<{ kind: 'create' | 'update' | 'delete'; path: string }> = [];
      const listeners = (['create', 'update', 'delete'] as const).map((kind) => {
        const listener = ({ document }: { document: { getPath(): string } }) => {
          const path = document.getPath();
          if (path.startsWith(prefix)) writes.push({ kind, path: path.replace(/^projects\/[^/]+\/databases\/[^/]+\/documents\//, '') });
        };
        emitter.on(`${kind}-document`, listener);
        return () => emitter.off(`${kind}-document`, listener);
      });
      return {
        writes,
        clear: () => {
          writes.length = 0;
        },
        stop: () => listeners.forEach((off) => off()),
      };
    },
    async stop() {
      await Promise.all([...apps].map((app) => deleteApp(app)));
      apps.clear();
      server?.stop();
      restoreEnv('FIRESTORE_EMULATOR_HOST', previousHost);
      restoreEnv('METADATA_SERVER_DETECTION', previousMetadata);
    },
  };
}

async function startInProcess(): Promise<{ server: FirestoreServer; host: string }> {
  // The server binds the port it is given and does not report one it chose, so pick a free port
  // first; another process may grab it in between, hence the retries.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new FirestoreServer();
    try {
      await server.start(port);
      return { server, host: `127.0.0.1:${port}` };
    } catch (err) {
      server.stop();
      if (attempt >= 5) throw err;
    }
  }
}


function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Walks the emulator's JSON state: documents with fields are the ones that exist. */
function collectDocumentPaths(node: unknown, out: string[]): void {
  if (node === null || typeof node !== 'object') return;
  const n = node as { path?: unknown; fields?: Record<string, unknown>; databases?: unknown; collections?: unknown; documents?: unknown };
  if (typeof n.path === 'string' && n.fields !== undefined && Object.keys(n.fields).length > 0) out.push(n.path);
  for (const child of [n.databases, n.collections, n.documents]) {
    if (child && typeof child === 'object') for (const value of Object.values(child)) collectDocumentPaths(value, out);
  }
}
