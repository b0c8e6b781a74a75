/**
 * Views live in the URL's fragment (`#/accounts/shop-1/inbox`): the server only ever serves `/`, so
 * a reload or a bookmark needs no server-side routing, and nothing after `#` reaches the server or
 * its logs.
 */
export type Route =
  | { view: 'accounts' }
  | { view: 'pair'; accountId: string }
  | { view: 'sync'; accountId: string }
  | { view: 'inbox'; accountId: string; threadId: string | null }
  | { view: 'fleet' };

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  if (parts[0] === 'fleet') return { view: 'fleet' };
  if (parts[0] === 'accounts' && parts[1]) {
    const accountId = parts[1];
    if (parts[2] === 'pair') return { view: 'pair', accountId };
    if (parts[2] === 'sync') return { view: 'sync', accountId };
    if (parts[2] === 'inbox') return { view: 'inbox', accountId, threadId: parts[3] ?? null };
  }
  return { view: 'accounts' };
}

export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.view) {
    case 'accounts':
      return '#/';
    case 'fleet':
      return '#/fleet';
    case 'pair':
      return `#/accounts/${e(route.accountId)}/pair`;
    case 'sync':
      return `#/accounts/${e(route.accountId)}/sync`;
    case 'inbox':
      return `#/accounts/${e(route.accountId)}/inbox${route.threadId ? `/${e(route.threadId)}` : ''}`;
  }
}
