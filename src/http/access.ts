import { WasyncError } from '../domain/errors.js';
import { type Principal, type Scope, allows } from '../supervisor/api-keys.js';

/**
 * Throws FORBIDDEN unless `principal` may use `scope`, on `accountId` when the request names one
 * (null: it names none, which a key limited to some accounts may not do). The websocket feed's
 * upgrade and subscriptions call this with `read` and each account subscribed to. Authentication
 * (who the principal is) lives in auth.ts.
 */
export function authorize(principal: Principal, scope: Scope, accountId: string | null): void {
  if (allows(principal, scope, accountId)) return;
  const what = principal.scopes.has(scope) || principal.scopes.has('admin') ? `account ${accountId ?? '(all accounts)'}` : `scope ${scope}`;
  throw new WasyncError('FORBIDDEN', `this API key does not cover ${what}`);
}
