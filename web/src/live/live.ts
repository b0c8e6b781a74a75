import type { Api } from '../api/client.js';
import type { Interest, LiveListener, LiveSource } from './events.js';
import { FeedClient, feedUrl } from './feed-client.js';
import { Poller } from './poller.js';

/**
 * Starts the page's live layer: the websocket feed when the server offers one, else REST polling.
 * The choice is made by asking for a feed ticket: a server without the feed answers 404.
 */
export function startLive(api: Api, listener: LiveListener): LiveSource {
  let interest: Interest = { accountId: null, threadId: null, view: 'accounts' };
  let current: LiveSource | null = null;
  let stopped = false;

  const poll = (reason: string): void => {
    if (stopped) return;
    current = new Poller(
      api,
      (e) => listener.event(e),
      (m) => listener.mode(m),
      reason,
    );
    current.watch(interest);
  };

  const feed = new FeedClient({
    url: feedUrl(window.location),
    ticket: async () => (await api.wsTicket())?.ticket ?? null,
    onEvent: (e) => listener.event(e),
    onMode: (m) => listener.mode(m),
    onResync: () => listener.resync(),
    onUnavailable: (reason) => poll(reason),
  });
  current = {
    watch: () => undefined,
    stop: () => feed.stop(),
  };
  feed.start();

  return {
    watch(next) {
      interest = next;
      current?.watch(next);
    },
    stop() {
      stopped = true;
      current?.stop();
      feed.stop();
    },
  };
}
