import type { TSchema } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from '../../src/http/request-validation.js';
import { existsSync, readdirSync } from 'node:fs';
import { createRouter, type MatchResult, type Route } from '../../src/http/router.js';
import { codesFor, ErrorEnvelope, responsesOf } from '../../src/http/schemas/common.js';
import { routeTable } from '../../src/http/server.js';
import { defaultConsoleDir, type StaticFiles } from '../../src/http/static-files.js';

/**
 * Every response the tests' HTTP clients receive is checked against its route's response schema (the
 * same schemas the OpenAPI document is built from): the shared clients (`call` and `rawRequest` in
 * test/http/harness.ts, `api` in test/support/e2e.ts) call `checkResponse`, so every end-to-end test
 * also tests the document. A status the route's schema does not list, a body that does not match it, an
 * error code the status does not carry, or a route without a schema fails the request that got it.
 */

/**
 * The route table the test servers run (`routeTable`), with the console's top-level files listed from
 * its build folder by name only: reading and compressing the build is not needed to route.
 */
export function testRouteTable(): Route[] {
  const root = defaultConsoleDir();
  const names = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name !== 'index.html')
        .map((e) => e.name)
    : [];
  const files: StaticFiles = { root, built: names.length > 0, get: () => undefined, topLevel: () => names };
  return routeTable(files);
}

const match = createRouter(testRouteTable());
// No defaults filled in: a response is checked as it came.
const ajv = createAjv({ useDefaults: false });
const validators = new Map<TSchema, ValidateFunction>();

function validatorFor(schema: TSchema): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    validators.set(schema, v);
  }
  return v;
}

export class ContractError extends Error {
  override name = 'ContractError';
}

export interface ResponseLike {
  method: string;
  /** The request path, with or without its query string. */
  path: string;
  status: number;
  contentType: string;
  /** Parsed JSON for JSON responses, else the text (or undefined when not read). */
  body: unknown;
}

export function checkResponse(r: ResponseLike): void {
  const path = r.path.split('?')[0]!;
  const method = r.method.toLowerCase();
  const found: MatchResult = match(method, path);
  const what = `${r.method.toUpperCase()} ${path} → ${r.status}`;
  if (found.kind !== 'found') {
    // Routing's own answers (401 before anything for a protected or unknown path, 404, 405) and a 503
    // while shutting down are all the error envelope.
    checkJson(what, r, ErrorEnvelope);
    return;
  }
  const { route } = found;
  const name = `${route.method.toUpperCase()} ${route.pattern}`;
  if (!route.schema) throw new ContractError(`${what}: route ${name} has no schema (src/http/schemas/)`);
  const spec = responsesOf(route.schema, route)[r.status];
  if (!spec) {
    throw new ContractError(
      `${what}: ${name} answered ${r.status}, which its schema does not list ` +
        `(${Object.keys(responsesOf(route.schema, route)).join(', ')}); body: ${excerpt(r.body)}`,
    );
  }
  if ('empty' in spec) return;
  if ('content' in spec) {
    const types = Object.keys(spec.content);
    if (!types.some((t) => r.contentType.startsWith(t))) {
      throw new ContractError(`${what}: content type ${r.contentType}, the schema says one of ${types.join(', ')}`);
    }
    return;
  }
  if ('contentType' in spec) {
    const expected = spec.contentType;
    if (expected !== '*/*' && !r.contentType.startsWith(expected)) {
      throw new ContractError(`${what}: content type ${r.contentType}, the schema says ${expected}`);
    }
    return;
  }
  checkJson(what, r, spec.schema);
}

function checkJson(what: string, r: ResponseLike, schema: TSchema): void {
  if (!r.contentType.startsWith('application/json')) {
    throw new ContractError(`${what}: content type ${r.contentType || '(none)'}, the schema says JSON; body: ${excerpt(r.body)}`);
  }
  const validate = validatorFor(schema);
  if (!validate(r.body)) {
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    throw new ContractError(`${what}: the body does not match its schema: ${errors.join('; ')}; body: ${excerpt(r.body)}`);
  }
  const body = r.body as { success?: unknown; error?: { code?: unknown } };
  if (body.success === false && body.error && r.status >= 400) {
    const codes: string[] = codesFor(r.status);
    if (!codes.includes(String(body.error.code))) {
      throw new ContractError(`${what}: error code ${String(body.error.code)} is not one of ${r.status}'s (${codes.join(', ')})`);
    }
  }
}

function excerpt(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text === undefined ? '(none)' : text.length > 600 ? `${text.slice(0, 600)}…` : text;
}
