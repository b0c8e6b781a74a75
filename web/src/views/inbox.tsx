import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { describeError } from '../api/client.js';
import type { ApiMessage, ApiThread } from '../api/types.js';
import type { LiveEvent } from '../live/events.js';
import { href, navigate } from '../router.js';
import type { AppState } from '../state/app-state.js';
import { Empty, ErrorNote, Loading } from '../ui/components.js';
import { dayKey, displayJid, formatDateTime, formatDay, formatShort, parseDate } from '../ui/format.js';
import { useStore } from '../ui/store.js';
import { MessageItem } from './message-item.js';
import { mergeMessages, mergeThreads, threadMatches } from './messages.js';

const THREADS_PAGE = 50;
const MESSAGES_PAGE = 50;
/** While searching, the list pages through every thread (name and number search runs in the page). */
const SEARCH_MAX_THREADS = 5000;

export function InboxView({ state, accountId, threadId }: { state: AppState; accountId: string; threadId: string | null }) {
  const account = useStore(state.accounts)?.get(accountId);
  return (
    <main class={`inbox ${threadId ? 'has-thread' : ''}`} aria-label={`Inbox of ${accountId}`}>
      <ThreadList state={state} accountId={accountId} selected={threadId} />
      {threadId ? (
        <Conversation key={threadId} state={state} accountId={accountId} threadId={threadId} />
      ) : (
        <section class="conversation empty-pane">
          <Empty title="Pick a conversation">
            <p>
              {account?.phoneNumber ? `${displayJid(account.phoneNumber)}: ` : ''}threads are listed newest first. Search by name or number.{' '}
              <a href={href({ view: 'sync', accountId })}>Sync status</a>
            </p>
          </Empty>
        </section>
      )}
    </main>
  );
}

