import type { Static, TSchema } from '@sinclair/typebox';
import type { Principal, Scope } from '../supervisor/api-keys.js';
import type { HttpDeps } from './deps.js';
import { compileInputCheck, type CheckedInput, type InputCheck } from './request-validation.js';
import type { Reply } from './respond.js';
import type { RouteSchema } from './schemas/common.js';
import { decodePathParam } from './validate.js';

export type Method = 'get' | 'post' | 'delete';

/** `'/a/:x/b/:y'` → `'x' | 'y'`: handlers see exactly the parameters their pattern declares. */
export type ParamNames<S extends string> = S extends `${string}:${infer P}/${infer Rest}`
  ? P | ParamNames<`/${Rest}`>
  : S extends `${string}:${infer P}`
    ? P
    : never;

/** A route's query as its handler sees it: checked against the schema's `query`, else the raw parameters. */
export type QueryOf<R> = R extends { query: infer Q extends TSchema } ? Static<Q> : URLSearchParams;
/** A route's body as its handler sees it: checked against the schema's `body`, else the parsed JSON as it came. */
export type BodyOf<R> = R extends { body: infer B extends TSchema } ? Static<B> : unknown;

export interface RouteContext<P extends string = string, Q = unknown, B = unknown> {
  deps: HttpDeps;
  /** Percent-decoded and checked by `decodePathParam`, then by the schema's `params`. */
  params: Readonly<Record<P, string>>;
  /** With a `query` schema: the checked object, defaults filled in. Without: the raw `URLSearchParams`. */
  query: Q;
  /** The query string as it came. */
  rawQuery: URLSearchParams;
  /** Parsed JSON body (`undefined` when empty; `{}` for an optional body); only for routes that read one. */
  body: B;
  /** The request headers routes read, copied before the route runs (uWS's request dies at the first await). */
  headers: RequestHeaders;
  /** Who is asking (null on open routes): routes that list accounts filter by it. */
  principal: Principal | null;
}

/**
 * Which account a request touches, for keys limited to some accounts (README, API keys):
 * `param` the `:accountId` of the path, `body` the body's `accountId`, `filter` none in particular (the
 * handler shows only the key's accounts), `none` none (a limited key is refused: creating accounts,
 * diagnostics across accounts, managing keys).
 */
export type AccountRule = 'param' | 'body' | 'filter' | 'none';

/** Every route declares its access: open, or a scope and how it names its account. */
export type Access = { open: true } | { open?: false; scope: Scope; account: AccountRule };

/** Empty string when the header is absent, as uWS reports it. */
export interface RequestHeaders {
  range: string;
  /** Static files only (the console); absent counts as empty. */
  ifNoneMatch?: string;
  acceptEncoding?: string;
}

export interface Route {
  method: Method;
  pattern: string;
  /** No bearer token needed (`/health`, `/ready`, `/metrics`). */
  open: boolean;
  /** The scope a caller needs (null on open routes) and where the account it touches is named. */
  scope: Scope | null;
  account: AccountRule;
  /** Reads a JSON body before the handler runs. */
  body: boolean;
  segments: readonly string[];
  /**
   * Params, query, body and every response (src/http/schemas/): requests are checked against it before
   * the handler runs, and the OpenAPI document is built from it. Every route has one; the document's
   * test (test/http/openapi.test.ts) fails for a route without.
   */
  schema?: RouteSchema;
  /** Checks a request against `schema` (compiled on first use); throws `BadRequestError`. */
  checkInput(params: Readonly<Record<string, string>>, query: URLSearchParams, body: unknown): CheckedInput;
  handler: (ctx: RouteContext) => Promise<Reply>;
}

/**
 * One row of the route table. With `schema`, the handler's `query` and `body` are typed from it and
 * checked before the handler runs; a schema with a `body` makes the route read one.
 */
export function route<const S extends string, const R extends RouteSchema = RouteSchema>(
  method: Method,
  pattern: S,
  opts: Access & { body?: boolean; schema?: R },
  handler: (ctx: RouteContext<ParamNames<S>, QueryOf<R>, BodyOf<R>>) => Promise<Reply>,
): Route {
  const schema = opts.schema;
  let check: InputCheck | null = null;
  return {
    method,
    pattern,
    open: opts.open === true,
    scope: opts.open === true ? null : opts.scope,
    account: opts.open === true ? 'none' : opts.account,
    body: opts.body ?? schema?.body !== undefined,
    segments: pattern.split('/').slice(1),
    ...(schema ? { schema } : {}),
    checkInput(params, query, body) {
      if (!schema) return { query, body };
      // Compiled on first use: a process that never serves a route never pays for its validator.
      check ??= compileInputCheck(schema);
      return check(params, query, body);
    },
    // The router fills in every parameter of the pattern and checks the input against the schema before
    // calling, so the narrower context holds.
    handler: handler as unknown as (ctx: RouteContext) => Promise<Reply>,
  };
}

export type MatchResult =
  | { kind: 'found'; route: Route; rawParams: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string; open: boolean }
  | { kind: 'not-found' };

/**
 * A small segment matcher instead of uWS's router: the same table then answers 404 and 405 (with
 * `Allow`) and decides auth for paths that match no route, which uWS's per-method routes cannot.
 */
export function createRouter(routes: readonly Route[]): (method: string, path: string) => MatchResult {
  return (method, path) => {
    const segments = path.split('/').slice(1);
    const allowed: Route[] = [];
    for (const r of routes) {
      const rawParams = matchSegments(r.segments, segments);
      if (!rawParams) continue;
      if (r.method === method) return { kind: 'found', route: r, rawParams };
      allowed.push(r);
    }
    if (allowed.length === 0) return { kind: 'not-found' };
    const methods = [...new Set(allowed.map((r) => r.method.toUpperCase()))];
    return { kind: 'method-not-allowed', allow: methods.join(', '), open: allowed.every((r) => r.open) };
  };
}

function matchSegments(pattern: readonly string[], segments: readonly string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return null;
  }
  return params;
}

export function decodeParams(raw: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) out[name] = decodePathParam(name, value);
  return out;
}
