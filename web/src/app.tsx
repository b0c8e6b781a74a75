import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api } from './api/client.js';
import type { LiveMode } from './live/events.js';
import { href, useRoute } from './router.js';
import { AppState, type ServerState } from './state/app-state.js';
import { useStore } from './ui/store.js';
import { AccountsView } from './views/accounts.js';
import { FleetView, useFleetAvailable } from './views/fleet.js';
import { InboxView } from './views/inbox.js';
import { PairView } from './views/pair.js';
import { SignIn } from './views/sign-in.js';
import { SyncView } from './views/sync.js';

const TOKEN_KEY = 'wasync.apiToken';

function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function App() {
  const [token, setToken] = useState<string | null>(storedToken);
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = (t: string): void => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setNotice(null);
    setToken(t);
  };
  const signOut = (why: string | null): void => {
    sessionStorage.removeItem(TOKEN_KEY);
    setNotice(why);
    setToken(null);
  };

  if (!token) return <SignIn onSignedIn={signIn} notice={notice} />;
  return <Console key={token} token={token} onSignOut={signOut} />;
}

function Console({ token, onSignOut }: { token: string; onSignOut: (why: string | null) => void }) {
  const state = useMemo(
    () => new AppState(new Api(token), () => onSignOut('The server no longer accepts this token. Sign in again.')),
    [token],
  );
  useEffect(() => () => state.stop(), [state]);
  const route = useRoute();
  const fleet = useFleetAvailable(state.api);

  useEffect(() => {
    const accountId = route.view === 'accounts' || route.view === 'fleet' ? null : route.accountId;
    state.watch({ accountId, threadId: route.view === 'inbox' ? route.threadId : null, view: route.view });
  }, [state, route]);

  return (
    <div class={`shell ${route.view === 'inbox' ? 'fill' : ''}`}>
      <header class="top">
        <a class="brand" href="#/">
          wasync
        </a>
        <nav aria-label="Main">
          <a href={href({ view: 'accounts' })} aria-current={route.view === 'accounts' ? 'page' : undefined}>
            Accounts
          </a>
          {fleet && (
            <a href={href({ view: 'fleet' })} aria-current={route.view === 'fleet' ? 'page' : undefined}>
              Fleet
            </a>
          )}
        </nav>
        <LiveIndicator state={state} />
        <button type="button" class="quiet" onClick={() => onSignOut(null)}>
          Sign out
        </button>
      </header>
      <ServerBanner state={state} />
      {route.view === 'accounts' && <AccountsView state={state} />}
      {route.view === 'pair' && <PairView state={state} accountId={route.accountId} />}
      {route.view === 'sync' && <SyncView state={state} accountId={route.accountId} />}
      {route.view === 'inbox' && <InboxView state={state} accountId={route.accountId} threadId={route.threadId} />}
      {route.view === 'fleet' && <FleetView state={state} />}
    </div>
  );
}

function liveText(m: LiveMode): { text: string; tone: string; title: string } {
  switch (m.kind) {
    case 'connecting':
      return { text: 'Connecting…', tone: 'warn', title: 'Opening the live feed' };
    case 'feed':
      return { text: 'Live', tone: 'ok', title: 'Changes arrive through the live feed as they happen' };
    case 'feed-reconnecting':
      return {
        text: 'Reconnecting…',
        tone: 'warn',
        title: `The live feed dropped (${m.error ?? 'no reason'}); attempt ${m.attempt}. It resumes where it stopped.`,
      };
    case 'polling':
      return {
        text: 'Polling',
        tone: 'idle',
        title: `${m.reason}: the page asks the API for changes (every ${m.everyMs / 1000} s for the open thread)`,
      };
  }
}

function LiveIndicator({ state }: { state: AppState }) {
  const mode = useStore(state.liveMode);
  const { text, tone, title } = liveText(mode);
  return (
    <span class={`live ${tone}`} role="status" title={title} aria-label={`Updates: ${text}. ${title}`}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function serverText(s: ServerState): string | null {
  switch (s.kind) {
    case 'draining':
      return 'The server is shutting down (draining): it answers no requests. Wait for it to come back, or use another instance.';
    case 'unreachable':
      return 'The server cannot be reached. Is it running? The page keeps trying.';
    case 'ok':
      return s.ready.mode === 'passive'
        ? `Instance ${s.ready.instanceId} is passive: its periodic jobs (auto backfill, recent sync) are paused, or it is draining.`
        : null;
    default:
      return null;
  }
}

function ServerBanner({ state }: { state: AppState }) {
  const server = useStore(state.server);
  const text = serverText(server);
  if (!text) return null;
  return (
    <div class={`banner ${server.kind === 'ok' ? 'warn' : 'bad'}`} role="alert">
      {text}
    </div>
  );
}
