import type { Api } from '../api/client.js';
import type { ApiMessage } from '../api/types.js';
import type { Interest, LiveEvent, LiveMode, LiveSource } from './events.js';

/**
 * The live layer when the server has no live feed (`POST /api/whatsapp/ws-ticket` answers 404): the
 * same events, made by comparing REST answers with the previous ones. It fetches only what the page
 * shows (the `Interest`): the open thread's newest messages every `MESSAGES_MS` (new messages and
 * status changes), the open account's first threads page every `THREADS_MS`, the accounts every
 * `ACCOUNTS_MS` (faster while pairing or watching a sync). A hidden tab polls ten times slower.
 */
const TICK_MS = 100;
/** "A new message on screen within a second" holds with room to spare, at three small requests a second. */
const MESSAGES_MS = 300;
const THREADS_MS = 1000;
const ACCOUNTS_FAST_MS = 1000;
const ACCOUNTS_MS = 3000;
const HIDDEN_FACTOR = 10;
const PAGE = 50;
/** The open thread's newest messages: new ones and the statuses of recent sends. */
const NEWEST = 20;

export class Poller implements LiveSource {
  private interest: Interest = { accountId: null, threadId: null, view: 'accounts' };
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private readonly last = { accounts: 0, threads: 0, messages: 0 };
  private readonly accounts = new Map<string, string>();
  private threads = new Map<string, string>();
  private threadsOf: string | null = null;
  private messages = new Map<string, string>();
  private messagesOf: string | null = null;

  constructor(
    private readonly api: Api,
    private readonly onEvent: (e: LiveEvent) => void,
    onMode: (m: LiveMode) => void,
    reason: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    onMode({ kind: 'polling', everyMs: MESSAGES_MS, reason });
    this.schedule(0);
  }

  watch(interest: Interest): void {
    const changed = interest.threadId !== this.interest.threadId || interest.accountId !== this.interest.accountId;
    this.interest = interest;
    if (changed) {
      // Fetch what just came on screen now, not at the next due time.
      this.last.messages = 0;
      this.last.threads = 0;
      this.schedule(0);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const slow = typeof document !== 'undefined' && document.hidden ? HIDDEN_FACTOR : 1;
    const { accountId, threadId, view } = this.interest;
    const fast = view === 'pair' || view === 'sync' || view === 'accounts';
    try {
      if (accountId && threadId && now - this.last.messages >= MESSAGES_MS * slow) {
        this.last.messages = now;
        await this.pollMessages(accountId, threadId);
      }
      if (accountId && view === 'inbox' && now - this.last.threads >= THREADS_MS * slow) {
        this.last.threads = now;
        await this.pollThreads(accountId);
      }
      if (now - this.last.accounts >= (fast ? ACCOUNTS_FAST_MS : ACCOUNTS_MS) * slow) {
        this.last.accounts = now;
        await this.pollAccounts();
      }
    } catch (err) {
      // Reported (the header says the server is draining or gone); the poller just tries again.
      this.onError(err);
    }
    this.schedule(TICK_MS);
  }

  private async pollAccounts(): Promise<void> {
    for (const a of await this.api.accounts()) {
      const json = JSON.stringify(a);
      if (this.accounts.get(a.id) === json) continue;
      this.accounts.set(a.id, json);
      this.onEvent({ event: 'account.updated', accountId: a.id, data: a });
    }
  }

  private async pollThreads(accountId: string): Promise<void> {
    const page = await this.api.threads(accountId, { limit: PAGE });
    if (this.threadsOf !== accountId) {
      this.threadsOf = accountId;
      this.threads = new Map();
    }
    for (const t of page.threads) {
      const json = JSON.stringify(t);
      if (this.threads.get(t.id) === json) continue;
      this.threads.set(t.id, json);
      this.onEvent({ event: 'thread.updated', accountId, data: t });
    }
  }

  private async pollMessages(accountId: string, threadId: string): Promise<void> {
    const page = await this.api.messages(accountId, threadId, { limit: NEWEST });
    const key = `${accountId}\u0000${threadId}`;
    if (this.messagesOf !== key) {
      this.messagesOf = key;
      this.messages = new Map();
    }
    // Oldest first, so that listeners see them in the order they happened.
    for (const m of [...page.messages].reverse()) {
      const json = JSON.stringify(m);
      const before = this.messages.get(m.id);
      if (before === json) continue;
      this.messages.set(m.id, json);
      const data: ApiMessage & { threadId: string } = { ...m, threadId };
      this.onEvent({ event: before === undefined ? 'message.created' : 'message.updated', accountId, data });
    }
  }
}
