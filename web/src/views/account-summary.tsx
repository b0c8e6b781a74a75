import type { ApiAccount } from '../api/types.js';
import { Badge, Time } from '../ui/components.js';
import { formatNumber } from '../ui/format.js';

/**
 * The runbook's "how to tell if sync is running or blocked", one account at a glance: the history
 * sync, the last backfill, the auto backfill and live ingest. Shared by the accounts list and the
 * sync view.
 */
export function historySyncSummary(a: ApiAccount): { tone: 'ok' | 'warn' | 'bad' | 'idle'; text: string } {
  if (a.historySyncStalled) return { tone: 'bad', text: 'stalled' };
  switch (a.historySyncStatus) {
    case 'complete':
      return { tone: 'ok', text: 'complete' };
    case 'running':
      return { tone: 'warn', text: `running${progressText(a)}` };
    case 'paused':
      return { tone: 'warn', text: `paused${progressText(a)}` };
    case 'waiting':
      return { tone: 'idle', text: 'waiting for the phone' };
    default:
      break;
  }
  // Servers without the history-sync status: what the counters say.
  if ((a.historySyncCount ?? 0) > 0 || a.lastHistorySyncAt) return { tone: 'ok', text: 'received' };
  return { tone: 'idle', text: 'nothing yet' };
}

function progressText(a: ApiAccount): string {
  const p = a.historySyncProgress;
  if (!p) return '';
  const parts = Object.entries(p)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k} ${Math.round(v as number)} %`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function HistorySyncCell({ a }: { a: ApiAccount }) {
  const s = historySyncSummary(a);
  return (
    <div class="cell-stack">
      <Badge tone={s.tone}>{s.text}</Badge>
      <span>
        {formatNumber(a.historySyncMessagesSaved ?? a.historySyncCount ?? 0)} messages
        {a.lastHistorySyncAt && (
          <>
            , last <Time iso={a.lastHistorySyncAt} relative />
          </>
        )}
      </span>
    </div>
  );
}

export function BackfillCell({ a }: { a: ApiAccount }) {
  const r = a.lastBackfillResult;
  return (
    <div class="cell-stack">
      <Time iso={a.lastBackfillAt} relative />
      {r && (
        <span>
          {formatNumber(r.messages)} messages in {formatNumber(r.threads)} threads
          {r.errors > 0 && <Badge tone="bad">{r.errors} errors</Badge>}
        </span>
      )}
    </div>
  );
}

export function AutoBackfillCell({ a }: { a: ApiAccount }) {
  const status = a.lastAutoBackfillStatus;
  if (!status) return <span class="muted">not run yet</span>;
  const tone = status === 'ok' ? 'ok' : status === 'running' ? 'warn' : 'bad';
  return (
    <div class="cell-stack">
      <Badge tone={tone}>{status}</Badge>
      {status === 'error' && a.lastAutoBackfillResult?.error && <span class="error-text">{a.lastAutoBackfillResult.error}</span>}
      {status === 'running' && a.autoBackfillLeaseHolder && <span class="muted">on {a.autoBackfillLeaseHolder}</span>}
      <span>
        last success <Time iso={a.lastAutoBackfillSuccessAt} relative />
      </span>
    </div>
  );
}
