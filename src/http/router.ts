import type { Principal } from './auth.js';
import type { HttpDeps } from './deps.js';
import type { Reply } from './respond.js';
import { decodePathParam } from './validate.js';

export type Method = 'get' | 'post' | 'delete';

/** `'/a/:x/b/:y'` → `'x' | 'y'`: handlers see exactly the parameters their pattern declares. */
export type ParamNames<S extends string> = S extends `${string}:${infer P}/${infer Rest}`
  ? P | ParamNames<`/${Rest}`>
  : S extends `${string}:${infer P}`
    ? P
    : never;

export interface RouteContext<P extends string = string> {
  deps: HttpDeps;
  /** Percent-decoded and checked by `decodePathParam`. */
  params: Readonly<Record<P, string>>;
  query: URLSearchParams;
  /** Parsed JSON body (`undefined` when empty); only for routes declared with `body: true`. */
  body: unknown;
  /** The request headers routes read, copied before the route runs (uWS's request dies at the first await). */
  headers: RequestHeaders;
  /** Who is calling (null on open routes); permission checks are `allows(principal, scope, accountId)` (auth.ts). */
  principal: Principal | null;
}

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
  /** Reads a JSON body before the handler runs. */
  body: boolean;
  segments: readonly string[];
  handler: (ctx: RouteContext) => Promise<Reply>;
}

export function route<const S extends string>(
  method: Method,
  pattern: S,
  opts: { open?: boolean; body?: boolean },
  handler: (ctx: RouteContext<ParamNames<S>>) => Promise<Reply>,
): Route {
  return {
    method,
    pattern,
    open: opts.open ?? false,
    body: opts.body ?? false,
    segments: pattern.split('/').slice(1),
    // The router fills in every parameter of the pattern before calling, so the narrower context holds.
    handler: handler as (ctx: RouteContext) => Promise<Reply>,
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
