import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../src/domain/errors.js';
import { accountIdFitsThreadIds } from '../../src/domain/thread-id.js';
import { compileInputCheck } from '../../src/http/request-validation.js';
import * as accounts from '../../src/http/schemas/accounts.js';
import type { RouteSchema } from '../../src/http/schemas/common.js';
import * as conversations from '../../src/http/schemas/conversations.js';
import { decodePathParam, SAFE_ID_PATTERN } from '../../src/http/validate.js';

/**
 * The route schemas as request checks: the 400's words name the field, defaults are filled in, and the
 * patterns agree with the functions that keep the same rules elsewhere.
 */

function outcome(schema: RouteSchema, input: { params?: Record<string, string>; query?: string; body?: unknown }): string {
  try {
    compileInputCheck(schema)(input.params ?? {}, new URLSearchParams(input.query ?? ''), input.body);
    return 'ok';
  } catch (err) {
    if (!(err instanceof BadRequestError)) throw err;
    return err.message;
  }
}

const send = (body: unknown) => outcome(accounts.sendMessage, { body });
const ok = { accountId: 'acc-1', to: '40712345678', text: 'hi' };

describe('400 messages name the field', () => {
  it.each<[string, unknown, string]>([
    ['valid', ok, 'ok'],
    ['no body', undefined, 'request body is required (a JSON object)'],
    ['array body', ['x'], 'request body must be a JSON object'],
    ['string body', 'text', 'request body must be a JSON object'],
    ['null body', null, 'request body must be a JSON object'],
    ['missing accountId', { to: '1', text: 'x' }, 'accountId is required'],
    ['missing to', { accountId: 'a', text: 'x' }, 'to is required'],
    ['missing text', { accountId: 'a', to: '40712345678' }, 'text is required'],
    ['accountId a number', { ...ok, accountId: 1 }, 'accountId must be a string'],
    ['empty accountId', { ...ok, accountId: '' }, 'accountId must not be empty'],
    ['long accountId', { ...ok, accountId: 'a'.repeat(101) }, 'accountId is longer than 100 characters'],
    ['path trick in accountId', { ...ok, accountId: '../etc' }, 'accountId contains a path separator, ".." or control characters'],
    ['text a number', { ...ok, text: 5 }, 'text must be a string'],
    ['empty text', { ...ok, text: '' }, 'text must not be empty'],
    ['blank text', { ...ok, text: ' \n ' }, 'text must not be empty'],
    ['text too long', { ...ok, text: 'x'.repeat(65_537) }, 'text is longer than 65536 characters'],
    ['to an array', { ...ok, to: ['407'] }, 'to must be a string'],
    [
      'to with a space',
      { ...ok, to: '407 123' },
      'to must be a JID or phone number of 1-320 characters without whitespace or control characters',
    ],
    ['to blank', { ...ok, to: '   ' }, 'to must be a JID or phone number of 1-320 characters without whitespace or control characters'],
    ['to padded (trimmed by the route)', { ...ok, to: ' 40712345678 ' }, 'ok'],
    ['messageId null', { ...ok, messageId: null }, 'ok'],
    ['messageId bad', { ...ok, messageId: 'has space' }, 'messageId must be 1-128 letters, digits, dots, dashes, colons or underscores'],
    ['messageId a number', { ...ok, messageId: 7 }, 'messageId must be 1-128 letters, digits, dots, dashes, colons or underscores'],
    ['unknown fields are ignored', { ...ok, extra: true }, 'ok'],
  ])('send: %s', (_name, body, expected) => {
    expect(send(body)).toBe(expected);
  });

  it.each<[string, string]>([
    ['', 'ok'],
    ['limit=50&order=asc&orderBy=lastMessageAt&cursor=', 'ok'],
    ['limit=0', 'limit must be an integer from 1 to 500'],
    ['limit=501', 'limit must be an integer from 1 to 500'],
    ['limit=1e2', 'limit must be an integer from 1 to 500'],
    ['limit=%205', 'limit must be an integer from 1 to 500'],
    ['limit=', 'limit must be an integer from 1 to 500'],
    ['limit=1.5', 'limit must be an integer from 1 to 500'],
    ['limit=1&limit=2', 'query parameter limit is given more than once'],
    ['order=sideways', 'order must be asc or desc'],
    ['orderBy=createdAt', 'orderBy must be lastMessageAt'],
  ])('threads query %j → %s', (query, expected) => {
    expect(outcome(conversations.listThreads, { params: { accountId: 'a' }, query })).toBe(expected);
  });

  it.each<[string, string]>([
    ['purge=yes', 'purge must be true or false'],
    ['purge=1', 'purge must be true or false'],
    ['purge=true', 'ok'],
  ])('delete query %j → %s', (query, expected) => {
    expect(outcome(accounts.deleteAccount, { params: { accountId: 'a' }, query })).toBe(expected);
  });

  it.each<[unknown, string]>([
    [{ phoneNumber: '+40712345678' }, 'ok'],
    [{ phoneNumber: '40712345678' }, 'ok'],
    [{ phoneNumber: '12345' }, 'phoneNumber must be 6-15 digits, optionally after a +'],
    [{ phoneNumber: 40712345678 }, 'phoneNumber must be a string'],
    [{}, 'phoneNumber is required'],
    [undefined, 'request body is required (a JSON object)'],
  ])('pairing code %j → %s', (body, expected) => {
    expect(outcome(accounts.requestPairingCode, { params: { accountId: 'a' }, body })).toBe(expected);
  });
});

