import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FsMediaArchive } from '../../src/media-archive/fs-archive.js';
import { runMediaArchiveContract } from './contract.js';

/** Every file under `dir`, relative to it. */
function walk(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), root) : [relative(root, join(dir, e.name))],
  );
}

/** Temp files, and any file whose bytes do not hash to the address it sits at. */
function leftovers(root: string): string[] {
  return walk(root).filter(
    (rel) =>
      rel.startsWith('tmp/') ||
      createHash('sha256')
        .update(readFileSync(join(root, rel)))
        .digest('hex') !== rel.split('/').at(-1),
  );
}

runMediaArchiveContract(
  'fs',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasync-archive-'));
    const root = join(dir, 'media');
    return {
      archive: await FsMediaArchive.open(root),
      leftovers: async () => leftovers(root),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  // No parts on disk; the size only shapes the test files.
  1024 * 1024,
);

describe('fs archive specifics', () => {
  it('keeps media private: files 0600, directories 0700', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasync-archive-'));
    try {
      const root = join(dir, 'media');
      const archive = await FsMediaArchive.open(root);
      const data = Buffer.from('private photo');
      const h = createHash('sha256').update(data).digest('hex');
      const stored = await archive.put(Readable.from([data]), { sha256: h });
      expect(statSync(join(root, stored.key)).mode & 0o777).toBe(0o600);
      for (const d of [root, join(root, 'tmp'), join(root, 'sha256'), join(root, 'sha256', h.slice(0, 2))])
        expect(statSync(d).mode & 0o777).toBe(0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removes temp files a crash left behind, but not ones another thread may still be writing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasync-archive-'));
    try {
      const root = join(dir, 'media');
      await FsMediaArchive.open(root);
      writeFileSync(join(root, 'tmp', 'old.part'), 'x');
      writeFileSync(join(root, 'tmp', 'new.part'), 'x');
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      utimesSync(join(root, 'tmp', 'old.part'), twoHoursAgo, twoHoursAgo);
      await FsMediaArchive.open(root);
      expect(readdirSync(join(root, 'tmp'))).toEqual(['new.part']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
