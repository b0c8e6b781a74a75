import { WasyncError } from '../domain/errors.js';
import { type ApiKeys, BOOTSTRAP, type Principal, type Scope, allows } from '../supervisor/api-keys.js';
import { createTokenCheck } from './auth.js';

/**
 * Who an `Authorization` header names: the bootstrap token (an unlimited admin, checked in constant
 * time) or an API key (`wsk_…`, looked up by its id and checked in constant time on its hash); null
 * for anything else. The one entry point for every route and, with `authorize`, for the live feed.
 */
export type Authenticate = (authorizationHeader: string) => Promise<Principal | null>;

export function createAuthenticator(bootstrapToken: string, keys: ApiKeys | null): Authenticate {
  const bootstrapOk = createTokenCheck(bootstrapToken);
  return async (header) => {
    if (bootstrapOk(header)) return BOOTSTRAP;
    const match = /^bearer +(wsk_\S+) *$/i.exec(header);
    if (!match?.[1] || !keys) return null;
    return keys.verify(match[1]);
  };
}

/**
 * Throws FORBIDDEN unless `principal` may use `scope`, on `accountId` when the request names one
 * (null: it names none, which a key limited to some accounts may not do). The websocket feed's
 * upgrade calls this with `read` and each account it subscribes to.
 */
export function authorize(principal: Principal, scope: Scope, accountId: string | null): void {
  if (allows(principal, scope, accountId)) return;
  const what = principal.scopes.has(scope) || principal.scopes.has('admin') ? `account ${accountId ?? '(all accounts)'}` : `scope ${scope}`;
  throw new WasyncError('FORBIDDEN', `this API key does not cover ${what}`);
}
