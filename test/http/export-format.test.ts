import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../src/domain/errors.js';
import { CSV_COLUMNS, CSV_HEADER, csvField, csvRecord, exportFileName, exportLine, jsonLine } from '../../src/http/export-format.js';
import { serializeMessage } from '../../src/http/serialize.js';
import { compileInputCheck } from '../../src/http/request-validation.js';
import { exportMessages } from '../../src/http/schemas/export.js';
import { parseInstant } from '../../src/http/validate.js';
import { BASE_TIME, makeMessage } from '../support/records.js';

describe('export line formats', () => {
  it.each([
    [null, ''],
    ['', '""'],
    ['plain', 'plain'],
    [' spaced ', ' spaced '],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rend', '"cr\rend"'],
    ['=1+1', '=1+1'],
    ['ünï 🚀', 'ünï 🚀'],
    [true, 'true'],
    [false, 'false'],
    [0, '0'],
    [1234567, '1234567'],
  ] as const)('csvField(%j) = %j', (value, field) => {
    expect(csvField(value)).toBe(field);
  });

  it('a record has one field per column, in the header order, ended by CRLF', () => {
    const m = makeMessage({ body: 'a, "b"\r\nc', readAt: null, mediaSize: 42 });
    const line = exportLine('acc-1__40712345678@s.whatsapp.net', m);
    expect(line).toEqual({ threadId: 'acc-1__40712345678@s.whatsapp.net', ...serializeMessage(m) });
    expect(CSV_HEADER).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
    const record = csvRecord(line);
    expect(record.endsWith('\r\n')).toBe(true);
    expect(record).toContain(',"a, ""b""\r\nc",');
    expect(record.startsWith('acc-1__40712345678@s.whatsapp.net,')).toBe(true);
    expect(JSON.parse(jsonLine(line))).toEqual(line);
    expect(jsonLine(line).split('\n')).toHaveLength(2);
  });

  it('file names hold only safe characters', () => {
    expect(exportFileName('shop-1', 'csv', BASE_TIME)).toBe('wasync-shop-1-20260117T120000Z.csv');
    expect(exportFileName('a"b;c', 'jsonl', BASE_TIME)).toBe('wasync-a_b_c-20260117T120000Z.jsonl');
  });

  it.each([
    ['2026-01-17', Date.UTC(2026, 0, 17)],
    ['2026-01-17T12:00:00Z', BASE_TIME],
    ['2026-01-17T14:00:00+02:00', BASE_TIME],
    ['2026-01-17T12:00:00.000Z', BASE_TIME],
    [String(BASE_TIME), BASE_TIME],
    ['0', 0],
  ])('since=%s', (raw, ms) => {
    expect(parseInstant('since', raw)).toBe(ms);
  });

  it.each(['yesterday', '2026-13-01', '17/01/2026', '-1', '1e12', '2026-01-17 12:00', ''])('since=%j is refused', (raw) => {
    expect(() => parseInstant('since', raw)).toThrow(BadRequestError);
  });
});

describe('the export query schema (src/http/schemas/export.ts): the 400 names the parameter', () => {
  const check = compileInputCheck(exportMessages);
  const run = (q: string) => check({ accountId: 'acc' }, new URLSearchParams(q), undefined).query;

  it('fills in jsonl and passes threadId and since through', () => {
    expect(run('')).toEqual({ format: 'jsonl' });
    expect(run('format=csv&threadId=acc__1%40s.whatsapp.net&since=2026-01-31')).toEqual({
      format: 'csv',
      threadId: 'acc__1@s.whatsapp.net',
      since: '2026-01-31',
    });
  });

  it.each([
    ['format=xml', 'format must be one of jsonl, csv'],
    ['format=csv&format=jsonl', 'query parameter format is given more than once'],
    ['since=yesterday', 'since must be an ISO 8601 date or date-time (2026-01-31, 2026-01-31T08:00:00Z) or epoch milliseconds'],
    ['since=-5', 'since must be an ISO 8601 date or date-time (2026-01-31, 2026-01-31T08:00:00Z) or epoch milliseconds'],
    ['since=2026-01-17%2012:00', 'since must be an ISO 8601 date or date-time (2026-01-31, 2026-01-31T08:00:00Z) or epoch milliseconds'],
    ['threadId=', 'threadId is empty'],
    ['threadId=..%2Fx', 'threadId contains a path separator, ".." or control characters'],
    [`threadId=${'x'.repeat(401)}`, 'threadId is longer than 400 characters'],
  ])('%s → %s', (q, message) => {
    expect(() => run(q)).toThrow(new BadRequestError(message));
  });

  it('a date of the right form that does not exist is refused by parseInstant', () => {
    expect(run('since=2026-13-45')).toEqual({ format: 'jsonl', since: '2026-13-45' });
    expect(() => parseInstant('since', '2026-13-45')).toThrow(BadRequestError);
  });
});
