import { etagOf, ifNoneMatchHits } from './etag.js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

/**
 * The operator console's built files (`npm run build` → `dist/web/`), loaded into memory once when the
 * server starts. The whole build is a few hundred KiB; serving it from a map keyed by the files that
 * exist makes path traversal impossible by construction (a name is either a key or a 404), and lets
 * every file carry its ETag and its compressed forms, computed once.
 */

export interface StaticFile {
  /** Path under the console root, `/`-separated, without a leading slash (`assets/index-3f2a.js`). */
  name: string;
  contentType: string;
  body: Buffer;
  /** Smaller encodings, when they are worth it (text files over 1 KiB). */
  gzip: Buffer | null;
  br: Buffer | null;
  etag: string;
  /** Vite's hashed output (`assets/…`): the name changes whenever the content does. */
  immutable: boolean;
}

export interface StaticFiles {
  /** The folder the files were read from. */
  root: string;
  /** False when the folder or its `index.html` is missing (the console was not built). */
  built: boolean;
  get(name: string): StaticFile | undefined;
  /** Names of the files at the top level (besides `index.html`), e.g. `favicon.svg`. */
  topLevel(): string[];
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
};

export function contentTypeFor(name: string): string {
  return CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
}

const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/;
const MIN_COMPRESS_BYTES = 1024;

/**
 * Where `npm run build` writes the console: `<package root>/dist/web`. Found by walking up to the
 * package.json, so it is the same from `src/http` (vitest runs the sources) and `dist/src/http`.
 */
export function defaultConsoleDir(): string {
  return path.join(packageRoot(), 'dist', 'web');
}

/** The folder of wasync's package.json (the working directory if none is found). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve('.');
    dir = parent;
  }
}

export function loadStaticFiles(root: string): StaticFiles {
  const files = new Map<string, StaticFile>();
  if (existsSync(root) && statSync(root).isDirectory()) {
    for (const name of listFiles(root, '')) files.set(name, loadFile(root, name));
  }
  return {
    root,
    built: files.has('index.html'),
    get: (name) => files.get(name),
    topLevel: () => [...files.keys()].filter((n) => !n.includes('/') && n !== 'index.html'),
  };
}

function listFiles(root: string, prefix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(root, prefix), { withFileTypes: true })) {
    const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    // Dot files (an editor's swap file, .DS_Store) are never part of a build.
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) out.push(...listFiles(root, name));
    else if (entry.isFile()) out.push(name);
  }
  return out;
}

function loadFile(root: string, name: string): StaticFile {
  return makeStaticFile(name, readFileSync(path.join(root, ...name.split('/'))));
}

/**
 * One file with its ETag and compressed forms. `brotliQuality` below the default 11 for large files
 * compressed while the server runs (the API reference's 1.7 MB bundle: quality 11 takes seconds).
 */
export function makeStaticFile(name: string, body: Buffer, opts: { brotliQuality?: number; immutable?: boolean } = {}): StaticFile {
  const contentType = contentTypeFor(name);
  const compress = COMPRESSIBLE.test(contentType) && body.length >= MIN_COMPRESS_BYTES;
  const quality = opts.brotliQuality ?? 11;
  const gzip = compress ? smaller(gzipSync(body, { level: 9 }), body) : null;
  const br = compress
    ? smaller(
        brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: quality, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } }),
        body,
      )
    : null;
  return {
    name,
    contentType,
    body,
    gzip,
    br,
    etag: etagOf(body),
    immutable: opts.immutable ?? name.startsWith('assets/'),
  };
}

function smaller(encoded: Buffer, original: Buffer): Buffer | null {
  return encoded.length < original.length ? encoded : null;
}

/**
 * The console's Content-Security-Policy: its own scripts, styles and fonts only (no inline script or
 * style, no CDN), API calls and the live feed to this origin (CSP 3's `'self'` covers `ws:`/`wss:` of
 * the same host), images from this origin or from blobs (media is fetched with the bearer token and
 * shown as a blob URL: a token never goes into a URL). No framing, no plugins, no `<base>`.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed assets never change under their name; everything else is revalidated on every load (ETag). */
export function cacheControlFor(file: StaticFile): string {
  return file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/** Picks the best encoding the client accepts among those the file has (brotli, then gzip, then none). */
export function pickEncoding(file: StaticFile, acceptEncoding: string): { encoding: 'br' | 'gzip' | null; body: Buffer } {
  const accepted = parseAcceptEncoding(acceptEncoding);
  if (file.br && accepted.has('br')) return { encoding: 'br', body: file.br };
  if (file.gzip && accepted.has('gzip')) return { encoding: 'gzip', body: file.gzip };
  return { encoding: null, body: file.body };
}

/** Codings with a non-zero q value (`gzip;q=0` refuses gzip). */
function parseAcceptEncoding(header: string): Set<string> {
  const out = new Set<string>();
  for (const part of header.toLowerCase().split(',')) {
    const [coding, ...params] = part.trim().split(';');
    if (!coding) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    out.add(coding.trim());
  }
  return out;
}

/** True when the client's cached copy (`If-None-Match`) is the current one. */
export function notModified(file: StaticFile, ifNoneMatch: string): boolean {
  return ifNoneMatchHits(ifNoneMatch, file.etag);
}
