import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConfigError,
  ConflictError,
  MediaArchiveError,
  MediaHashMismatchError,
  MediaTooLargeError,
  NotFoundError,
  RangeNotSatisfiableError,
  StoreError,
  TransientStoreError,
  WasyncError,
  deserializeError,
  serializeError,
} from '../../src/domain/errors.js';

/** What a worker thread's error looks like on the supervisor's side: serialized, structured-cloned, rebuilt. */
const acrossThreads = (err: unknown): WasyncError => deserializeError(structuredClone(serializeError(err)));

describe('errors across a thread boundary', () => {
  it.each([
    ['WasyncError', new WasyncError('SEND_FAILED', 'send failed'), WasyncError],
    ['ConfigError', new ConfigError('bad PORT'), ConfigError],
    ['NotFoundError', new NotFoundError('account x not found'), NotFoundError],
    ['BadRequestError', new BadRequestError('limit must be an integer'), BadRequestError],
    ['ConflictError', new ConflictError('message id taken'), ConflictError],
    ['RangeNotSatisfiableError', new RangeNotSatisfiableError('range past the end', 1234), RangeNotSatisfiableError],
    ['TransientStoreError', new TransientStoreError('SQLITE_BUSY'), TransientStoreError],
    ['StoreError', new StoreError('disk I/O error'), StoreError],
    ['MediaHashMismatchError', new MediaHashMismatchError('ab'.repeat(32), 'cd'.repeat(32)), MediaHashMismatchError],
    ['MediaTooLargeError', new MediaTooLargeError(100, 250), MediaTooLargeError],
    ['MediaArchiveError', new MediaArchiveError('bucket unreachable'), MediaArchiveError],
  ])('%s comes back as its own class, with its name, code and message', (_name, original, cls) => {
    const rebuilt = acrossThreads(original);
    expect(rebuilt).toBeInstanceOf(cls);
    expect(rebuilt).toBeInstanceOf(WasyncError);
    expect(rebuilt).toMatchObject({ name: original.name, code: original.code, message: original.message });
  });

  it("keeps a subclass's own fields: RangeNotSatisfiableError.size, also when null", () => {
    expect((acrossThreads(new RangeNotSatisfiableError('x', 4096)) as RangeNotSatisfiableError).size).toBe(4096);
    expect((acrossThreads(new RangeNotSatisfiableError('x')) as RangeNotSatisfiableError).size).toBeNull();
  });

  it("keeps the media archive errors' own fields: what was expected and found, the limit and the size", () => {
    expect(acrossThreads(new MediaHashMismatchError('ab'.repeat(32), 'cd'.repeat(32)))).toMatchObject({
      expected: 'ab'.repeat(32),
      actual: 'cd'.repeat(32),
    });
    expect(acrossThreads(new MediaTooLargeError(100, 250))).toMatchObject({ limit: 100, size: 250 });
    expect(acrossThreads(new MediaTooLargeError(100, null))).toMatchObject({ limit: 100, size: null });
  });

  it('keeps the stack of the thread that threw it', () => {
    const original = new NotFoundError('gone');
    const rebuilt = acrossThreads(original);
    expect(rebuilt.stack).toBe(original.stack);
    expect(rebuilt.stack).toContain('errors.test.ts');
  });

  it('keeps the cause chain, each link rebuilt the same way', () => {
    const root = new TypeError('fetch failed');
    const middle = new TransientStoreError('commit failed', { cause: root });
    const top = new WasyncError('STORE_FAILED', 'batch lost', { cause: middle });
    const rebuilt = acrossThreads(top);
    expect(rebuilt.cause).toBeInstanceOf(TransientStoreError);
    const cause = rebuilt.cause as WasyncError;
    expect(cause.message).toBe('commit failed');
    expect(cause.cause).toMatchObject({ name: 'TypeError', code: 'INTERNAL', message: 'fetch failed' });
  });

  it('a cause cycle ends after a few links instead of overflowing', () => {
    const a = new WasyncError('INTERNAL', 'a');
    const b = new WasyncError('INTERNAL', 'b', { cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    let depth = 0;
    for (let e: WasyncError | undefined = acrossThreads(a); e; e = e.cause as WasyncError | undefined) depth++;
    expect(depth).toBeLessThanOrEqual(6);
  });

  it('an unregistered name keeps its name, code and fields on a WasyncError', () => {
    const e = deserializeError({ name: 'ActorFailed', code: 'ACCOUNT_FAILED', message: 'gave up', fields: { restarts: 5 } });
    expect(e).toBeInstanceOf(WasyncError);
    expect(e).toMatchObject({ name: 'ActorFailed', code: 'ACCOUNT_FAILED', message: 'gave up', restarts: 5 });
  });

  it('plain errors and non-errors become INTERNAL', () => {
    expect(acrossThreads(new Error('boom'))).toMatchObject({ name: 'Error', code: 'INTERNAL', message: 'boom' });
    expect(acrossThreads('just a string')).toMatchObject({ name: 'Error', code: 'INTERNAL', message: 'just a string' });
  });

  it('JSON (logs, HTTP bodies) shows name, code and message only: no stack leaves the process that way', () => {
    expect(JSON.parse(JSON.stringify(new RangeNotSatisfiableError('x', 5)))).toEqual({
      name: 'RangeNotSatisfiableError',
      code: 'RANGE_NOT_SATISFIABLE',
      message: 'x',
    });
  });
});
