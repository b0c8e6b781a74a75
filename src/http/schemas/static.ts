import { Type } from '@sinclair/typebox';
import { errorResponse, type HeaderSpec, json, type RawResponseSpec, type RouteSchema } from './common.js';

/** The console's files (src/http/routes/console.ts), this document and its reference page (src/http/routes/docs.ts). */

const cacheHeaders: Readonly<Record<string, HeaderSpec>> = {
  ETag: { description: 'Revalidate with `If-None-Match`.' },
  'Cache-Control': { description: '`no-cache` for pages, `immutable` for hashed assets.' },
};

const file = (description: string, contentType = '*/*'): RawResponseSpec => ({
  description,
  contentType,
  schema: Type.String({ description: 'The file (gzip or brotli per `Accept-Encoding`).' }),
  headers: cacheHeaders,
});
const notModified = { description: 'Not modified since the `If-None-Match` ETag.', empty: true as const, headers: cacheHeaders };
const FileParams = Type.Object({ file: Type.String({ minLength: 1, description: 'A file name of the build.' }) });

export function consolePage(operationId: string) {
  return {
    operationId,
    tags: ['Console'],
    summary: 'The operator console',
    description: 'Open (no token): the page holds no data and asks for the token.',
    responses: {
      200: file('The console’s page.', 'text/html'),
      304: notModified,
      503: { description: 'The console is not built (`npm run build`).', contentType: 'text/html' },
    },
  } as const satisfies RouteSchema;
}

export const consoleAsset = {
  operationId: 'getConsoleAsset',
  tags: ['Console'],
  summary: 'A hashed script or style of the console',
  params: FileParams,
  responses: { 200: file('The file.'), 304: notModified, 404: errorResponse(404, 'No such file.') },
} as const satisfies RouteSchema;

/** A top-level file of the console's build (its icon): one route per file, named after it. */
export function consoleFile(name: string) {
  return {
    operationId: `getConsoleFile_${name.replace(/[^A-Za-z0-9]/g, '_')}`,
    tags: ['Console'],
    summary: `The console’s ${name}`,
    responses: { 200: file('The file.'), 304: notModified },
  } as const satisfies RouteSchema;
}

export const getOpenApi = {
  operationId: 'getOpenApi',
  tags: ['Documentation'],
  summary: 'This OpenAPI 3.1 document',
  description: 'Open (no token): it describes the API, it holds no data.',
  responses: {
    200: json(
      Type.Object({ openapi: Type.String({ pattern: '^3\\.1\\.' }), info: Type.Object({}), paths: Type.Object({}) }),
      'The document.',
    ),
  },
} as const satisfies RouteSchema;

export const getDocs = {
  operationId: 'getDocs',
  tags: ['Documentation'],
  summary: 'The API reference page',
  description: 'Open (no token). Swagger UI, served from this server (no CDN); “Authorize” takes the bearer token.',
  responses: { 200: file('The page.', 'text/html') },
} as const satisfies RouteSchema;

export const getDocsSlash = {
  operationId: 'getDocsTrailingSlash',
  tags: ['Documentation'],
  summary: 'The API reference page, asked for with a trailing slash',
  description: 'Open (no token). Redirects to `/docs`, whose files are addressed relative to it.',
  responses: {
    301: {
      description: 'The page is at `/docs`.',
      empty: true,
      headers: { Location: { description: '`../docs`: relative, so a reverse proxy that serves wasync under a path prefix keeps it.' } },
    },
  },
} as const satisfies RouteSchema;

export const getDocsAsset = {
  operationId: 'getDocsAsset',
  tags: ['Documentation'],
  summary: 'A script, style or icon of the reference page',
  params: FileParams,
  responses: { 200: file('The file.'), 304: notModified, 404: errorResponse(404, 'No such file.') },
} as const satisfies RouteSchema;
