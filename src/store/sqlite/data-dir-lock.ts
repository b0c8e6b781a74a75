import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { WasyncError } from '../../domain/errors.js';

/**
 * SQLite is one instance per database: two processes sharing `DATA_DIR` would both run every account
 * (and fight WhatsApp for each session) without knowing of each other. The process holds an exclusive
 * SQLite lock on `DATA_DIR/wasync.lock` for its whole life (`BEGIN EXCLUSIVE` in
 * `locking_mode=EXCLUSIVE`, never committed): an advisory lock of the operating system, which the
 * kernel drops when the process ends in any way, `kill -9` and power loss included, unlike a pid
 * file that a crash leaves behind. A second process finds the lock taken at once and refuses to start.
 * `wasync.lock.json` beside it names the holder for that message only; the lock alone decides.
 */
export interface DataDirLock {
  readonly file: string;
  release(): void;
}

export function lockDataDir(dataDir: string, holder: { instanceId: string }): DataDirLock {
  const file = path.resolve(dataDir, 'wasync.lock');
  const info = `${file}.json`;
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY')) {
      throw new WasyncError(
        'CONFLICT',
        `another wasync process is already using DATA_DIR ${path.resolve(dataDir)}${describeHolder(info)}: ` +
          'a SQLite store serves one process only. Stop that process first, or give this one its own DATA_DIR; ' +
          'several instances on one database need STORE=firestore.',
      );
    }
    throw err;
  }
  writeFileSync(info, `${JSON.stringify({ pid: process.pid, instanceId: holder.instanceId, since: new Date().toISOString() })}\n`, {
    mode: 0o600,
  });
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      rmSync(info, { force: true });
      db.close();
    },
  };
}

function describeHolder(info: string): string {
  try {
    const h = JSON.parse(readFileSync(info, 'utf8')) as { pid?: unknown; instanceId?: unknown; since?: unknown };
    return ` (held by pid ${String(h.pid)}, INSTANCE_ID ${String(h.instanceId)}, since ${String(h.since)})`;
  } catch {
    return '';
  }
}
