import { describe, expect, it } from 'vitest';
import type { ApiAccount, ApiMessage, ApiThread } from '../../web/src/api/types.js';
import { href, parseRoute, type Route } from '../../web/src/routes.js';
import { Activity } from '../../web/src/state/activity.js';
import { appendLog, logFromAccount, logFromEvent } from '../../web/src/state/sync-log.js';
import { toLiveEvent } from '../../web/src/live/events.js';
import {
  backfillCompletedEvent,
  backfillProgressEvent,
  historyChunkEvent,
  historyStatusEvent,
} from '../../src/account-actor/feed-events.js';
import type { ChangeEvent } from '../../src/domain/change-events.js';
import { eventData } from '../../src/http/feed-wire.js';
import { historySyncChunksText, historySyncProgressText, historySyncSummary, lastChunkAt } from '../../web/src/views/history-sync.js';
import { mergeMessages, mergeThreads, threadMatches } from '../../web/src/views/messages.js';

/** The console's pure parts: merging pages and live events, search, routes, the chart's and log's bookkeeping. */

const msg = (id: string, createdAt: string, status: ApiMessage['status'] = 'delivered'): ApiMessage => ({
  id,
  accountId: 'a',
  clientJid: '1@s.whatsapp.net',
  direction: 'outbound',
  body: id,
  status,
  messageType: 'text',
  createdAt,
});

describe('merging messages', () => {
  it('keeps one copy per id, oldest first by time then id, whatever order pages and events come in', () => {
    const a = msg('a', '2026-01-01T10:00:00.000Z');
    const b = msg('b', '2026-01-01T10:00:00.000Z');
    const c = msg('c', '2026-01-01T09:00:00.000Z');
    const d = msg('d', '2026-01-02T00:00:00.000Z');
    const orders = [
      [a, b, c, d],
      [d, c, b, a],
      [b, d, a, c],
    ];
    for (const order of orders) {
      let list: ApiMessage[] = [];
      for (const m of order) list = mergeMessages(list, [m, m]);
      list = mergeMessages(list, order);
      expect(list.map((m) => m.id)).toEqual(['c', 'a', 'b', 'd']);
    }
  });

  it('never moves a status backwards (a stale poll after a live update)', () => {
    const read = mergeMessages([msg('x', '2026-01-01T10:00:00.000Z', 'read')], [msg('x', '2026-01-01T10:00:00.000Z', 'sent')]);
    expect(read[0]!.status).toBe('read');
    const forward = mergeMessages([msg('x', '2026-01-01T10:00:00.000Z', 'queued')], [msg('x', '2026-01-01T10:00:00.000Z', 'delivered')]);
    expect(forward[0]!.status).toBe('delivered');
  });

  it('takes the newer fields of a message (edit, revoke) over the older ones', () => {
    const edited = { ...msg('x', '2026-01-01T10:00:00.000Z'), body: 'new', editedAt: '2026-01-01T11:00:00.000Z' };
    expect(mergeMessages([msg('x', '2026-01-01T10:00:00.000Z')], [edited])[0]).toMatchObject({ body: 'new', editedAt: edited.editedAt });
  });
});

describe('threads', () => {
  const t = (id: string, lastMessageAt: string | null, displayName: string | null = null): ApiThread => ({
    id,
    accountId: 'a',
    clientJid: `${id}@s.whatsapp.net`,
    displayName,
    lastMessageAt,
    lastMessagePreview: null,
  });

  it('are listed newest first, an update moving a thread to the top', () => {
    let list = mergeThreads([], [t('1', '2026-01-01T00:00:00Z'), t('2', '2026-01-02T00:00:00Z'), t('3', null)]);
    expect(list.map((x) => x.id)).toEqual(['2', '1', '3']);
    list = mergeThreads(list, [t('1', '2026-01-03T00:00:00Z')]);
    expect(list.map((x) => x.id)).toEqual(['1', '2', '3']);
  });

  it.each([
    ['Maria', true],
    ['mar', true],
    ['ANA', false],
    ['40712', true],
    ['+40 712-345', true],
    ['999', false],
    ['', true],
  ])('search %j matches Maria Pop (+40712345678): %s', (q, hit) => {
    expect(threadMatches(t('40712345678', null, 'Maria Pop'), q)).toBe(hit);
  });
});

