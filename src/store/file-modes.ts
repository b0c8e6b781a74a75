import { statSync } from 'node:fs';
import path from 'node:path';

/** A file or directory under DATA_DIR that others than its owner may read or enter. */
export interface ExposedPath {
  path: string;
  /** Permission bits, octal as `ls -l` shows them (`0644`). */
  mode: string;
}

/**
 * DATA_DIR holds the database (Baileys credentials, Signal keys, every message) and the API token:
 * wasync creates the directory 0700 and its files 0600, but one that existed before keeps the mode it
 * had. Start-up warns about each that group or others can access (it does not chmod what an operator
 * set up: a shared group may be on purpose).
 */
export function exposedDataPaths(dataDir: string): ExposedPath[] {
  const candidates = [dataDir, ...['wasync.db', 'wasync.db-wal', 'wasync.db-shm', 'api-token'].map((f) => path.join(dataDir, f))];
  const out: ExposedPath[] = [];
  for (const p of candidates) {
    let mode: number;
    try {
      mode = statSync(p).mode & 0o777;
    } catch {
      continue; // not there (no -wal yet, a Firestore deployment, API_TOKEN set)
    }
    if ((mode & 0o077) !== 0) out.push({ path: path.resolve(p), mode: `0${mode.toString(8)}` });
  }
  return out;
}
