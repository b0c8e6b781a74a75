import { randomUUID } from 'node:crypto';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore } from 'firebase-admin/firestore';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../logging/logger.js';
import type { Store } from '../port.js';
import { ConfigError } from '../../domain/errors.js';
import { resolveFirestoreApp, verifyCredential, type CredentialEnv } from './credentials.js';
import { FirestoreStore, type FirestoreStoreOptions } from './firestore-store.js';

export { FirestoreStore, type FirestoreStoreOptions } from './firestore-store.js';
export {
  resolveFirestoreApp,
  verifyCredential,
  parseServiceAccount,
  type CredentialEnv,
  type ResolvedFirestoreApp,
} from './credentials.js';
export {
  Committer,
  RampingTokenBucket,
  planCommits,
  estimateWriteBytes,
  FIRESTORE_COMMIT_LIMITS,
  DEFAULT_RAMP,
  DEFAULT_RETRY,
  type CommitterOptions,
  type RampOptions,
  type RetryOptions,
} from './batching.js';
export { COLLECTIONS } from './paths.js';

/**
 * The store for `STORE=firestore`. Each call creates its own named firebase-admin App, so several
 * stores (the HTTP layer's, each account worker's, tests') coexist in one process; `close()` deletes
 * it. Credentials are resolved and verified here, so a bad `FIREBASE_SERVICE_ACCOUNT_JSON` stops
 * start-up with a ConfigError naming the variable.
 *
 * `env` supplies FIRESTORE_EMULATOR_HOST and the project variables (default: process.env). An
 * emulator host given in `env` alone is applied to the client explicitly (firebase-admin itself only
 * reads process.env, which wins over any setting); a different one in process.env is a ConfigError.
 */
export async function openFirestoreStore(config: Config, logger: Logger, env: CredentialEnv = process.env): Promise<Store> {
  const resolved = resolveFirestoreApp({
    FIREBASE_SERVICE_ACCOUNT_JSON: config.FIREBASE_SERVICE_ACCOUNT_JSON,
    FIRESTORE_EMULATOR_HOST: env.FIRESTORE_EMULATOR_HOST,
    GOOGLE_CLOUD_PROJECT: env.GOOGLE_CLOUD_PROJECT,
    GCLOUD_PROJECT: env.GCLOUD_PROJECT,
  });
  await verifyCredential(resolved);
  const processHost = process.env.FIRESTORE_EMULATOR_HOST?.trim() || undefined;
  if (processHost !== undefined && resolved.emulatorHost !== processHost) {
    // The client always prefers process.env's emulator host: it would silently talk to another server.
    throw new ConfigError(
      `firestore: FIRESTORE_EMULATOR_HOST is "${processHost}" in the process environment but ` +
        `${resolved.emulatorHost ? `"${resolved.emulatorHost}"` : 'unset'} in the environment the store was opened with`,
    );
  }
  const app = initializeApp(resolved.options, `wasync-firestore-${randomUUID()}`);
  const firestore = getFirestore(app);
  // firebase-admin only reads the emulator host from process.env; `env` may carry it alone.
  if (resolved.emulatorHost !== undefined && processHost === undefined) firestore.settings({ host: resolved.emulatorHost, ssl: false });
  logger.info(
    { credentials: resolved.source, projectId: resolved.projectId ?? '(from credentials)', emulatorHost: resolved.emulatorHost },
    'firestore store opened',
  );
  return createFirestoreStore({ firestore, logger, onClose: () => deleteApp(app) });
}

/** The lower-level constructor: bring your own Firestore (tests, tools). */
export function createFirestoreStore(options: FirestoreStoreOptions): FirestoreStore {
  return new FirestoreStore(options);
}