describe('routes', () => {
  it.each<Route>([
    { view: 'accounts' },
    { view: 'fleet' },
    { view: 'pair', accountId: 'shop-1' },
    { view: 'sync', accountId: 'account_prod_x1' },
    { view: 'inbox', accountId: 'shop 1/ä', threadId: null },
    { view: 'inbox', accountId: 'shop-1', threadId: 'shop-1__120363@g.us' },
    { view: 'inbox', accountId: 'a', threadId: 'a__40712345678@s.whatsapp.net#x/y' },
  ])('%j survives the URL fragment', (route) => {
    expect(parseRoute(href(route))).toEqual(route);
  });

  it('anything else is the accounts list', () => {
    for (const hash of ['', '#', '#/nope', '#/accounts', '#/accounts/x/unknown', '#/%E0%A4%A'])
      expect(parseRoute(hash).view).toBe('accounts');
  });
});

describe('activity (the chart) and the sync log', () => {
  const acc = (fields: Partial<ApiAccount>): ApiAccount => ({ id: 'a', ...fields });

  it('counts what was stored after the page first saw the account, by source and time slot', () => {
    const act = new Activity(10_000);
    act.observe(acc({ historySyncCount: 500, lastBackfillAt: null }), 1_000);
    expect(act.series('a')).toEqual([]);
    act.observe(acc({ historySyncCount: 620 }), 2_000);
    act.observe(acc({ historySyncCount: 620, lastBackfillAt: 'b1', lastBackfillResult: { threads: 2, messages: 40, errors: 0 } }), 3_000);
    act.observe(acc({ historySyncCount: 620, lastBackfillAt: 'b1', lastBackfillResult: { threads: 2, messages: 40, errors: 0 } }), 4_000);
    act.observe(acc({ lastRealtimeMessageAt: 'r1' }), 12_000);
    expect(act.series('a')).toEqual([
      { start: 0, counts: { history_sync: 120, backfill: 40, recent_sync: 0, realtime: 0 } },
      { start: 10_000, counts: { history_sync: 0, backfill: 0, recent_sync: 0, realtime: 1 } },
    ]);
  });

  it('with the live feed, realtime comes from message events only (not counted twice)', () => {
    const act = new Activity(10_000);
    act.realtimeFromEvents = true;
    act.observe(acc({ lastRealtimeMessageAt: 'r0' }), 0);
    act.observe(acc({ lastRealtimeMessageAt: 'r1' }), 1);
    act.realtime('a', 2);
    act.realtime('a', 3);
    expect(act.series('a')[0]!.counts.realtime).toBe(2);
  });

  it('logs history chunks, backfills and recent syncs as the account moves, newest first', () => {
    expect(logFromAccount(undefined, acc({ historySyncCount: 10 }))).toEqual([]);
    const lines = logFromAccount(
      acc({ historySyncCount: 10 }),
      acc({
        historySyncCount: 30,
        lastHistorySyncResult: { saved: 20, skipped: 1, errors: 0, total: 21, dryRun: false },
        lastBackfillAt: 'x',
        lastBackfillResult: { threads: 3, messages: 7, errors: 1 },
      }),
    );
    expect(lines).toEqual([
      'History sync: +20 messages (last chunk: 20 saved, 1 skipped of 21)',
      'Backfill: 7 messages in 3 threads, 1 errors',
    ]);
    const log = appendLog(appendLog(new Map(), 'a', ['first'], 1), 'a', ['second', 'third'], 2);
    expect(log.get('a')!.map((l) => l.text)).toEqual(['third', 'second', 'first']);
  });
});

