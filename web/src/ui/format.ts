/**
 * Dates are shown in the browser's own time zone and locale (Intl with no `timeZone`): the API
 * speaks ISO 8601 in UTC, the operator reads local time.
 */
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const numbers = new Intl.NumberFormat();

export function parseDate(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `Nov 30, 2025, 10:48:12 AM` in the browser's zone. */
export function formatDateTime(d: Date): string {
  return full.format(d);
}

/** Today: the time; another day: the date (thread list, message times). */
export function formatShort(d: Date, now = new Date()): string {
  return sameDay(d, now) ? timeOnly.format(d) : dateOnly.format(d);
}

export function formatTime(d: Date): string {
  return timeOnly.format(d);
}

/** `3 minutes ago`, `in 2 hours`. */
export function formatRelative(d: Date, now = Date.now()): string {
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return relative.format(s, 'second');
  if (abs < 45 * 60) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 22 * 3600) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}

export function formatNumber(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? numbers.format(n) : '—';
}

export function formatDuration(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** `40712345678@s.whatsapp.net` → `+40712345678`; a group → `Group`; LIDs and others keep their id. */
export function displayJid(jid: string): string {
  const m = /^(\d+)(?::\d+)?@s\.whatsapp\.net$/.exec(jid);
  if (m) return `+${m[1]}`;
  if (jid.endsWith('@g.us')) return 'Group';
  return jid;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });

/** The local day a message belongs to (the conversation's day separators). */
export function dayKey(d: Date): string {
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function formatDay(d: Date): string {
  return dayFormat.format(d);
}
