import { createHash } from 'node:crypto';

/**
 * Entity tags for JSON pages (thread and message lists) and static files. A page's tag is a hash of
 * the exact body it would send, so it changes with anything visible in the page (a receipt moving a
 * status, an edit, a new message, an archived file) and with nothing else; a polling client that
 * sends it back in `If-None-Match` gets `304 Not Modified` without a body.
 */
export function etagOf(body: string | Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/**
 * True when `If-None-Match` names `etag` (or is `*`). Weak comparison, as RFC 9110 asks for
 * `If-None-Match`: `W/"x"` matches `"x"`.
 */
export function ifNoneMatchHits(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === '') return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
