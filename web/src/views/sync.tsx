import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiAccount, connectionOf, PROGRESS_SYNC_TYPES } from '../api/types.js';
import { href } from '../router.js';
import type { AppState } from '../state/app-state.js';
import { Badge, ConnectionBadge, Empty, ErrorNote, Loading, Progress, Time } from '../ui/components.js';
import { displayJid, formatDuration, formatNumber, formatTime } from '../ui/format.js';
import { useStore, useTicker } from '../ui/store.js';
import { AutoBackfillCell } from './account-summary.js';
import { historySyncChunksText, historySyncSummary, lastChunkAt } from './history-sync.js';
import { ActivityChart } from './chart.js';

export function SyncView({ state, accountId }: { state: AppState; accountId: string }) {
  const accounts = useStore(state.accounts);
  const account = accounts?.get(accountId);
  const now = useTicker(5000);
  const log = useStore(state.syncLog).get(accountId) ?? [];
  const [, setActivityTick] = useState(0);

  useEffect(() => state.activity.subscribe(() => setActivityTick((n) => n + 1)), [state]);
  useEffect(() => {
    void state.refreshAccount(accountId);
  }, [state, accountId]);

  if (!accounts) return <Loading what="the account" />;
  if (!account) {
    return (
      <main class="page">
        <Empty title={`No account ${accountId}`}>
          <p>
            It may have been deleted. <a href={href({ view: 'accounts' })}>Back to the accounts</a>
          </p>
        </Empty>
      </main>
    );
  }
  const connection = connectionOf(account);
  return (
    <main class="page sync" aria-labelledby="sync-title">
      <p class="crumbs">
        <a href={href({ view: 'accounts' })}>Accounts</a> / {accountId}
      </p>
      <div class="page-head">
        <h1 id="sync-title">Sync: {accountId}</h1>
        <div class="head-actions">
          <a class="button" href={href({ view: 'inbox', accountId, threadId: null })}>
            Open inbox
          </a>
        </div>
      </div>
      <p class="status-line">
        <ConnectionBadge status={connection} />
        {account.phoneNumber && <span>{displayJid(account.phoneNumber)}</span>}
        {account.lastConnectedAt && (
          <span>
            connected <Time iso={account.lastConnectedAt} relative />
          </span>
        )}
        {account.caughtUp && <Badge tone="ok">caught up</Badge>}
        {(connection === 'qr' || connection === 'connecting') && <a href={href({ view: 'pair', accountId })}>Pair it</a>}
      </p>
      <div class="grid">
        <HistorySyncCard a={account} />
        <BackfillCard a={account} state={state} />
        <section class="card" aria-labelledby="auto-title">
          <h2 id="auto-title">Auto backfill and recent sync</h2>
          <AutoBackfillCell a={account} />
          <dl>
            <dt>Last attempt</dt>
            <dd>
              <Time iso={account.lastAutoBackfillAttemptAt} />
            </dd>
            {account.lastAutoBackfillResult && (
              <>
                <dt>Last run</dt>
                <dd>
                  {formatNumber(account.lastAutoBackfillResult.messages)} messages, {formatNumber(account.lastAutoBackfillResult.threads)}{' '}
                  threads in {formatDuration(account.lastAutoBackfillResult.durationMs)}
                </dd>
              </>
            )}
            {account.autoBackfillLeaseHolder && (
              <>
                <dt>Lease</dt>
                <dd>
                  {account.autoBackfillLeaseHolder} until <Time iso={account.autoBackfillLeaseUntil} />
                </dd>
              </>
            )}
            <dt>Recent sync</dt>
            <dd>
              <Time iso={account.lastRecentSyncAt} relative empty="not run yet" />
              {account.lastRecentSyncResult && `: ${formatNumber(account.lastRecentSyncResult.messages)} messages`}
            </dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="rt-title">
          <h2 id="rt-title">Live ingest</h2>
          <dl>
            <dt>Last realtime message</dt>
            <dd>
              <Time iso={account.lastRealtimeMessageAt} relative />
            </dd>
            <dt>Last ingest</dt>
            <dd>
              <Time iso={account.lastRealtimeIngestAt} relative />
            </dd>
            <dt>Last error</dt>
            <dd>
              {account.lastRealtimeError ? <span class="error-text">{account.lastRealtimeError}</span> : <span class="muted">none</span>}
            </dd>
          </dl>
          <p class="muted small">
            The runbook's live test: send a WhatsApp message to this number; it should appear in the inbox within seconds.
          </p>
        </section>
      </div>
      <section class="card wide" aria-labelledby="chart-title">
        <h2 id="chart-title">Messages stored, by source</h2>
        <ActivityChart buckets={state.activity.series(accountId)} bucketMs={state.activity.bucketMs} now={now} />
      </section>
      {log.length > 0 && (
        <section class="card wide" aria-labelledby="log-title">
          <h2 id="log-title">Sync events</h2>
          <ol class="event-log">
            {log.map((l, i) => (
              <li key={`${l.at}-${i}`}>
                <span class="muted">{formatTime(new Date(l.at))}</span> {l.text}
              </li>
            ))}
          </ol>
        </section>
      )}
    </main>
  );
}

