import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsc's own record of the last build; its mtime is set to when that build started (see below). */
const BUILD_INFO = path.join(ROOT, 'dist/.tsbuildinfo');
/** What tsconfig.build.json compiles, and what changes its output. */
const SOURCE_DIRS = ['src', 'bench', 'scripts', 'test/support'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/**
 * vitest globalSetup: brings dist/ up to date before any test runs. Worker threads (account actors,
 * the read pool, test/support/sqlite-worker.ts) and child processes (`dist/src/main.js`) cannot load
 * TypeScript, so they run the build: without this step `npx vitest run <file>` after an edit would
 * test the previous build's worker code, and pass or fail for the wrong reason.
 *
 * Cost: nothing newer than the last build → a stat of each source file (a few ms); otherwise an
 * incremental `tsc -p tsconfig.build.json` (about 2-3 s for a small edit, 5 s from clean here).
 * Type errors do not stop it (tsc still emits; `npm run typecheck` is the gate for them).
 */
export default function buildBeforeTests(): void {
  const started = Date.now();
  if (!changedSince(BUILD_INFO)) {
    process.stderr.write('build before tests: dist/ is up to date\n');
    return;
  }
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const out = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--pretty', 'false'], { cwd: ROOT, encoding: 'utf8' });
  if (out.error) throw out.error;
  const diagnostics = `${out.stdout}${out.stderr}`.trim();
  // tsc exits 1 when errors kept it from emitting (bad options), 2 for type errors with every file emitted.
  if (out.status !== 0 && out.status !== 2) throw new Error(`tsc -p tsconfig.build.json failed (exit ${out.status}):\n${diagnostics}`);
  if (diagnostics !== '') process.stderr.write(`build before tests: type errors (dist/ is emitted anyway):\n${diagnostics}\n`);
  // tsc leaves the file alone when nothing needed emitting; stamping it with the start time (not the
  // end) makes a file saved during the build count as changed next time.
  if (existsSync(BUILD_INFO)) utimesSync(BUILD_INFO, new Date(started), new Date(started));
  process.stderr.write(`build before tests: dist/ rebuilt in ${Date.now() - started} ms\n`);
}

function changedSince(stampFile: string): boolean {
  if (!existsSync(stampFile)) return true;
  const stamp = statSync(stampFile).mtimeMs;
  const newer = (file: string): boolean => statSync(file).mtimeMs > stamp;
  if (CONFIG_FILES.some((f) => newer(path.join(ROOT, f)))) return true;
  return SOURCE_DIRS.some((dir) => anyNewer(path.join(ROOT, dir), newer));
}

function anyNewer(dir: string, newer: (file: string) => boolean): boolean {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() ? anyNewer(full, newer) : entry.name.endsWith('.ts') && newer(full)) return true;
  }
  return false;
}
