import type { Reply } from './respond.js';

/** Request headers a browser client sends to the API (the token, JSON bodies, media ranges, revalidation). */
const ALLOW_HEADERS = 'authorization, content-type, range, if-none-match';
/** Response headers a browser client may read besides the simple ones. */
const EXPOSE_HEADERS = 'content-range, content-disposition, x-wasync-media-source, www-authenticate, allow, etag';
const MAX_AGE_S = '600';

export interface Cors {
  readonly enabled: boolean;
  /** Headers to add to a response to `origin`, or null (no Origin, an origin not listed, CORS off). */
  headersFor(origin: string): Record<string, string> | null;
  /** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`); `methods` null: no such path. */
  preflight(origin: string, methods: string[] | null): Reply;
}

/**
 * `CORS_ORIGINS` (README, CORS): off by default (no header at all, browsers keep to same-origin). Listed
 * origins are echoed back with `Vary: Origin`; `*` answers `*`. Credentials are never allowed: the API
 * authenticates with a bearer token in `Authorization`, not cookies, so `Access-Control-Allow-Credentials`
 * is never sent, and a wildcard can never be combined with it.
 */
export function createCors(origins: readonly string[]): Cors {
  const any = origins.includes('*');
  const listed = new Set(origins);
  const allowed = (origin: string): boolean => origin !== '' && (any || listed.has(origin));
  const base = (origin: string): Record<string, string> =>
    any ? { 'access-control-allow-origin': '*' } : { 'access-control-allow-origin': origin, vary: 'Origin' };
  return {
    enabled: origins.length > 0,
    headersFor(origin) {
      if (!allowed(origin)) return null;
      return { ...base(origin), 'access-control-expose-headers': EXPOSE_HEADERS };
    },
    preflight(origin, methods) {
      if (!allowed(origin)) {
        return { status: 403, json: { success: false, error: { code: 'FORBIDDEN', message: 'origin not allowed (CORS_ORIGINS)' } } };
      }
      if (methods === null || methods.length === 0) {
        return { status: 404, json: { success: false, error: { code: 'NOT_FOUND', message: 'no such route' } }, headers: base(origin) };
      }
      return {
        status: 204,
        bytes: new Uint8Array(0),
        contentType: 'text/plain',
        headers: {
          ...base(origin),
          'access-control-allow-methods': methods.join(', '),
          'access-control-allow-headers': ALLOW_HEADERS,
          'access-control-max-age': MAX_AGE_S,
        },
      };
    },
  };
}
