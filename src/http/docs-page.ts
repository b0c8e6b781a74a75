import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { makeStaticFile, packageRoot, type StaticFile } from './static-files.js';

/**
 * The API reference page at `/docs`: Swagger UI (swagger-ui-dist, from node_modules: a dependency, so
 * it is there after `npm ci --omit=dev` too) rendering `/openapi.json`. Swagger UI because operators
 * coming from Evolution API and WAHA know it, it renders OpenAPI 3.1 with webhooks, its "Try it out"
 * takes the bearer token, and it runs under the console's strict CSP (no inline script or style, nothing
 * from another origin). Its init script is a file of ours, not inline; the validator badge (a request
 * to swagger.io) is off.
 */

/** The page's CSP: the console's, plus `data:` images (Swagger UI's icons are SVG data URLs in its CSS). */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Relative URLs throughout: the page also works behind a reverse proxy that mounts wasync under a prefix. */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wasync API reference</title>
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/wasync-docs.js"></script>
</body>
</html>
`;

const INIT = `// wasync: Swagger UI on this server's own OpenAPI document.
window.ui = SwaggerUIBundle({
  url: 'openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
});
`;

/** What the reference page needs from swagger-ui-dist. */
const VENDOR_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png'] as const;

export interface DocsFiles {
  page: StaticFile;
  get(name: string): StaticFile | undefined;
}

let loaded: DocsFiles | null = null;

/**
 * Read and compressed on the first request for the page or a file of it, once per process: the bundle
 * is 1.7 MB, and most processes (tests, servers nobody reads the docs of) never serve it.
 */
export function docsFiles(): DocsFiles {
  if (loaded) return loaded;
  const dir = swaggerUiDir();
  const files = new Map<string, StaticFile>();
  for (const name of VENDOR_FILES) {
    files.set(name, makeStaticFile(name, readFileSync(path.join(dir, name)), { brotliQuality: 5, immutable: false }));
  }
  files.set('wasync-docs.js', makeStaticFile('wasync-docs.js', Buffer.from(INIT)));
  const page = makeStaticFile('docs.html', Buffer.from(PAGE));
  loaded = { page, get: (name) => files.get(name) };
  return loaded;
}

function swaggerUiDir(): string {
  const require = createRequire(path.join(packageRoot(), 'package.json'));
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}
