import { Validator } from '@seriousme/openapi-schema-validator';
import { Type } from '@sinclair/typebox';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApi, openApiPath, type OpenApiDocument } from '../../src/http/openapi.js';
import { component } from '../../src/http/schemas/common.js';
import { renderWebhookBody } from '../../src/http/feed-wire.js';
import { CHANGE_EVENT_TYPES, type ChangeEvent } from '../../src/domain/change-events.js';
import type { HubEvent } from '../../src/feed/hub.js';
import { makeMessage } from '../support/records.js';
import { testRouteTable } from '../support/api-contract.js';
import { call, type Harness, rawRequest, startHarness } from './harness.js';

/**
 * The OpenAPI document (`GET /openapi.json`) against the route table it is built from, and against the
 * OpenAPI 3.1 specification's own schema (a maintained validator from npm).
 */

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let h: Harness;
let doc: OpenApiDocument;

beforeAll(async () => {
  h = await startHarness();
  const r = await call(h.base, '/openapi.json', { auth: false });
  expect(r.status).toBe(200);
  doc = r.body as OpenApiDocument;
});
afterAll(async () => {
  await h.stop();
});

/** `get /a/{b}` for every operation of the document. */
function operations(d: OpenApiDocument): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const [path, item] of Object.entries(d.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (METHODS.includes(method)) out.set(`${method} ${path}`, op as Record<string, unknown>);
    }
  }
  return out;
}