describe('the history sync in words (README, Data model, "History sync")', () => {
  const acc = (fields: Partial<ApiAccount>): ApiAccount => ({ id: 'a', ...fields });

  it.each<[Partial<ApiAccount>, string, string]>([
    [{ historySyncStatus: 'waiting' }, 'idle', 'waiting for the phone'],
    [{ historySyncStatus: 'running' }, 'warn', 'running'],
    [{ historySyncStatus: 'paused' }, 'warn', 'paused'],
    [{ historySyncStatus: 'complete' }, 'ok', 'complete'],
    [{ historySyncStatus: 'running', historySyncStalled: true }, 'bad', 'stalled'],
    [{ historySyncStatus: 'waiting', historySyncStalled: true }, 'bad', 'stalled'],
    // A server older than the status fields: what the counters say.
    [{ historySyncCount: 3, lastHistorySyncAt: '2026-01-01T00:00:00.000Z' }, 'ok', 'received'],
    [{}, 'idle', 'nothing yet'],
  ])('%j is %s "%s"', (fields, tone, text) => {
    expect(historySyncSummary(acc(fields))).toEqual({ tone, text });
  });

  it.each<[ApiAccount['historySyncProgress'], string]>([
    [undefined, ''],
    [{ RECENT: null, FULL: null }, ''],
    [{ RECENT: 40, FULL: null }, 'RECENT 40 %'],
    [{ RECENT: 100, FULL: 7.6 }, 'RECENT 100 %, FULL 8 %'],
    [{ RECENT: null, FULL: 100 }, 'FULL 100 %'],
  ])('progress %j reads "%s"', (historySyncProgress, text) => {
    expect(historySyncProgressText({ historySyncProgress })).toBe(text);
  });

  it('lists chunks in the order WhatsApp sends the sync types, whatever order the map came in', () => {
    const historySyncChunks = { FULL: 6, RECENT: 4, ZZZ_NEW: 1, PUSH_NAME: 1, INITIAL_BOOTSTRAP: 1, NON_BLOCKING_DATA: 2 };
    expect(historySyncChunksText({ historySyncChunks })).toBe(
      'INITIAL_BOOTSTRAP 1, PUSH_NAME 1, RECENT 4, FULL 6, NON_BLOCKING_DATA 2, ZZZ_NEW 1',
    );
    expect(historySyncChunksText({})).toBe('');
  });

  it('takes the last chunk time from the status field, else from the older counter', () => {
    expect(lastChunkAt(acc({ historySyncLastChunkAt: 'x', lastHistorySyncAt: 'y' }))).toBe('x');
    expect(lastChunkAt(acc({ lastHistorySyncAt: 'y' }))).toBe('y');
    expect(lastChunkAt(acc({}))).toBeNull();
  });

  it('logs progress per sync type, status changes and a stall as the account moves', () => {
    const running = acc({ historySyncStatus: 'running', historySyncProgress: { RECENT: 40, FULL: null } });
    expect(logFromAccount(running, acc({ ...running, historySyncProgress: { RECENT: 40, FULL: null } }))).toEqual([]);
    expect(logFromAccount(running, acc({ historySyncStatus: 'complete', historySyncProgress: { RECENT: 100, FULL: 100 } }))).toEqual([
      'History sync RECENT: 100 %',
      'History sync FULL: 100 %',
      'History sync complete',
    ]);
    expect(logFromAccount(running, acc({ ...running, historySyncStalled: true }))).toEqual(['History sync stalled: no chunk for a while']);
    // A new pairing: the progress goes back to null, only the status says so.
    const complete = acc({ historySyncStatus: 'complete', historySyncProgress: { RECENT: 100, FULL: 100 } });
    expect(logFromAccount(complete, acc({ historySyncStatus: 'waiting', historySyncProgress: { RECENT: null, FULL: null } }))).toEqual([
      'History sync waiting',
    ]);
  });
});

describe("the sync log reads the server's real event data (src/http/feed-wire.ts)", () => {
  const frame = (e: ChangeEvent) => toLiveEvent({ event: e.type, accountId: 'a', data: eventData(e) });
  const RECENT = 3; // proto.HistorySync.HistorySyncType.RECENT

  it('history chunks with their progress and counts, and the phase status', () => {
    const chunk = frame(historyChunkEvent(RECENT, 40, { saved: 12, skipped: 3, errors: 0, total: 15, dryRun: false }));
    expect(chunk && logFromEvent(chunk)).toBe('History chunk RECENT: 40 %, 12 saved, 3 skipped');
    const done = frame(historyStatusEvent(RECENT, 'complete', true));
    expect(done && logFromEvent(done)).toBe('History sync RECENT complete');
    const paused = frame(historyStatusEvent(RECENT, 'paused', false));
    expect(paused && logFromEvent(paused)).toBe('History sync RECENT paused (inferred by Baileys)');
  });

  it('backfill progress per thread and the completed run', () => {
    const progress = frame(
      backfillProgressEvent({ reason: 'auto', record: 'backfill' }, { threadId: 'a__1@s.whatsapp.net', messages: 25 }, 2, 9),
    );
    expect(progress && logFromEvent(progress)).toBe('Backfill (auto): 25 messages, thread 2 of 9');
    const completed = frame(
      backfillCompletedEvent('recent', 'recentSync', { threads: 4, messages: 50, errors: 1, threadResults: [] }, Date.UTC(2026, 0, 1)),
    );
    expect(completed && logFromEvent(completed)).toBe('Recent sync done (recent): 50 messages in 4 threads, 1 errors');
  });

  it('message, thread and account events keep the fields the console reads', () => {
    const account = frame({ type: 'account.updated', data: { fields: { status: 'qr', historySyncStatus: 'running' } } });
    expect(account?.data).toMatchObject({ status: 'qr', qrAvailable: true, historySyncStatus: 'running' });
    expect(logFromEvent(account!)).toBeNull();
  });
});