function ThreadList({ state, accountId, selected }: { state: AppState; accountId: string; selected: string | null }) {
  const [threads, setThreads] = useState<ApiThread[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [query, setQuery] = useState('');
  const resyncs = useStore(state.resyncs);
  const sentinel = useRef<HTMLLIElement>(null);

  const loadFirst = useCallback(async () => {
    setError(null);
    try {
      const page = await state.api.threads(accountId, { limit: THREADS_PAGE });
      setThreads(page.threads);
      setCursor(page.nextCursor);
    } catch (err) {
      setError(err);
    }
  }, [state, accountId]);

  const loadMore = useCallback(async () => {
    if (!cursor || loading) return;
    setLoading(true);
    try {
      const page = await state.api.threads(accountId, { limit: THREADS_PAGE, cursor });
      setThreads((t) => mergeThreads(t ?? [], page.threads));
      setCursor(page.nextCursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }, [state, accountId, cursor, loading]);

  useEffect(() => {
    setThreads(null);
    void loadFirst();
  }, [loadFirst, resyncs]);

  useEffect(
    () =>
      state.on((e: LiveEvent) => {
        if (e.accountId !== accountId) return;
        if (e.event === 'thread.updated') setThreads((t) => (t ? mergeThreads(t, [e.data]) : t));
        else if (e.event === 'message.created') {
          const m = e.data;
          setThreads((t) => {
            const known = t?.find((x) => x.id === m.threadId);
            if (!t || !known || (known.lastMessageAt ?? '') > (m.createdAt ?? '')) return t;
            return mergeThreads(t, [
              { ...known, lastMessageAt: m.createdAt, lastMessagePreview: (m.body ?? '').slice(0, 100), lastMessageId: m.id },
            ]);
          });
        }
      }),
    [state, accountId],
  );

  // Searching looks through every thread, so keep paging while a query is typed.
  useEffect(() => {
    if (query.trim() !== '' && cursor && !loading && (threads?.length ?? 0) < SEARCH_MAX_THREADS) void loadMore();
  }, [query, cursor, loading, threads, loadMore]);

  // Infinite scroll: the last item coming into view loads the next page.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !cursor) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((x) => x.isIntersecting)) void loadMore();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [cursor, loadMore]);

  const shown = threads?.filter((t) => threadMatches(t, query)) ?? null;
  return (
    <section class="threads" aria-label="Conversations">
      <div class="threads-head">
        <a href={href({ view: 'accounts' })} class="back">
          Accounts
        </a>
        <strong>{accountId}</strong>
        <a href={href({ view: 'sync', accountId })} class="small">
          Sync
        </a>
      </div>
      <label class="sr-only" for="thread-search">
        Search conversations
      </label>
      <input
        id="thread-search"
        type="search"
        placeholder="Search name or number"
        value={query}
        onInput={(e) => setQuery(e.currentTarget.value)}
      />
      {error !== null && <ErrorNote error={error} onRetry={() => void loadFirst()} />}
      {!threads && error === null && <Loading what="conversations" />}
      {threads && threads.length === 0 && (
        <Empty title="No conversations yet">
          <p>They appear as the phone's history sync arrives, or when a message is sent or received.</p>
        </Empty>
      )}
      {shown && threads && threads.length > 0 && shown.length === 0 && (
        <p class="muted pad" role="status">
          No conversation matches “{query}”{cursor ? ' so far; looking further…' : '.'}
        </p>
      )}
      {shown && shown.length > 0 && (
        <ul class="thread-list" aria-label="Conversations, newest first">
          {shown.map((t) => (
            <ThreadItem key={t.id} t={t} accountId={accountId} selected={t.id === selected} />
          ))}
          {cursor && (
            <li ref={sentinel} class="more">
              <button type="button" class="quiet" onClick={() => void loadMore()} disabled={loading}>
                {loading ? 'Loading…' : 'Load more conversations'}
              </button>
            </li>
          )}
        </ul>
      )}
    </section>
  );
}

function ThreadItem({ t, accountId, selected }: { t: ApiThread; accountId: string; selected: boolean }) {
  const d = parseDate(t.lastMessageAt);
  const name = t.displayName ?? displayJid(t.clientJid);
  return (
    <li data-thread-id={t.id}>
      <a
        href={href({ view: 'inbox', accountId, threadId: t.id })}
        aria-current={selected ? 'true' : undefined}
        class={selected ? 'selected' : ''}
      >
        <span class="thread-top">
          <span class="thread-name">
            {name}
            {t.isGroup && <span class="tag">group</span>}
          </span>
          {d && (
            <time dateTime={d.toISOString()} title={formatDateTime(d)}>
              {formatShort(d)}
            </time>
          )}
        </span>
        {t.displayName && <span class="thread-number">{displayJid(t.clientJid)}</span>}
        <span class="thread-preview">{t.lastMessagePreview ?? ''}</span>
      </a>
    </li>
  );
}

function Conversation({ state, accountId, threadId }: { state: AppState; accountId: string; threadId: string }) {
  const [thread, setThread] = useState<ApiThread | null>(null);
  const [messages, setMessages] = useState<ApiMessage[] | null>(null);
  const [older, setOlder] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const resyncs = useStore(state.resyncs);
  const scroller = useRef<HTMLDivElement>(null);
  const topSentinel = useRef<HTMLLIElement>(null);
  /** How to place the scroll after the next render: stick to the bottom, or keep the reading position. */
  const anchor = useRef<{ kind: 'bottom' } | { kind: 'keep'; fromBottom: number } | null>({ kind: 'bottom' });

  const nearBottom = (): boolean => {
    const el = scroller.current;
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  };

  const loadNewest = useCallback(async () => {
    setError(null);
    try {
      const page = await state.api.messages(accountId, threadId, { limit: MESSAGES_PAGE });
      setThread(page.thread);
      anchor.current = { kind: 'bottom' };
      setMessages((m) => mergeMessages(m ?? [], page.messages));
      setOlder(page.nextCursor);
    } catch (err) {
      setError(err);
    }
  }, [state, accountId, threadId]);

  const loadOlder = useCallback(async () => {
    if (!older || loadingOlder) return;
    setLoadingOlder(true);
    try {
      const page = await state.api.messages(accountId, threadId, { limit: MESSAGES_PAGE, cursor: older });
      const el = scroller.current;
      anchor.current = { kind: 'keep', fromBottom: el ? el.scrollHeight - el.scrollTop : 0 };
      setMessages((m) => mergeMessages(m ?? [], page.messages));
      setOlder(page.nextCursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoadingOlder(false);
    }
  }, [state, accountId, threadId, older, loadingOlder]);

  useEffect(() => {
    void loadNewest();
  }, [loadNewest, resyncs]);

  useEffect(
    () =>
      state.on((e: LiveEvent) => {
        if (e.accountId !== accountId) return;
        if ((e.event === 'message.created' || e.event === 'message.updated') && e.data.threadId === threadId) {
          if (nearBottom()) anchor.current = { kind: 'bottom' };
          setMessages((m) => (m ? mergeMessages(m, [e.data]) : m));
        } else if (e.event === 'thread.updated' && e.data.id === threadId) {
          setThread((t) => ({ ...(t ?? {}), ...e.data }));
        }
      }),
    [state, accountId, threadId],
  );

  useLayoutEffect(() => {
    const el = scroller.current;
    const a = anchor.current;
    if (!el || !a) return;
    anchor.current = null;
    if (a.kind === 'bottom') el.scrollTop = el.scrollHeight;
    else el.scrollTop = el.scrollHeight - a.fromBottom;
  }, [messages]);

  // Infinite scroll backwards: the top of the list coming into view loads the previous page.
  useEffect(() => {
    const el = topSentinel.current;
    if (!el || !older || !messages) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((x) => x.isIntersecting)) void loadOlder();
      },
      { root: scroller.current, rootMargin: '200px 0px 0px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [older, loadOlder, messages]);

  const name = thread ? (thread.displayName ?? displayJid(thread.clientJid)) : '…';
  return (
    <section class="conversation" aria-label={`Conversation with ${name}`}>
      <header class="conversation-head">
        <button type="button" class="quiet back-to-list" onClick={() => navigate({ view: 'inbox', accountId, threadId: null })}>
          Back
        </button>
        <div>
          <h2>{name}</h2>
          {thread && <span class="muted small">{displayJid(thread.clientJid)}</span>}
          {thread?.participants && thread.participants.length > 0 && (
            <details class="participants">
              <summary>{thread.participants.length} participants</summary>
              <ul>
                {thread.participants.map((p) => {
                  const jid = typeof p === 'string' ? p : p.jid;
                  const label = typeof p === 'string' ? displayJid(p) : (p.name ?? displayJid(p.jid));
                  return (
                    <li key={jid}>
                      {label}
                      {typeof p !== 'string' && p.admin ? <span class="tag">{p.admin}</span> : null}
                    </li>
                  );
                })}
              </ul>
            </details>
          )}
        </div>
      </header>
      <div class="messages" ref={scroller}>
        {error !== null && <ErrorNote error={error} onRetry={() => void loadNewest()} />}
        {!messages && error === null && <Loading what="messages" />}
        {messages && (
          <ol class="message-list" aria-label="Messages, oldest first" aria-busy={loadingOlder}>
            {older ? (
              <li ref={topSentinel} class="history-marker">
                <button type="button" class="quiet" onClick={() => void loadOlder()} disabled={loadingOlder}>
                  {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
                </button>
              </li>
            ) : (
              <li class="history-marker start" data-start-of-conversation>
                Beginning of the stored conversation
              </li>
            )}
            {withDays(messages).map((x) =>
              'day' in x ? (
                <li key={`day-${x.key}`} class="day" aria-hidden="true">
                  {x.day}
                </li>
              ) : (
                <MessageItem key={x.m.id} m={x.m} state={state} isGroup={thread?.isGroup ?? false} />
              ),
            )}
          </ol>
        )}
        {messages && messages.length === 0 && <p class="muted pad">No messages stored in this conversation.</p>}
      </div>
      {thread && (
        <SendBox
          state={state}
          accountId={accountId}
          to={thread.clientJid}
          onSent={(m) => {
            anchor.current = { kind: 'bottom' };
            setMessages((list) => mergeMessages(list ?? [], [m]));
          }}
        />
      )}
    </section>
  );
}

/** Messages with a separator before each new local day. */
function withDays(messages: readonly ApiMessage[]): Array<{ m: ApiMessage } | { day: string; key: string }> {
  const out: Array<{ m: ApiMessage } | { day: string; key: string }> = [];
  let last = '';
  for (const m of messages) {
    const d = parseDate(m.createdAt);
    const key = d ? dayKey(d) : '';
    if (d && key !== last) {
      out.push({ day: formatDay(d), key });
      last = key;
    }
    out.push({ m });
  }
  return out;
}

function newMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `console-${Date.now().toString(36)}-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function SendBox({ state, accountId, to, onSent }: { state: AppState; accountId: string; to: string; onSent: (m: ApiMessage) => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Kept until a send succeeds, so a retry after an error cannot send the text twice. */
  const pendingId = useRef<string | null>(null);

  const send = async (): Promise<void> => {
    const body = text.trim();
    if (body === '' || busy) return;
    setBusy(true);
    setError(null);
    pendingId.current ??= newMessageId();
    try {
      const r = await state.api.send({ accountId, to, text: body, messageId: pendingId.current });
      const now = new Date().toISOString();
      onSent({
        id: r.messageId,
        accountId,
        clientJid: r.clientJid,
        direction: 'outbound',
        body,
        status: r.status,
        messageType: 'text',
        createdAt: now,
        syncSource: 'outbound_api',
        fromMe: true,
        threadId: r.threadId,
      });
      pendingId.current = null;
      setText('');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="send"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <label for="send-text" class="sr-only">
        Message
      </label>
      <textarea
        id="send-text"
        rows={1}
        placeholder="Type a message"
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          pendingId.current = null;
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            void send();
          }
        }}
      />
      <button type="submit" disabled={busy || text.trim() === ''}>
        {busy ? 'Sending…' : 'Send'}
      </button>
      {error && (
        <p class="note bad" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
