import type { ApiAccount } from '../api/types.js';
import { Badge, Time } from '../ui/components.js';
import { formatNumber } from '../ui/format.js';
import { historySyncProgressText, historySyncSummary, lastChunkAt } from './history-sync.js';

/**
 * The runbook's "how to tell if sync is running or blocked", one account at a glance: the history
 * sync, the last backfill, the auto backfill and live ingest. Shared by the accounts list and the
 * sync view.
 */
export function HistorySyncCell({ a }: { a: ApiAccount }) {
  const s = historySyncSummary(a);
  const progress = historySyncProgressText(a);
  const last = lastChunkAt(a);
  return (
    <div class="cell-stack" data-history-sync={a.historySyncStatus}>
      <Badge tone={s.tone}>{s.text}</Badge>
      {progress && <span data-testid="history-progress">{progress}</span>}
      <span>
        {formatNumber(a.historySyncMessagesSaved ?? a.historySyncCount ?? 0)} messages
        {last && (
          <>
            , last chunk <Time iso={last} relative />
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
