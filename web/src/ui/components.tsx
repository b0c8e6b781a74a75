import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { describeError } from '../api/client.js';
import type { ConnectionStatus } from '../api/types.js';
import { formatDateTime, formatRelative, parseDate } from './format.js';

/** An instant: relative or short text, the full local date and time on hover and for screen readers. */
export function Time({ iso, relative = false, empty = 'never' }: { iso: string | null | undefined; relative?: boolean; empty?: string }) {
  const d = parseDate(iso);
  if (!d) return <span class="muted">{empty}</span>;
  const full = formatDateTime(d);
  return (
    <time dateTime={d.toISOString()} title={full}>
      {relative ? formatRelative(d) : full}
    </time>
  );
}

const CONNECTION_TONE: Record<ConnectionStatus, 'ok' | 'warn' | 'bad' | 'idle'> = {
  open: 'ok',
  created: 'idle',
  connecting: 'warn',
  qr: 'warn',
  reconnecting: 'warn',
  logged_out: 'bad',
  forbidden: 'bad',
  replaced: 'bad',
  stopped: 'idle',
  failed: 'bad',
};

const CONNECTION_LABEL: Record<ConnectionStatus, string> = {
  open: 'Connected',
  created: 'Created',
  connecting: 'Connecting',
  qr: 'Waiting for QR scan',
  reconnecting: 'Reconnecting',
  logged_out: 'Logged out',
  forbidden: 'Forbidden',
  replaced: 'Replaced by another client',
  stopped: 'Stopped',
  failed: 'Failed',
};

export function ConnectionBadge({ status }: { status: ConnectionStatus }) {
  return (
    <span class={`badge ${CONNECTION_TONE[status] ?? 'idle'}`} data-status={status}>
      {CONNECTION_LABEL[status] ?? status}
    </span>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'idle'; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

/**
 * A labelled progress bar (percent), or an indeterminate one when the percentage is unknown; `empty`
 * says why there is no figure yet.
 */
export function Progress({ label, percent, empty = '…' }: { label: string; percent: number | null | undefined; empty?: string }) {
  const known = typeof percent === 'number' && Number.isFinite(percent);
  const value = known ? Math.max(0, Math.min(100, percent)) : undefined;
  return (
    <div class="progress">
      <span class="progress-label">
        {label}
        <span class="muted">{known ? ` ${Math.round(value!)} %` : ` ${empty}`}</span>
      </span>
      <progress max={100} value={value} aria-label={`${label} progress`} />
    </div>
  );
}

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div class="note bad" role="alert">
      <span>{describeError(error)}</span>
      {onRetry && (
        <button type="button" class="link" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** A modal `<dialog>`: Escape and the Cancel button close it. */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} aria-label={title} onClose={onClose} onCancel={onClose}>
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}
