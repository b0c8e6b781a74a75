import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { OwnedElsewhereError } from '../domain/errors.js';
import type { Logger } from '../logging/logger.js';
import { jsonReply, type Reply } from './respond.js';

/**
 * Commands for an account another instance owns go to that instance (README, Running several
 * instances): the same method, path, query, body and bearer token, to the URL it advertises in the
 * registry, and its answer comes back as it is. So a load balancer in front of the fleet needs no
 * stickiness. One hop only: a forwarded request carries `x-wasync-forwarded-by`, and an instance that
 * receives one for an account it does not own either answers 409 with the owner, never forwards again.
 */

export const FORWARDED_BY = 'x-wasync-forwarded-by';
/** On every forwarded answer: which instance actually served it. */
export const SERVED_BY = 'x-wasync-served-by';

/** How long the owner has to start answering (a media stream may then take as long as it takes). */
export const FORWARD_TIMEOUT_MS = 15_000;

export interface ForwardingOptions {
  enabled: boolean;
  /** This instance's own URL: a registry pointing an account back at it is not forwarded to. */
  selfUrl: () => string | null;
}

/** The request, as it arrived: everything needed to send it again. */
export interface ForwardableRequest {
  method: string;
  /** Raw path, still percent-encoded. */
  path: string;
  query: string;
  authorization: string;
  range: string;
  /** `x-wasync-forwarded-by` of the incoming request: set, it was forwarded already. */
  forwardedBy: string;
  body: Buffer | null;
}

/** Answers that pass back as they are; the rest (hop-by-hop, framing) the server sets itself. */
const PASSED_HEADERS = ['content-range', 'content-disposition', 'accept-ranges', 'content-security-policy', 'www-authenticate', 'allow'];

export function ownedElsewhereReply(err: OwnedElsewhereError, why?: string): Reply {
  return jsonReply(409, {
    success: false,
    error: { code: 'OWNED_ELSEWHERE', message: why ? `${err.message}; ${why}` : err.message },
    owner: err.owner,
  });
}

export async function forwardToOwner(
  err: OwnedElsewhereError,
  req: ForwardableRequest,
  o: { forwarding: ForwardingOptions | undefined; instanceId: string; logger: Logger; timeoutMs?: number },
): Promise<Reply> {
  const { url } = err.owner;
  if (!o.forwarding?.enabled) return ownedElsewhereReply(err, 'forwarding is off (FORWARD_COMMANDS=false)');
  if (req.forwardedBy !== '') return ownedElsewhereReply(err, `not forwarded again (it came from ${req.forwardedBy})`);
  if (url === null) return ownedElsewhereReply(err, 'the owner advertises no URL');
  if (url === o.forwarding.selfUrl()) return ownedElsewhereReply(err, 'the registry points back at this instance');
  const target = `${url}${req.path}${req.query ? `?${req.query}` : ''}`;
  const headers: Record<string, string> = { [FORWARDED_BY]: o.instanceId };
  if (req.authorization) headers.authorization = req.authorization;
  if (req.range) headers.range = req.range;
  if (req.body) headers['content-type'] = 'application/json';
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), o.timeoutMs ?? FORWARD_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(target, {
      method: req.method.toUpperCase(),
      headers,
      body: req.body && req.body.length > 0 ? new Uint8Array(req.body) : undefined,
      redirect: 'manual',
      signal: abort.signal,
    });
  } catch (cause) {
    clearTimeout(timer);
    const why = abort.signal.aborted ? 'the owner did not answer in time' : `the owner could not be reached (${describe(cause)})`;
    o.logger.warn({ owner: err.owner, path: req.path, why }, 'forwarding a command failed');
    return ownedElsewhereReply(err, why);
  }
  clearTimeout(timer);
  const passed: Record<string, string> = { [SERVED_BY]: err.owner.instanceId };
  for (const name of PASSED_HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) passed[name] = value;
  }
  const contentType = res.headers.get('content-type') ?? 'application/octet-stream';
  if (contentType.startsWith('application/json') || res.body === null) {
    const text = await res.text();
    return jsonReply(res.status, text === '' ? {} : (JSON.parse(text) as unknown), passed);
  }
  return {
    status: res.status,
    stream: Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
    contentType,
    headers: passed,
  };
}

function describe(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
