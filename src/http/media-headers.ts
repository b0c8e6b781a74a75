import { RangeNotSatisfiableError } from '../domain/errors.js';
import type { MediaRange } from '../supervisor/service.js';

/**
 * The HTTP side of media downloads: the `Range` header in, `Content-Type` and `Content-Disposition`
 * out. Mimetypes and file names come from the chat peer's phone, so nothing of them reaches a header
 * unchecked.
 */

const NUMBER = '(\\d{1,15})'; // up to 15 digits: always a safe integer
const RANGE = new RegExp(`^${NUMBER}-${NUMBER}?$`);
const SUFFIX = new RegExp(`^-${NUMBER}$`);

/**
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`; undefined without the header. Anything else (another unit,
 * several ranges, end before start, garbage) is a 416 RANGE_NOT_SATISFIABLE.
 */
export function parseRangeHeader(value: string): MediaRange | undefined {
  if (value === '') return undefined;
  const unit = /^\s*bytes\s*=(.*)$/i.exec(value);
  if (!unit) throw new RangeNotSatisfiableError('Range must be bytes=start-end, bytes=start- or bytes=-length');
  const spec = (unit[1] ?? '').trim();
  if (spec.includes(',')) throw new RangeNotSatisfiableError('only one byte range per request is supported');
  const suffix = SUFFIX.exec(spec);
  if (suffix) return { suffix: Number(suffix[1]) };
  const range = RANGE.exec(spec);
  if (!range) throw new RangeNotSatisfiableError('Range must be bytes=start-end, bytes=start- or bytes=-length');
  const start = Number(range[1]);
  if (range[2] === undefined) return { start };
  const end = Number(range[2]);
  if (end < start) throw new RangeNotSatisfiableError(`range end ${end} is before its start ${start}`);
  return { start, end };
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MIME = new RegExp(`^${TOKEN}/${TOKEN}(?:\\s*;\\s*${TOKEN}=(?:${TOKEN}|"[^"\\\\\\x00-\\x1f\\x7f]*"))*$`);

/** The stored mimetype when it is a well-formed media type (parameters allowed: `audio/ogg; codecs=opus`). */
export function mediaContentType(mimetype: string | null): string {
  if (mimetype && mimetype.length <= 200 && MIME.test(mimetype.trim())) return mimetype.trim();
  return 'application/octet-stream';
}

/** Extensions where the subtype is not the usual one. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  'image/jpeg': 'jpg',
  'audio/mpeg': 'mp3',
  'video/quicktime': 'mov',
  'text/plain': 'txt',
};

function extensionFor(mimetype: string | null): string {
  if (!mimetype) return '';
  const type = (mimetype.split(';')[0] ?? '').trim().toLowerCase();
  const known = EXTENSIONS[type];
  if (known) return `.${known}`;
  const subtype = (type.split('/')[1] ?? '').split('+')[0] ?? '';
  return /^[a-z0-9]{1,8}$/.test(subtype) ? `.${subtype}` : '';
}

// Control characters, and the bidirectional overrides that make `gnp.exe` display as `exe.png`.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `inline; filename="…"; filename*=UTF-8''…`: the quoted name is an ASCII stand-in (accents dropped,
 * anything else replaced by `_`) for old clients; RFC 5987's `filename*` carries the real name, which
 * every current browser prefers. Messages without a file name (photos, voice notes) get
 * `{messageId}.{extension}`.
 */
export function contentDisposition(fileName: string | null, messageId: string, mimetype: string | null): string {
  // A path in the name is never meant for us: keep its last part.
  const base = (fileName ?? '').split(/[/\\]/).pop() ?? '';
  let name = base.replace(UNSAFE, '').trim().slice(0, 200);
  if (name === '' || name === '.' || name === '..') name = `${messageId}${extensionFor(mimetype)}`;
  const ascii =
    name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'media';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `inline; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
