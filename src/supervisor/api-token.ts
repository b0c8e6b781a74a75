import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';

/**
 * The API token when `API_TOKEN` is unset: generated once, kept in `DATA_DIR/api-token` with mode
 * 0600 so only the service user can read it, and reused on every later start.
 */
export function ensureApiToken(dataDir: string): { token: string; file: string; created: boolean } {
  const file = path.resolve(dataDir, 'api-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 32) return { token, file, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing, too-short file keeps its old mode through writeFileSync
  return { token, file, created: true };
}
