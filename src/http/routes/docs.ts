import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DOCS_CSP, docsFiles } from '../docs-page.js';
import { buildOpenApi, type OpenApiDocument } from '../openapi.js';
import { errorReply, jsonReply } from '../respond.js';
import { route, type Route } from '../router.js';
import { getDocs, getDocsAsset, getDocsSlash, getOpenApi } from '../schemas/static.js';
import { packageRoot } from '../static-files.js';
import { fileReply, pageHeaders } from './console.js';

/**
 * `GET /openapi.json` (the OpenAPI 3.1 document of the route table this server runs) and `GET /docs`
 * (its reference page). Both open, like `/health`: they describe the API and hold no data.
 */
export function docsRoutes(table: () => readonly Route[]): Route[] {
  let document: OpenApiDocument | null = null;
  const headers = pageHeaders(DOCS_CSP);
  return [
    route('get', '/openapi.json', { open: true, schema: getOpenApi }, async () => {
      // Built on first request: by then the table is complete (these routes are part of it).
      document ??= buildOpenApi(table(), { version: packageVersion() });
      return jsonReply(200, document);
    }),
    route('get', '/docs', { open: true, schema: getDocs }, async ({ headers: req }) => fileReply(docsFiles().page, req, headers)),
    // `/docs/` would otherwise reach the route below with an empty file name (a 400). The page's files
    // are relative (`docs/…`), so it cannot be served from here as it is: the browser goes to `/docs`.
    route('get', '/docs/', { open: true, schema: getDocsSlash }, async () => ({
      status: 301,
      text: '',
      contentType: 'text/plain; charset=utf-8',
      headers: { location: '../docs', 'cache-control': 'no-cache' },
    })),
    route('get', '/docs/:file', { open: true, schema: getDocsAsset }, async ({ params, headers: req }) => {
      const file = docsFiles().get(params.file);
      return file ? fileReply(file, req, headers) : errorReply(404, 'NOT_FOUND', 'no such file');
    }),
  ];
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}
