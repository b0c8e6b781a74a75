import type { TObject, TSchema } from '@sinclair/typebox';
import type { Route } from './router.js';
import { componentName, ErrorEnvelope, type ResponseSpec, responsesOf } from './schemas/common.js';
import { FEED_DESCRIPTION, FEED_EVENTS, type FeedEventDoc } from './schemas/feed.js';

/**
 * The OpenAPI 3.1 document, built from the route table and the routes' schemas: the same objects that
 * check requests, so the document cannot describe an API the server does not have. Served open at
 * `GET /openapi.json`; `/docs` renders it.
 */

export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, unknown>> };

export interface OpenApiOptions {
  /** The package's version (`info.version`). */
  version: string;
  /** The live feed's events (src/http/schemas/feed.ts); the webhooks section lists them. */
  feedEvents?: readonly FeedEventDoc[];
  feedDescription?: string | null;
}

const TAGS = [
  { name: 'Conversations', description: 'Threads and messages, straight from the store, keyset-paginated.' },
  { name: 'Messaging', description: 'Sending.' },
  { name: 'Media', description: 'Media files of stored messages.' },
  { name: 'Accounts', description: 'Account lifecycle, pairing and backfill.' },
  { name: 'API keys', description: 'Scoped keys for inbox apps (admin).' },
  { name: 'Operations', description: 'Probes, diagnostics, the dashboard summary and metrics.' },
  { name: 'Documentation', description: 'This document and its reference page.' },
  { name: 'Console', description: 'The operator console’s page and files.' },
];

const DESCRIPTION = `A complete, queryable copy of WhatsApp conversations (README, API).

**Authentication.** Every route needs \`Authorization: Bearer <token>\` except those marked open: \`/health\`,
\`/ready\`, \`/metrics\`, this document (\`/openapi.json\`), its reference page (\`/docs\`) and the console's
files. The token is the bootstrap token (\`DATA_DIR/api-token\` or \`API_TOKEN\`, an unlimited admin) or an
API key (\`wsk_…\`, \`POST /api/whatsapp/api-keys\`) whose scopes cover the operation: each operation names
the scope it needs (\`x-wasync-scope\`: \`read\`, \`send\` or \`admin\`; \`admin\` covers the others) and how it
names its account (\`x-wasync-account\`). A key limited to some accounts gets 403 \`FORBIDDEN\` for any other
account, and for operations that name no account.

**Errors** are always \`{ "success": false, "error": { "code", "message" } }\`; a 400 names the field.

**Timestamps** are ISO 8601 strings. **Pagination** is keyset-based: pass \`nextCursor\` back as \`cursor\`.`;

/** `/a/:b` → `/a/{b}` */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function buildOpenApi(routes: readonly Route[], opts: OpenApiOptions): OpenApiDocument {
  const components = new Map<string, unknown>();
  const plain = (schema: TSchema): unknown => toPlain(schema, components, true);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.pattern);
    const item = paths[path] ?? {};
    paths[path] = item;
    item[route.method] = route.schema ? operation(route, plain) : undocumented(route);
  }
  const feedEvents = opts.feedEvents ?? FEED_EVENTS;
  const feedDescription = opts.feedDescription === undefined ? FEED_DESCRIPTION : opts.feedDescription;
  const webhooks: Record<string, unknown> = {};
  for (const event of feedEvents) {
    webhooks[event.name] = {
      post: {
        operationId: `webhook_${event.name.replace(/[^A-Za-z0-9_]/g, '_')}`,
        summary: event.summary,
        ...(event.description ? { description: event.description } : {}),
        tags: ['Live feed'],
        requestBody: { required: true, content: { 'application/json': { schema: plain(event.payload) } } },
        responses: { '2XX': { description: 'Any 2xx acknowledges the delivery.' } },
      },
    };
  }
  // The error envelope is listed even if no route referred to it by name (it always is).
  plain(ErrorEnvelope);
  const tags = feedEvents.length > 0 ? [...TAGS, { name: 'Live feed', description: 'Events of the live feed.' }] : TAGS;
  return {
    openapi: '3.1.0',
    info: {
      title: 'wasync API',
      version: opts.version,
      description: feedDescription ? `${DESCRIPTION}\n\n${feedDescription}` : DESCRIPTION,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags,
    security: [{ bearerAuth: [] }],
    paths,
    ...(feedEvents.length > 0 ? { webhooks } : {}),
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The bootstrap token (`DATA_DIR/api-token` or `API_TOKEN`, every scope) or an API key (`wsk_…`) ' +
            'with the scope the operation names in `x-wasync-scope`.',
        },
      },
      schemas: Object.fromEntries([...components.entries()].sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}

