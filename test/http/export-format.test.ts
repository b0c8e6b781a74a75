import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../src/domain/errors.js';
import { CSV_COLUMNS, CSV_HEADER, csvField, csvRecord, exportFileName, exportLine, jsonLine } from '../../src/http/export-format.js';
import { serializeMessage } from '../../src/http/serialize.js';
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
