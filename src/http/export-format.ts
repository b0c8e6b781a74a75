import type { MessageRecord } from '../domain/records.js';
import { serializeMessage, type ApiMessage } from './serialize.js';

/**
 * The export's line formats (README, API: Export), pure functions. A line is the REST API's message
 * shape plus the thread it belongs to; JSON Lines writes it as is, CSV in a fixed column order.
 */

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type ExportLine = { threadId: string } & ApiMessage;

export function exportLine(threadId: string, m: MessageRecord): ExportLine {
  return { threadId, ...serializeMessage(m) };
}

/**
 * The CSV columns, in order: the public column set (README). Every field of `ExportLine`, checked
 * below: a field added to the API's message shape fails the type check here until it has a column.
 */
export const CSV_COLUMNS = [
  'threadId',
  'id',
  'accountId',
  'clientJid',
  'direction',
  'fromMe',
  'status',
  'messageType',
  'contentType',
  'body',
  'createdAt',
  'tsClient',
  'tsServer',
  'syncedAt',
  'syncSource',
  'syncType',
  'participant',
  'pushName',
  'senderName',
  'refMessageId',
  'editedAt',
  'revokedAt',
  'deliveredAt',
  'readAt',
  'sendError',
  'waMessageId',
  'mediaType',
  'mediaMimetype',
  'mediaFilename',
  'mediaSize',
  'mediaUrl',
  'mediaArchivedAt',
  'mediaSha256',
  'mediaArchiveKey',
  'mediaArchiveError',
] as const satisfies readonly (keyof ExportLine)[];

type MissingColumn = Exclude<keyof ExportLine, (typeof CSV_COLUMNS)[number]>;
const everyFieldHasAColumn: [MissingColumn] extends [never] ? true : MissingColumn = true;
void everyFieldHasAColumn;

/**
 * One RFC 4180 field: quoted when it holds a quote, comma, CR or LF (quotes doubled). Null is an empty
 * field and an empty string `""`, so a reader can tell them apart. Values are written as stored:
 * nothing is prefixed to defuse spreadsheet formulas (import message text as text).
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  if (value === '') return '""';
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Records end with CRLF (RFC 4180). */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

export function csvRecord(line: ExportLine): string {
  return `${CSV_COLUMNS.map((c) => csvField(line[c])).join(',')}\r\n`;
}

export function jsonLine(line: ExportLine): string {
  return `${JSON.stringify(line)}\n`;
}

export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
};

/** `wasync-{account}-{UTC time}.{format}`: only characters safe in a quoted header value. */
export function exportFileName(accountId: string, format: ExportFormat, now: number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `wasync-${accountId.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.${format}`;
}
