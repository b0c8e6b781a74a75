import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Who is calling, and what they may do. Every credential the server accepts goes through
 * `Authenticator` and comes out as a `Principal`: the REST layer (bearer header) and the websocket
 * upgrade (bearer header or single-use ticket) use the same functions, and every permission check is
 * `allows(principal, scope, accountId)`. Today there is one principal, the API token, which may do
 * everything; scoped API keys add principals with fewer scopes or accounts, and nothing else changes.
 */

export type Scope = 'read' | 'write';

export interface Principal {
  kind: 'api-token';
  scopes: readonly Scope[];
  /** Accounts it may touch: every one (`'*'`) or these. */
  accounts: '*' | readonly string[];
}

const API_TOKEN_PRINCIPAL: Principal = Object.freeze({
  kind: 'api-token',
  scopes: Object.freeze(['read', 'write'] as const),
  accounts: '*',
});

/** Whether `principal` may use `scope` on `accountId` (`'*'`: on every account at once). */
export function allows(principal: Principal, scope: Scope, accountId?: string): boolean {
  if (!principal.scopes.includes(scope)) return false;
  if (accountId === undefined || principal.accounts === '*') return true;
  return accountId !== '*' && principal.accounts.includes(accountId);
}

export interface Authenticator {
  /** An `Authorization: Bearer …` header → its principal, or null. Constant time. */
  bearer(authorizationHeader: string): Principal | null;
  /** A short-lived single-use ticket (for browsers, which cannot set headers on a websocket). */
  issueTicket(principal: Principal, now: number): { ticket: string; expiresAt: number };
  /** The ticket's principal, once: a second use, an expired or forged ticket is null. */
  redeemTicket(ticket: string, now: number): Promise<Principal | null>;
}

export interface AuthenticatorOptions {
  apiToken: string;
  ticketTtlMs: number;
  /** Marks a ticket id used, true the first time only, on every instance sharing the store. */
  useOnce: (key: string, expiresAt: number) => Promise<boolean>;
}

/**
 * Bearer tokens are hashed before `timingSafeEqual`, so the comparison never leaks the token's
 * length. Tickets are `wst_<payload>.<hmac>`: the payload names the principal and the expiry, the HMAC
 * (a key derived from the API token, so every instance that shares the token verifies every other's
 * tickets) makes them unforgeable, and the store's single-use keys make them good for one upgrade.
 * The API token itself never goes in a URL; a ticket may, because it dies in seconds and once used.
 */
export function createAuthenticator(o: AuthenticatorOptions): Authenticator {
  if (o.apiToken.length === 0) throw new Error('the API token must not be empty');
  const expected = digest(o.apiToken);
  const ticketKey = createHmac('sha256', o.apiToken).update('wasync websocket ticket v1').digest();
  const sign = (payload: string) => createHmac('sha256', ticketKey).update(payload).digest('base64url');
  return {
    bearer(header) {
      const match = /^bearer +(\S+) *$/i.exec(header);
      if (!match?.[1]) return null;
      return timingSafeEqual(digest(match[1]), expected) ? API_TOKEN_PRINCIPAL : null;
    },
    issueTicket(principal, now) {
      const expiresAt = now + o.ticketTtlMs;
      const payload = Buffer.from(
        JSON.stringify({ v: 1, id: randomBytes(12).toString('base64url'), exp: expiresAt, kind: principal.kind }),
      ).toString('base64url');
      return { ticket: `wst_${payload}.${sign(payload)}`, expiresAt };
    },
    async redeemTicket(ticket, now) {
      const m = /^wst_([A-Za-z0-9_-]{1,512})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
      if (!m) return null;
      const [, payload, mac] = m as unknown as [string, string, string];
      if (!timingSafeEqual(Buffer.from(mac), Buffer.from(sign(payload)))) return null;
      let claims: { v?: unknown; id?: unknown; exp?: unknown; kind?: unknown };
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
      } catch {
        return null;
      }
      if (claims.v !== 1 || typeof claims.id !== 'string' || typeof claims.exp !== 'number' || claims.kind !== 'api-token') return null;
      if (claims.exp <= now) return null;
      if (!(await o.useOnce(`ws-ticket:${claims.id}`, claims.exp))) return null;
      return API_TOKEN_PRINCIPAL;
    },
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