function operation(route: Route, plain: (s: TSchema) => unknown): Record<string, unknown> {
  const schema = route.schema!;
  const parameters = [...parametersOf(schema.params, 'path', plain), ...parametersOf(schema.query, 'query', plain)];
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(responsesOf(schema, route))) responses[status] = response(spec, plain);
  const access = accessNote(route);
  const description = [schema.description, access].filter((d) => d !== undefined && d !== '').join('\n\n');
  return {
    operationId: schema.operationId,
    summary: schema.summary,
    ...(description ? { description } : {}),
    tags: [...schema.tags],
    ...(route.open ? { security: [] } : {}),
    ...(route.scope ? { 'x-wasync-scope': route.scope, 'x-wasync-account': route.account } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(schema.body
      ? {
          requestBody: {
            required: !(schema.bodyOptional ?? false),
            content: { 'application/json': { schema: plain(schema.body) } },
          },
        }
      : {}),
    responses,
  };
}

const ACCOUNT_NOTES: Readonly<Record<Route['account'], string>> = {
  param: 'a key limited to some accounts must cover the path’s `accountId`',
  body: 'a key limited to some accounts must cover the body’s `accountId`',
  filter: 'a key limited to some accounts sees only those',
  none: 'names no account: a key limited to some accounts is refused',
};

/** The operation's access in words, for the description (the extensions say it for machines). */
function accessNote(route: Route): string {
  if (route.open) return '**Access:** open (no token).';
  if (!route.scope) return '';
  return `**Access:** scope \`${route.scope}\` (or \`admin\`); ${ACCOUNT_NOTES[route.account]}.`;
}

/** A route without a schema still appears (and the document's test fails until it has one). */
function undocumented(route: Route): Record<string, unknown> {
  return {
    summary: 'Not documented',
    ...(route.open ? { security: [] } : {}),
    responses: { default: { description: 'Not documented.' } },
  };
}

function parametersOf(schema: TObject | undefined, where: 'path' | 'query', plain: (s: TSchema) => unknown): unknown[] {
  if (!schema) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties as Record<string, TSchema>).map(([name, prop]) => {
    const { description, ...rest } = plain(prop) as Record<string, unknown>;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function response(spec: ResponseSpec, plain: (s: TSchema) => unknown): Record<string, unknown> {
  const headers = spec.headers
    ? {
        headers: Object.fromEntries(
          Object.entries(spec.headers).map(([name, h]) => [
            name,
            { description: h.description, schema: h.schema ? plain(h.schema) : { type: 'string' } },
          ]),
        ),
      }
    : {};
  if ('empty' in spec) return { description: spec.description, ...headers };
  if ('content' in spec) {
    return {
      description: spec.description,
      ...headers,
      content: Object.fromEntries(Object.entries(spec.content).map(([type, schema]) => [type, { schema: plain(schema) }])),
    };
  }
  if ('contentType' in spec) {
    return {
      description: spec.description,
      ...headers,
      content: { [spec.contentType]: { schema: spec.schema ? plain(spec.schema) : {} } },
    };
  }
  return { description: spec.description, ...headers, content: { 'application/json': { schema: plain(spec.schema) } } };
}

/**
 * A schema as plain JSON for the document: TypeBox's symbol keys dropped, the request checks' own
 * `errorMessage` annotation left out, and each named component (`component(...)`) replaced by a `$ref`
 * (its definition collected once, itself with `$ref`s to the components inside it).
 */
function toPlain(value: unknown, components: Map<string, unknown>, refs: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => toPlain(v, components, true));
  if (typeof value !== 'object' || value === null) return value;
  const name = refs ? componentName(value) : null;
  if (name !== null) {
    if (!components.has(name)) {
      components.set(name, null); // reserve first: a component that contains itself stops here
      components.set(name, toPlain(value, components, false));
    }
    return { $ref: `#/components/schemas/${name}` };
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'errorMessage') continue;
    out[key] =
      key === 'properties' || key === 'patternProperties' || key === '$defs' ? mapValues(v, components) : toPlain(v, components, true);
  }
  return out;
}

/** `properties` maps names to schemas: a property named like a keyword (`errorMessage`) is still a property. */
function mapValues(value: unknown, components: Map<string, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v, components, true)]));
}