function HistorySyncCard({ a }: { a: ApiAccount }) {
  const summary = historySyncSummary(a);
  const progress = a.historySyncProgress;
  const chunks = a.historySyncChunks ?? {};
  const chunksText = historySyncChunksText(a);
  const saved = a.historySyncMessagesSaved ?? a.historySyncCount ?? 0;
  const last = a.lastHistorySyncResult;
  // WhatsApp sends FULL after RECENT, and only when the full history was asked for: a sync complete
  // without it may stay so, or be reopened by FULL's first chunk.
  const fullMissing = a.historySyncStatus === 'complete' ? 'none so far' : 'not started';
  return (
    <section class="card" aria-labelledby="hs-title" data-history-sync={a.historySyncStatus ?? summary.text}>
      <h2 id="hs-title">History sync</h2>
      <p>
        <Badge tone={summary.tone}>{summary.text}</Badge>
      </p>
      {a.historySyncStalled && (
        <p class="note bad" role="alert">
          Stalled
          {a.historySyncStalledAt && (
            <>
              {' '}
              since <Time iso={a.historySyncStalledAt} />
            </>
          )}
          : no chunk has arrived for a while although the sync is not complete. Keep the phone online with WhatsApp open; if it stays
          stalled, check the logs and the phone's connection.
        </p>
      )}
      {progress && (
        <div class="progress-list">
          {PROGRESS_SYNC_TYPES.map((t) => (
            <div key={t} data-sync-type={t}>
              <Progress label={t} percent={progress[t]} empty={t === 'FULL' ? fullMissing : 'not started'} />
              <span class="muted small">{formatNumber(chunks[t] ?? 0)} chunks</span>
            </div>
          ))}
        </div>
      )}
      <dl>
        <dt>Chunks</dt>
        <dd data-testid="history-chunks">{chunksText || <span class="muted">none yet</span>}</dd>
        <dt>Messages saved</dt>
        <dd data-testid="history-saved">{formatNumber(saved)}</dd>
        {a.historySyncCount !== undefined && a.historySyncCount !== saved && (
          <>
            <dt>All syncs</dt>
            <dd>{formatNumber(a.historySyncCount)} messages</dd>
          </>
        )}
        {a.historySyncStartedAt !== undefined && (
          <>
            <dt>Started</dt>
            <dd>
              <Time iso={a.historySyncStartedAt} empty="not yet" />
            </dd>
          </>
        )}
        <dt>Last chunk</dt>
        <dd>
          <Time iso={lastChunkAt(a)} empty="none yet" />
        </dd>
        {a.historySyncCompletedAt !== undefined && (
          <>
            <dt>Completed</dt>
            <dd>
              <Time iso={a.historySyncCompletedAt} empty="not yet" />
            </dd>
          </>
        )}
        {last && (
          <>
            <dt>Last chunk's result</dt>
            <dd>
              {formatNumber(last.saved)} saved, {formatNumber(last.skipped)} skipped of {formatNumber(last.total)}
              {last.errors > 0 && <Badge tone="bad">{last.errors} errors</Badge>}
              {last.dryRun && <Badge tone="warn">dry run</Badge>}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

function BackfillCard({ a, state }: { a: ApiAccount; state: AppState }) {
  const [startedFrom, setStartedFrom] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  const namesFor = useRef<string | null>(null);
  const running = startedFrom !== undefined && a.lastBackfillAt === startedFrom;
  const connection = connectionOf(a);
  const r = a.lastBackfillResult;

  useEffect(() => {
    if (!r?.threadResults?.length || namesFor.current === a.lastBackfillAt) return;
    namesFor.current = a.lastBackfillAt ?? null;
    state.api.threads(a.id, { limit: 500 }).then(
      (page) => setNames(new Map(page.threads.map((t) => [t.id, t.displayName ?? displayJid(t.clientJid)]))),
      () => undefined,
    );
  }, [state, a.id, a.lastBackfillAt, r]);

  const start = async (): Promise<void> => {
    setError(null);
    const before = a.lastBackfillAt ?? null;
    setStartedFrom(before);
    try {
      await state.api.backfill(a.id);
    } catch (err) {
      setStartedFrom(undefined);
      setError(err);
    }
  };

  return (
    <section class="card" aria-labelledby="bf-title">
      <h2 id="bf-title">Backfill</h2>
      <p class="muted small">Asks the phone for older messages of the most recent threads. Results land on the account.</p>
      <button type="button" disabled={running || connection !== 'open'} onClick={() => void start()}>
        {running ? 'Backfill running…' : 'Backfill now'}
      </button>
      {connection !== 'open' && <p class="muted small">The account must be connected to backfill.</p>}
      {running && (
        <p role="status" class="muted">
          Started; waiting for the result…
        </p>
      )}
      {error !== null && <ErrorNote error={error} />}
      <dl>
        <dt>Last backfill</dt>
        <dd>
          <Time iso={a.lastBackfillAt} />
        </dd>
        {r && (
          <>
            <dt>Result</dt>
            <dd data-testid="backfill-result">
              {formatNumber(r.messages)} messages in {formatNumber(r.threads)} threads, {formatNumber(r.errors)} errors
            </dd>
          </>
        )}
      </dl>
      {r?.threadResults && r.threadResults.length > 0 && (
        <details>
          <summary>Per thread ({r.threadResults.length})</summary>
          <table class="compact">
            <thead>
              <tr>
                <th scope="col">Thread</th>
                <th scope="col">Messages</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {r.threadResults.map((t) => (
                <tr key={t.threadId}>
                  <td>
                    <a href={href({ view: 'inbox', accountId: a.id, threadId: t.threadId })}>{names.get(t.threadId) ?? t.threadId}</a>
                  </td>
                  <td>{formatNumber(t.messages)}</td>
                  <td>{t.error ? <span class="error-text">{t.error}</span> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}
