import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type ApiKeys, BOOTSTRAP, type Principal } from '../supervisor/api-keys.js';

/**
 * Who is calling. Every credential the server accepts goes through `Authenticator` and comes out as a
 * `Principal` (src/supervisor/api-keys.ts): the REST layer (bearer header) and the websocket upgrade
 * (bearer header or single-use ticket) use the same functions, and every permission check is
 * `authorize(principal, scope, accountId)` (access.ts). The bootstrap token is an unlimited admin;
 * scoped API keys (`wsk_…`) are looked up in the store.
 */
export interface Authenticator {
  /** An `Authorization: Bearer …` header → its principal, or null. Constant time on the secret. */
  bearer(authorizationHeader: string): Promise<Principal | null>;
  /** A short-lived single-use ticket for `principal` (browsers cannot set headers on a websocket). */
  issueTicket(principal: Principal, now: number): { ticket: string; expiresAt: number };
  /** The ticket's principal, once: a second use, an expired or forged ticket, a revoked key is null. */
  redeemTicket(ticket: string, now: number): Promise<Principal | null>;
}

export interface AuthenticatorOptions {
  apiToken: string;
  /** Scoped API keys; absent: only the bootstrap token is accepted. */
  keys?: ApiKeys | null;
  ticketTtlMs: number;
  /** Marks a ticket id used, true the first time only, on every instance sharing the store. */
  useOnce: (key: string, expiresAt: number) => Promise<boolean>;
}

/**
 * Bearer-token check. Both sides are hashed first so `timingSafeEqual` always compares equal-length
 * buffers: comparing the raw strings would leak the token's length through the early length check.
 */
export function createTokenCheck(apiToken: string): (authorizationHeader: string) => boolean {
  if (apiToken.length === 0) throw new Error('the API token must not be empty');
  const expected = digest(apiToken);
  return (header) => {
    const match = /^bearer +(\S+) *$/i.exec(header);
    if (!match?.[1]) return false;
    return timingSafeEqual(digest(match[1]), expected);
  };
}

/**
 * Tickets are `wst_<payload>.<hmac>`: the payload names the principal (the bootstrap token, or an API
 * key by id — never its secret) and the expiry, the HMAC (a key derived from the API token, so every
 * instance that shares the token verifies every other's tickets) makes them unforgeable, and the
 * store's single-use keys make them good for one upgrade. A key's ticket is resolved again on redeem,
 * so a key revoked in between gets no socket. The API token never goes in a URL; a ticket may, because
 * it dies in seconds and once used.
 */
export function createAuthenticator(o: AuthenticatorOptions): Authenticator {
  const bootstrapOk = createTokenCheck(o.apiToken);
  const keys = o.keys ?? null;
  const ticketKey = createHmac('sha256', o.apiToken).update('wasync websocket ticket v1').digest();
  const sign = (payload: string) => createHmac('sha256', ticketKey).update(payload).digest('base64url');
  return {
    async bearer(header) {
      if (bootstrapOk(header)) return BOOTSTRAP;
      const match = /^bearer +(wsk_\S+) *$/i.exec(header);
      if (!match?.[1] || !keys) return null;
      return keys.verify(match[1]);
    },
    issueTicket(principal, now) {
      const expiresAt = now + o.ticketTtlMs;
      const payload = Buffer.from(
        JSON.stringify({ v: 2, id: randomBytes(12).toString('base64url'), exp: expiresAt, kind: principal.kind, key: principal.keyId }),
      ).toString('base64url');
      return { ticket: `wst_${payload}.${sign(payload)}`, expiresAt };
    },
    async redeemTicket(ticket, now) {
      const m = /^wst_([A-Za-z0-9_-]{1,512})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
      if (!m) return null;
      const [, payload, mac] = m as unknown as [string, string, string];
      if (!timingSafeEqual(Buffer.from(mac), Buffer.from(sign(payload)))) return null;
      let claims: { v?: unknown; id?: unknown; exp?: unknown; kind?: unknown; key?: unknown };
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
      } catch {
        return null;
      }
      if (claims.v !== 2 || typeof claims.id !== 'string' || typeof claims.exp !== 'number') return null;
      if (claims.exp <= now) return null;
      if (claims.kind === 'bootstrap') {
        if (!(await o.useOnce(`ws-ticket:${claims.id}`, claims.exp))) return null;
        return BOOTSTRAP;
      }
      if (claims.kind !== 'key' || typeof claims.key !== 'string' || !keys) return null;
      const principal = await keys.principalOf(claims.key);
      if (!principal) return null;
      if (!(await o.useOnce(`ws-ticket:${claims.id}`, claims.exp))) return null;
      return principal;
    },
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
