import type { BytesReply } from '../respond.js';
import { errorReply } from '../respond.js';
import { route, type RequestHeaders, type Route } from '../router.js';
import { consoleAsset, consoleFile, consolePage } from '../schemas/static.js';
import { CONSOLE_CSP, cacheControlFor, notModified, pickEncoding, type StaticFile, type StaticFiles } from '../static-files.js';

/**
 * The operator console (web/, built into dist/web/ by `npm run build`): `/` serves its page, `/assets/…`
 * its hashed scripts and styles, and each top-level file of the build (the icon) its own path. These
 * routes are open like `/health`: the page holds no data, and everything it shows it asks the API for
 * with the token the operator pastes. Every other path keeps the API's rules (unknown paths: 401
 * without the token, 404 JSON with it).
 */
export function consoleRoutes(files: StaticFiles): Route[] {
  const serveIndex = async ({ headers }: { headers: RequestHeaders }): Promise<BytesReply> => {
    const index = files.get('index.html');
    return index ? fileReply(index, headers) : NOT_BUILT;
  };
  return [
    route('get', '/', { open: true, schema: consolePage('getConsole') }, serveIndex),
    route('get', '/index.html', { open: true, schema: consolePage('getConsoleIndexHtml') }, serveIndex),
    route('get', '/assets/:file', { open: true, schema: consoleAsset }, async ({ params, headers }) => {
      // `:file` was percent-decoded and refused if it held a separator, `..` or a control character;
      // a name that is not in the build is a 404 whatever it holds.
      const file = files.get(`assets/${params.file}`);
      return file ? fileReply(file, headers) : errorReply(404, 'NOT_FOUND', 'no such file');
    }),
    ...files
      .topLevel()
      .map((name) =>
        route('get', `/${name}`, { open: true, schema: consoleFile(name) }, async ({ headers }) => fileReply(files.get(name)!, headers)),
      ),
  ];
}

/** A file with its ETag (304 on a match) and the best encoding the client accepts. */
export function fileReply(
  file: StaticFile,
  req: RequestHeaders,
  pageHeaders: Readonly<Record<string, string>> = CONSOLE_PAGE_HEADERS,
): BytesReply {
  const headers: Record<string, string> = {
    'cache-control': cacheControlFor(file),
    etag: file.etag,
    vary: 'accept-encoding',
  };
  if (file.contentType.startsWith('text/html')) Object.assign(headers, pageHeaders);
  if (notModified(file, req.ifNoneMatch ?? '')) return { status: 304, bytes: new Uint8Array(0), contentType: file.contentType, headers };
  const { encoding, body } = pickEncoding(file, req.acceptEncoding ?? '');
  if (encoding) headers['content-encoding'] = encoding;
  return { status: 200, bytes: body, contentType: file.contentType, headers };
}

/** What a page of ours is sent with: its CSP, no referrer, no framing. */
export function pageHeaders(csp: string): Readonly<Record<string, string>> {
  return {
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

const CONSOLE_PAGE_HEADERS = pageHeaders(CONSOLE_CSP);

/**
 * A checkout started without `npm run build` (or with a failed web build): say what to run. The
 * folder is not named: this route is open, and paths stay in the logs.
 */
const NOT_BUILT: BytesReply = {
  status: 503,
  bytes: Buffer.from(
    '<!doctype html><meta charset="utf-8"><title>wasync: console not built</title>' +
      '<h1>The console is not built</h1>' +
      '<p>Run <code>npm run build</code> (<code>npm start</code> does it first) and restart the server. ' +
      'The API works without it.</p>',
  ),
  contentType: 'text/html; charset=utf-8',
  headers: { 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'" },
};
