import { isErrorCode } from '../domain/errors.js';
import type { LeaseFence, Store } from './port.js';

/** The port methods that take a fence, and where it goes in their arguments. */
const FENCED = { writeAuthCreds: 2, writeAuthKeys: 2, clearAuthState: 1 } as const satisfies Partial<Record<keyof Store, number>>;

/**
 * The store as an owner's session code sees it: every session write (creds, signal keys, the history
 * journal kept among them, clears) carries the owner's fence, so the connectors stay unaware of
 * leases. `onRefused` hears of each `LEASE_LOST` refusal (the error still reaches the caller). Every
 * other method, present or added to the port later, passes through unchanged.
 */
export function withFence(store: Store, fence: LeaseFence, onRefused?: (err: Error) => void): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!Object.hasOwn(FENCED, prop)) return method.bind(target);
      const at = FENCED[prop as keyof typeof FENCED];
      return (...args: unknown[]) => {
        const withFenceArg = [...args.slice(0, at), fence];
        const pending = method.apply(target, withFenceArg) as Promise<void>;
        return pending.catch((err: unknown) => {
          if (isErrorCode(err, 'LEASE_LOST')) onRefused?.(err as Error);
          throw err;
        });
      };
    },
  });
}
