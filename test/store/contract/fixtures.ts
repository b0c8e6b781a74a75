import { expect } from 'vitest';
import type { Mutation } from '../../../src/domain/mutations.js';
import { threadIdOf, type DisplayNameSource, type MessageRecord, type MessageStatus } from '../../../src/domain/records.js';
import type { Page, SortOrder, Store } from '../../../src/store/port.js';
import { makeMessage } from '../../support/records.js';

/**
 * What every area of the store contract shares: the ids it writes under, record and mutation
 * builders, and readers that follow pages to the end. `current()` is the store of the running test.
 */
export function contractFixtures(current: () => Store) {
  const ACC = 'acc-1';
  const OTHER = 'acc-2';
  const PN = '40712345678@s.whatsapp.net';
  const LID = '178294512345678@lid';
  const GROUP = '120363012345678901@g.us';
  const PN_THREAD = threadIdOf(ACC, PN);
  const LID_THREAD = threadIdOf(ACC, LID);

  const msg = (overrides: Partial<MessageRecord> = {}): MessageRecord => makeMessage({ accountId: ACC, clientJid: PN, ...overrides });
  const upsert = (...records: MessageRecord[]): Mutation[] => records.map((record) => ({ kind: 'message', record }));
  const apply = (...mutations: Mutation[]) => current().applyMutations(ACC, mutations);
  const receipt = (messageId: string, status: MessageStatus, at: number): Mutation => ({
    kind: 'status',
    accountId: ACC,
    clientJid: PN,
    messageId,
    status,
    at,
  });
  const name = (clientJid: string, displayName: string, source: DisplayNameSource): Mutation => ({
    kind: 'thread',
    accountId: ACC,
    clientJid,
    displayName,
    source,
  });
  const mapping = (lid: string, pn: string): Mutation => ({ kind: 'jid-mapping', accountId: ACC, lid, pn });

  async function allThreads(accountId = ACC) {
    return collect((cursor) => current().listThreads(accountId, { limit: 500, cursor }), 500);
  }
  async function allMessages(threadId: string, order: SortOrder = 'asc') {
    return collect((cursor) => current().listMessages(ACC, threadId, { limit: 500, cursor, order }), 500);
  }

  return { ACC, OTHER, PN, LID, GROUP, PN_THREAD, LID_THREAD, msg, upsert, apply, receipt, name, mapping, allThreads, allMessages };
}

/** Follows `nextCursor` to the end, checking each page respects the limit. */
export async function collect<T>(
  fetchPage: (cursor: string | null) => Promise<Page<T>>,
  limit: number,
  startCursor: string | null = null,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor = startCursor;
  let pages = 0;
  do {
    const page = await fetchPage(cursor);
    pages++;
    expect(page.items.length).toBeLessThanOrEqual(limit);
    if (page.nextCursor !== null) expect(page.items.length).toBe(limit);
    items.push(...page.items);
    cursor = page.nextCursor;
    if (pages > 10_000) throw new Error('pagination does not terminate');
  } while (cursor !== null);
  return { items, pages };
}

/** Comparator over a (number, string) key, with plain code-unit string order (ids are ASCII here). */
export function byKey<T>(key: (item: T) => [number, string]): (a: T, b: T) => number {
  return (a, b) => {
    const [at, aid] = key(a);
    const [bt, bid] = key(b);
    if (at !== bt) return at - bt;
    return aid < bid ? -1 : aid > bid ? 1 : 0;
  };
}

/** What an area of the contract sees: the store of the running test (fresh, initialised, empty). */
export interface ContractContext {
  readonly store: Store;
  /**
   * Another store on the same data, initialised: another instance, or the process after a restart.
   * The suite closes it after the test.
   */
  reopen(): Promise<Store>;
}
