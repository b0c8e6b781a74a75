import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureApiToken } from '../../src/supervisor/api-token.js';

describe('ensureApiToken', () => {
  it('creates a random token once, mode 0600, and reuses it on the next start', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-token-'));
    try {
      const first = ensureApiToken(path.join(dir, 'nested'));
      expect(first.created).toBe(true);
      expect(first.token.length).toBeGreaterThanOrEqual(32);
      expect(statSync(first.file).mode & 0o777).toBe(0o600);
      const second = ensureApiToken(path.join(dir, 'nested'));
      expect(second).toMatchObject({ token: first.token, created: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces a truncated token file and tightens its mode', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasync-token-'));
    try {
      const file = path.join(dir, 'api-token');
      writeFileSync(file, 'short\n', { mode: 0o644 });
      const t = ensureApiToken(dir);
      expect(t.created).toBe(true);
      expect(t.token).not.toBe('short');
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
