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
/** The console (web/ → dist/web/, `npm run build:web`): its page is the stamp, every file under web/ a source. */
const WEB_STAMP = path.join(ROOT, 'dist/web/index.html');
const WEB_SOURCES = path.join(ROOT, 'web');

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
  buildServer();
  buildConsole();
}

function buildServer(): void {
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

/**
 * The console's bundle, rebuilt with Vite when a file under web/ (or the lock file) is newer than the
 * last build's index.html: the browser tests and the static-file tests serve dist/web/. About 1 s.
 */
function buildConsole(): void {
  const started = Date.now();
  if (existsSync(WEB_STAMP)) {
    const stamp = statSync(WEB_STAMP).mtimeMs;
    const newer = (file: string): boolean => statSync(file).mtimeMs > stamp;
    if (!newer(path.join(ROOT, 'package-lock.json')) && !anyNewer(WEB_SOURCES, newer, () => true)) {
      process.stderr.write('build before tests: dist/web/ is up to date\n');
      return;
    }
  }
  const vite = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin/vite.js');
  const out = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts'], { cwd: ROOT, encoding: 'utf8' });
  if (out.error) throw out.error;
  if (out.status !== 0) throw new Error(`vite build (the console, web/) failed (exit ${out.status}):\n${out.stdout}${out.stderr}`);
  process.stderr.write(`build before tests: dist/web/ rebuilt in ${Date.now() - started} ms\n`);
}

function changedSince(stampFile: string): boolean {
  if (!existsSync(stampFile)) return true;
  const stamp = statSync(stampFile).mtimeMs;
  const newer = (file: string): boolean => statSync(file).mtimeMs > stamp;
  if (CONFIG_FILES.some((f) => newer(path.join(ROOT, f)))) return true;
  return SOURCE_DIRS.some((dir) => anyNewer(path.join(ROOT, dir), newer));
}

function anyNewer(dir: string, newer: (file: string) => boolean, counts = (name: string) => name.endsWith('.ts')): boolean {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() ? anyNewer(full, newer, counts) : counts(entry.name) && newer(full)) return true;
  }
  return false;
}
