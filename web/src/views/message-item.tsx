import { memo } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api/client.js';
import type { ApiMessage, MessageStatus } from '../api/types.js';
import type { AppState } from '../state/app-state.js';
import { displayJid, formatDateTime, formatShort, parseDate } from '../ui/format.js';
import { MEDIA_TYPES } from './messages.js';

const STATUS_LABEL: Record<MessageStatus, string> = { queued: 'Queued', sent: 'Sent', delivered: 'Delivered', read: 'Read' };
const STATUS_TICKS: Record<MessageStatus, string> = { queued: '◷', sent: '✓', delivered: '✓✓', read: '✓✓' };

function MessageItemImpl({ m, state, isGroup }: { m: ApiMessage; state: AppState; isGroup: boolean }) {
  const d = parseDate(m.createdAt);
  const out = m.direction === 'outbound';
  const sender = isGroup && !out ? (m.pushName ?? (m.participant ? displayJid(m.participant) : null)) : null;
  return (
    <li class={`message ${out ? 'out' : 'in'} ${m.revokedAt ? 'revoked' : ''}`} data-message-id={m.id} data-status={m.status}>
      {sender && <span class="sender">{sender}</span>}
      {MEDIA_TYPES.has(m.messageType) && <Media m={m} state={state} />}
      {m.messageType !== 'text' && !MEDIA_TYPES.has(m.messageType) && <span class="tag">{m.messageType}</span>}
      {m.body && <p class="body">{m.body}</p>}
      <span class="meta">
        {m.revokedAt && (
          <span class="flag" title={`Deleted for everyone ${formatWhen(m.revokedAt)}`}>
            deleted
          </span>
        )}
        {m.editedAt && (
          <span class="flag" title={`Edited ${formatWhen(m.editedAt)}`}>
            edited
          </span>
        )}
        {d && (
          <time dateTime={d.toISOString()} title={formatDateTime(d)}>
            {formatShort(d)}
          </time>
        )}
        {out && (
          <span class={`ticks ${m.status}`} role="img" aria-label={STATUS_LABEL[m.status] ?? m.status} title={statusTitle(m)}>
            {STATUS_TICKS[m.status] ?? '?'}
          </span>
        )}
      </span>
      {m.sendError && (
        <span class="error-text small" role="alert">
          Not sent: {m.sendError}
        </span>
      )}
    </li>
  );
}

/** Messages re-render only when they change: a long scrolled-back thread stays cheap to update. */
export const MessageItem = memo(MessageItemImpl, (a, b) => a.m === b.m && a.isGroup === b.isGroup && a.state === b.state);

function formatWhen(iso: string): string {
  const d = parseDate(iso);
  return d ? formatDateTime(d) : iso;
}

function statusTitle(m: ApiMessage): string {
  const parts = [STATUS_LABEL[m.status] ?? m.status];
  if (m.deliveredAt) parts.push(`delivered ${formatWhen(m.deliveredAt)}`);
  if (m.readAt) parts.push(`read ${formatWhen(m.readAt)}`);
  return parts.join(', ');
}

/**
 * Media through the media endpoint. The request needs the bearer token, so the file is fetched
 * (on demand: a click, not for every message scrolled past) and shown from a blob: URL.
 */
function Media({ m, state }: { m: ApiMessage; state: AppState }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => () => (url ? URL.revokeObjectURL(url) : undefined), [url]);

  const kind = m.messageType;
  const name = m.mediaFilename ?? `${kind} ${m.id}`;
  const load = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setUrl(URL.createObjectURL(await state.api.media(m.accountId, m.id)));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  if (url) {
    if (kind === 'image' || kind === 'sticker') return <img class="media" src={url} alt={m.body ? `Image: ${m.body}` : `Image ${name}`} />;
    // WhatsApp media come with no caption track to offer; the message text, when there is one, is shown below.
    // biome-ignore lint/a11y/useMediaCaption: no captions exist for a chat's video
    if (kind === 'video') return <video class="media" src={url} controls aria-label={`Video ${name}`} />;
    // biome-ignore lint/a11y/useMediaCaption: no captions exist for a voice note
    if (kind === 'audio') return <audio src={url} controls aria-label={`Audio ${name}`} />;
    return (
      <a class="media-file" href={url} download={m.mediaFilename ?? m.id}>
        Save {name}
      </a>
    );
  }
  return (
    <div class="media-placeholder">
      <span class="tag">{kind}</span>
      {m.mediaMimetype && <span class="muted small">{m.mediaMimetype}</span>}
      <button type="button" class="quiet" disabled={busy} onClick={() => void load()} aria-label={`Load ${kind} ${name}`}>
        {busy ? 'Loading…' : kind === 'document' ? 'Download' : 'Show'}
      </button>
      {error && <span class="error-text small">{error}</span>}
    </div>
  );
}
