import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  ActorProtocolError,
  parseActorEvent,
  parseActorInit,
  parseActorResult,
  summarizeMessages,
  type ActorEvent,
} from '../../src/account-actor/protocol.js';

const ACC = 'acc1';
const STATUS = { accountId: ACC, connection: 'open', reason: null, qr: null, me: null, pendingWrites: 0, reconnectAttempts: 0 };
const RESULT = { threads: 1, messages: 2, errors: 0, threadResults: [] };

/** One well-formed event of every type the protocol has. */
const VALID: ActorEvent[] = [
  { type: 'ready', accountId: ACC },
  { type: 'connection', accountId: ACC, status: { ...STATUS, connection: 'open' } },
  { type: 'qr', accountId: ACC, qr: '2@ref,noise,identity,adv' },
  { type: 'caught-up', accountId: ACC },
  { type: 'messages', accountId: ACC, source: 'realtime', count: 2, inserted: 1, newestCreatedAt: 1_700_000_000_000, media: false },
  { type: 'statuses', accountId: ACC, updates: [{ messageId: 'M1', clientJid: null, status: 'read', at: 1 }] },
  {
    type: 'history-sync',
    accountId: ACC,
    syncType: 'RECENT',
    progress: 100,
    result: { saved: 1, skipped: 0, errors: 0, total: 1, dryRun: false },
  },
  { type: 'backfill', accountId: ACC, reason: 'auto', record: 'backfill', result: RESULT },
  { type: 'error', accountId: ACC, error: { name: 'Error', code: 'INTERNAL', message: 'x' }, context: 'connect' },
  { type: 'flush', accountId: ACC, ops: 3, durationMs: 1.5, failed: false },
  { type: 'lease-lost', accountId: ACC, reason: 'connection replaced by instance wa-2' },
];

describe('parseActorEvent (supervisor side of the boundary)', () => {
  it('covers every event type, and passes each well-formed one through unchanged', () => {
    expect(new Set(VALID.map((e) => e.type)).size).toBe(VALID.length);
    for (const event of VALID) expect(parseActorEvent(structuredClone(event), ACC)).toEqual(event);
  });

  it.each([
    ['not an object', 'ready'],
    ['no type', { accountId: ACC }],
    ['an unknown type', { type: 'teleport', accountId: ACC }],
    ['a connection event without status', { type: 'connection', accountId: ACC }],
    ['a qr event with a number', { type: 'qr', accountId: ACC, qr: 42 }],
    [
      'messages from an unknown source',
      { type: 'messages', accountId: ACC, source: 'carrier_pigeon', count: 1, inserted: 1, newestCreatedAt: 1, media: false },
    ],
    ['messages without a count', { type: 'messages', accountId: ACC, source: 'realtime', inserted: 1, newestCreatedAt: 1, media: false }],
    ['messages as records (the old shape)', { type: 'messages', accountId: ACC, source: 'realtime', messages: [] }],
    ['an error without a code', { type: 'error', accountId: ACC, error: { message: 'x' }, context: 'c' }],
    ['a flush without its fields', { type: 'flush', accountId: ACC }],
    ['a lease-lost event without a reason', { type: 'lease-lost', accountId: ACC }],
  ])('refuses %s', (_what, data) => {
    expect(() => parseActorEvent(data, ACC)).toThrow(ActorProtocolError);
  });

  it.each([
    ['nothing', [], 0, { count: 0, inserted: 0, newestCreatedAt: null, media: false }],
    [
      'text only, newest wins whatever the order',
      [
        [5, 'text'],
        [9, 'text'],
        [7, 'text'],
      ],
      2,
      { count: 3, inserted: 2, newestCreatedAt: 9, media: false },
    ],
    [
      'one image among texts',
      [
        [1, 'text'],
        [2, 'image'],
      ],
      2,
      { count: 2, inserted: 2, newestCreatedAt: 2, media: true },
    ],
    ['a sticker merged (none new)', [[3, 'sticker']], 0, { count: 1, inserted: 0, newestCreatedAt: 3, media: true }],
    [
      'reactions and locations are not media',
      [
        [4, 'reaction'],
        [6, 'location'],
      ],
      1,
      { count: 2, inserted: 1, newestCreatedAt: 6, media: false },
    ],
  ] as const)('summarizes a commit of %s', (_what, rows, inserted, expected) => {
    const records = rows.map(([createdAt, messageType]) => ({ createdAt, messageType }));
    expect(summarizeMessages('history_sync', records, inserted)).toEqual({ source: 'history_sync', ...expected });
  });

  it("refuses an event of another account: it would land in the wrong account's runtime", () => {
    expect(() => parseActorEvent({ type: 'ready', accountId: 'acc2' }, ACC)).toThrow(/account acc2 arrived from the actor of acc1/);
  });
});

describe('parseActorInit (worker side)', () => {
  it.each([null, { holder: 'wa-1', epoch: 3 }])('accepts the init the supervisor sends (fence %o)', (fence) => {
    const { port1, port2 } = new MessageChannel();
    const init = { accountId: ACC, env: { LOG_LEVEL: 'info' }, commandPort: port2, fence };
    expect(parseActorInit(init)).toBe(init);
    port1.close();
  });

  it.each([
    ['nothing', undefined],
    ['an empty account id', { accountId: '', env: {}, commandPort: null, fence: null }],
    ['an env with a non-string value', { accountId: ACC, env: { PORT: 8080 }, commandPort: null, fence: null }],
    ['no command port', { accountId: ACC, env: {}, commandPort: {}, fence: null }],
  ])('refuses %s', (_what, data) => {
    expect(() => parseActorInit(data)).toThrow(ActorProtocolError);
  });

  it.each([
    ['no fence at all', undefined],
    ['a fence without an epoch', { holder: 'wa-1' }],
    ['a fence whose epoch is a string', { holder: 'wa-1', epoch: '3' }],
  ])('refuses %s', (_what, fence) => {
    const { port1, port2 } = new MessageChannel();
    expect(() => parseActorInit({ accountId: ACC, env: {}, commandPort: port2, fence })).toThrow(/fence must be null/);
    port1.close();
  });
});

describe('parseActorResult (a command answer, supervisor side)', () => {
  it('passes values and typed failures through', () => {
    expect(parseActorResult({ ok: true, value: { flushed: true } }, 'stop')).toEqual({ ok: true, value: { flushed: true } });
    expect(parseActorResult({ ok: true, value: undefined }, 'crash')).toEqual({ ok: true, value: undefined });
    const failure = { ok: false, error: { name: 'WasyncError', code: 'NOT_CONNECTED', message: 'x' } };
    expect(parseActorResult(failure, 'send')).toEqual(failure);
  });

  it.each([
    ['nothing', undefined],
    ['no ok flag', { value: 1 }],
    ['a failure without an error', { ok: false }],
    ['a failure whose error has no code', { ok: false, error: { message: 'x' } }],
  ])('refuses %s', (_what, data) => {
    expect(() => parseActorResult(data, 'send')).toThrow(/malformed answer to send/);
  });
});