describe('defaults and conversions reach the handler', () => {
  it('the page query gets its documented defaults; numbers and booleans are converted', () => {
    const threads = compileInputCheck(conversations.listThreads)({ accountId: 'a' }, new URLSearchParams(''), undefined);
    expect(threads.query).toEqual({ limit: 50, order: 'desc' });
    const page = compileInputCheck(conversations.listThreads)({ accountId: 'a' }, new URLSearchParams('limit=7&cursor=abc'), undefined);
    expect(page.query).toEqual({ limit: 7, order: 'desc', cursor: 'abc' });
    const del = compileInputCheck(accounts.deleteAccount)({ accountId: 'a' }, new URLSearchParams('purge=true'), undefined);
    expect(del.query).toEqual({ purge: true });
  });

  it('an optional body counts as {} when empty', () => {
    expect(compileInputCheck(accounts.createAccount)({}, new URLSearchParams(), undefined).body).toEqual({});
  });
});

describe('patterns agree with the rules they state', () => {
  const ids = [
    'acc-1',
    'a',
    'a.b',
    '..',
    'a..b',
    '.hidden',
    'a/b',
    'a\\b',
    'a\u0000',
    'a\nb',
    'x\u007f',
    'é',
    '40712345678@s.whatsapp.net',
    'acc__40712345678@s.whatsapp.net',
    'a'.repeat(100),
    'a'.repeat(101),
    '',
    'a b',
  ];

  it('SAFE_ID_PATTERN refuses exactly what decodePathParam refuses (up to the length limit)', () => {
    const pattern = new RegExp(SAFE_ID_PATTERN, 'u');
    for (const id of ids) {
      let safe = true;
      try {
        decodePathParam('accountId', encodeURIComponent(id));
      } catch {
        safe = false;
      }
      expect(pattern.test(id) && id.length <= 100, JSON.stringify(id)).toBe(safe);
    }
  });

  it('new account ids: the charset, and no "__", ".." or trailing "_" (thread ids split on "__")', () => {
    const pattern = new RegExp(accounts.NEW_ACCOUNT_ID_PATTERN, 'u');
    const candidates = [...ids, 'a__b', 'a_', 'a_b', 'A9.-_x', '-a', '_a', 'a'.repeat(99)];
    for (const id of candidates) {
      const expected = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(id) && accountIdFitsThreadIds(id) && !id.includes('..');
      expect(pattern.test(id), JSON.stringify(id)).toBe(expected);
      const body = outcome(accounts.createAccount, { body: { accountId: id } });
      expect(body === 'ok', JSON.stringify(id)).toBe(expected);
    }
  });
});