describe('GET /openapi.json', () => {
  it('is open (no token), JSON, OpenAPI 3.1', async () => {
    const r = await call(h.base, '/openapi.json', { auth: false });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('validates against the OpenAPI 3.1 schema', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('every schema in it compiles as JSON Schema 2020-12 and every $ref resolves', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const components = (doc.components as { schemas: Record<string, unknown> }).schemas;
    for (const [name, schema] of Object.entries(components)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
    const refs: string[] = [];
    JSON.stringify(doc, (key, value: unknown) => {
      if (key === '$ref') refs.push(String(value));
      return value;
    });
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(Object.keys(components).map((n) => `#/components/schemas/${n}`)).toContain(ref);
    // Each operation's schemas, with the components in scope.
    const wrapped = { $defs: components };
    const resolve = (s: unknown) =>
      JSON.parse(JSON.stringify({ ...wrapped, ...(s as object) }).replaceAll('#/components/schemas/', '#/$defs/')) as object;
    for (const [name, op] of operations(doc)) {
      const schemas: unknown[] = [];
      JSON.stringify(op, (key, value: unknown) => {
        if (key === 'schema') schemas.push(value);
        return value;
      });
      for (const s of schemas) expect(() => ajv.compile(resolve(s)), name).not.toThrow();
    }
  });

  it('lists every route of the route table, and nothing else', () => {
    const table = testRouteTable();
    const fromTable = table.map((r) => `${r.method} ${openApiPath(r.pattern)}`).sort();
    expect([...operations(doc).keys()].sort()).toEqual(fromTable);
  });

  it('every route has a schema: summary, operationId, and a response for each of its statuses', () => {
    const table = testRouteTable();
    const missing = table.filter((r) => !r.schema).map((r) => `${r.method.toUpperCase()} ${r.pattern}`);
    expect(missing, 'routes without a schema (src/http/schemas/)').toEqual([]);
    const ids = [...operations(doc).values()].map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [name, op] of operations(doc)) {
      expect(op.summary, name).toEqual(expect.any(String));
      expect(Object.keys(op.responses as object).length, name).toBeGreaterThan(0);
    }
  });

  it('open routes say so; the rest need the bearer token', () => {
    const table = testRouteTable();
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    for (const route of table) {
      const op = doc.paths[openApiPath(route.pattern)]![route.method] as { security?: unknown; responses: Record<string, unknown> };
      const scoped = op as { 'x-wasync-scope'?: unknown; 'x-wasync-account'?: unknown; description?: string };
      if (route.open) {
        expect(op.security, route.pattern).toEqual([]);
        expect(op.responses['401'], route.pattern).toBeUndefined();
        expect(op.responses['403'], route.pattern).toBeUndefined();
        expect(scoped['x-wasync-scope'], route.pattern).toBeUndefined();
      } else {
        expect(op.security, route.pattern).toBeUndefined();
        expect(op.responses['401'], route.pattern).toBeDefined();
        // The scope the route table declares, for machines and in words.
        expect(scoped['x-wasync-scope'], route.pattern).toBe(route.scope);
        expect(scoped['x-wasync-account'], route.pattern).toBe(route.account);
        expect(scoped.description, route.pattern).toContain(`scope \`${route.scope}\``);
        expect(JSON.stringify(op.responses['403']), route.pattern).toContain('`FORBIDDEN`');
      }
    }
    const schemes = (doc.components as { securitySchemes: Record<string, unknown> }).securitySchemes;
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    // Every error code of the one table is in the document's lists.
    const send = doc.paths['/api/whatsapp/send']!.post as { responses: Record<string, unknown> };
    expect(JSON.stringify(send.responses['503'])).toContain('`STORE_UNAVAILABLE`');
    expect((doc.paths['/api/whatsapp/export/{accountId}']!.get as Record<string, unknown>)['x-wasync-scope']).toBe('read');
  });

  it('the export documents both media types of its stream', () => {
    const op = doc.paths['/api/whatsapp/export/{accountId}']!.get as { responses: Record<string, { content?: Record<string, unknown> }> };
    expect(Object.keys(op.responses['200']!.content!).sort()).toEqual(['application/x-ndjson', 'text/csv']);
  });

  it('path parameters are declared for every :param of the pattern; query parameters with their schema', () => {
    const threads = doc.paths['/api/whatsapp/messages/{accountId}/{threadId}']!.get as {
      parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
    };
    const byName = Object.fromEntries(threads.parameters.map((p) => [`${p.in}:${p.name}`, p]));
    expect(byName['path:accountId']).toMatchObject({ required: true, schema: { type: 'string', maxLength: 100 } });
    expect(byName['path:threadId']).toMatchObject({ required: true, schema: { type: 'string', maxLength: 400 } });
    expect(byName['query:limit']).toMatchObject({ required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } });
    expect(byName['query:orderBy']).toMatchObject({ schema: { const: 'createdAt' } });
    // The request checks' own annotation stays out of the document.
    expect(JSON.stringify(doc)).not.toContain('errorMessage');
  });

  it('names the shared records once, as components', () => {
    const schemas = (doc.components as { schemas: Record<string, { properties?: Record<string, unknown> }> }).schemas;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['Thread', 'Message', 'Account', 'Error', 'DashboardAccount']));
    const list = doc.paths['/api/whatsapp/threads/{accountId}']!.get as {
      responses: Record<string, { content: Record<string, { schema: { properties: Record<string, unknown> } }> }>;
    };
    expect(list.responses['200']!.content['application/json']!.schema.properties.threads).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/Thread' },
    });
    expect(schemas.Message!.properties!.createdAt).toEqual({
      type: ['string', 'null'],
      format: 'date-time',
      description: expect.any(String),
    });
  });

  it('documents every live-feed event in its webhooks section, with payloads that match what the server sends', async () => {
    const webhooks = doc.webhooks as Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }>;
    expect(Object.keys(webhooks).sort()).toEqual([...CHANGE_EVENT_TYPES].sort());
    expect((doc.info as { description: string }).description).toContain('/api/whatsapp/ws');
    expect((doc.info as { description: string }).description).toContain('FORBIDDEN');
    // Real bodies, rendered by the server's own wire code, against the document's payload schemas.
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ ...structuredClone(doc), $id: 'doc' });
    const message = makeMessage({ accountId: 'a1', clientJid: '1@s.whatsapp.net' });
    const { rawMessage: _r, media: _m, ...logged } = message;
    const events: ChangeEvent[] = [
      { type: 'message.created', data: { threadId: 'a1__1@s.whatsapp.net', message: logged } },
      { type: 'message.updated', data: { threadId: 'a1__1@s.whatsapp.net', message: logged, changes: ['status'] } },
      { type: 'account.updated', data: { fields: { status: 'open', statusAt: 1_700_000_000_000 } } },
      {
        type: 'backfill.progress',
        data: { reason: 'manual', kind: 'backfill', threadId: 't', messages: 3, error: null, threadsDone: 1, threadsTotal: 2 },
      },
    ];
    for (const [i, event] of events.entries()) {
      const hub: HubEvent = {
        id: `e${i}`,
        accountId: 'a1',
        seq: 1,
        index: i,
        position: i,
        cursorPosition: i,
        committedAt: 1_700_000_000_000,
        event,
      };
      const body = JSON.parse(renderWebhookBody(hub, 'cursor')) as unknown;
      const validate = ajv.getSchema(`doc#/webhooks/${event.type.replace('/', '~1')}/post/requestBody/content/application~1json/schema`)!;
      expect(validate(body), `${event.type}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
  });

  it('a registered event gets a webhooks entry that validates', async () => {
    // The registry's mechanism (src/http/schemas/feed.ts) with an event made up for this test.
    const payload = component('TestFeedEvent', Type.Object({ event: Type.Literal('test.event'), accountId: Type.String() }));
    const table = testRouteTable();
    const withFeed = buildOpenApi(table, {
      version: '0.0.0',
      feedEvents: [{ name: 'test.event', summary: 'A test event', payload }],
      feedDescription: 'Connect to the feed like this.',
    });
    expect(withFeed.webhooks).toMatchObject({ 'test.event': { post: { requestBody: { required: true } } } });
    expect((withFeed.info as { description: string }).description).toContain('Connect to the feed like this.');
    const result = await new Validator().validate(structuredClone(withFeed));
    expect(result.errors ?? []).toEqual([]);
  });
});

describe('GET /docs', () => {
  it('serves the reference page open, with a strict CSP, and its files from this server', async () => {
    const page = await call(h.base, '/docs', { auth: false });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-|https?:|\*/);
    const html = String(page.body);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(expect.arrayContaining(['docs/swagger-ui-bundle.js', 'docs/swagger-ui.css', 'docs/wasync-docs.js']));
    for (const ref of refs) {
      const r = await call(h.base, `/${ref}`, { auth: false, headers: { 'accept-encoding': 'br' } });
      expect(r.status, ref).toBe(200);
    }
    const init = await call(h.base, '/docs/wasync-docs.js', { auth: false });
    expect(String(init.body)).toContain("url: 'openapi.json'");
    expect(String(init.body)).toContain('validatorUrl: null');
  });

  it('/docs/ (a trailing slash) redirects to the page, relative to where it is served', async () => {
    const raw = await rawRequest(h.port, 'GET /docs/ HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(raw.status).toBe(301);
    const location = /\r\nlocation: *([^\r\n]*)/i.exec(raw.head)?.[1];
    expect(location).toBe('../docs');
    expect(new URL(location!, `${h.base}/docs/`).href).toBe(`${h.base}/docs`);
    expect(new URL(location!, 'https://example.com/wasync/docs/').href).toBe('https://example.com/wasync/docs');
    // A browser (here fetch) follows it to the page itself.
    const followed = await fetch(`${h.base}/docs/`);
    expect(followed.status).toBe(200);
    expect(followed.url).toBe(`${h.base}/docs`);
    expect(await followed.text()).toBe(String((await call(h.base, '/docs', { auth: false })).body));
  });

  it('revalidates with the ETag; unknown files are 404; path tricks are 400', async () => {
    const first = await call(h.base, '/docs/swagger-ui.css', { auth: false });
    const etag = first.headers.get('etag')!;
    const again = await call(h.base, '/docs/swagger-ui.css', { auth: false, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await call(h.base, '/docs/index.html', { auth: false })).status).toBe(404);
    const trick = await rawRequest(h.port, 'GET /docs/..%2Fpackage.json HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(trick.status).toBe(400);
  });
});
