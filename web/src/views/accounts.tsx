import { useState } from 'preact/hooks';
import { ApiError, describeError } from '../api/client.js';
import { type ApiAccount, connectionOf, STOPPED_STATES } from '../api/types.js';
import { href, navigate } from '../router.js';
import type { AppState } from '../state/app-state.js';
import { ConnectionBadge, Dialog, Empty, ErrorNote, Loading, Time } from '../ui/components.js';
import { displayJid } from '../ui/format.js';
import { useStore, useTicker } from '../ui/store.js';
import { AutoBackfillCell, BackfillCell, HistorySyncCell } from './account-summary.js';

export function AccountsView({ state }: { state: AppState }) {
  const accounts = useStore(state.accounts);
  const error = useStore(state.accountsError);
  useTicker(15_000);
  const [notice, setNotice] = useState<{ tone: 'ok' | 'bad'; text: string } | null>(null);
  const [deleting, setDeleting] = useState<ApiAccount | null>(null);

  const list = accounts ? [...accounts.values()].sort((a, b) => a.id.localeCompare(b.id)) : null;

  return (
    <main class="page" aria-labelledby="accounts-title">
      <div class="page-head">
        <h1 id="accounts-title">Accounts</h1>
        <CreateAccount state={state} />
      </div>
      {notice && (
        <p class={`note ${notice.tone}`} role={notice.tone === 'bad' ? 'alert' : 'status'}>
          {notice.text}
        </p>
      )}
      {error !== null && !list && <ErrorNote error={error} onRetry={() => void state.loadAccounts()} />}
      {!list && error === null && <Loading what="accounts" />}
      {list && list.length === 0 && (
        <Empty title="No accounts yet">
          <p>Create one above, then scan its QR code with the phone (WhatsApp → Settings → Linked devices → Link a device).</p>
        </Empty>
      )}
      {list && list.length > 0 && (
        <table class="accounts">
          <caption class="sr-only">Accounts with their connection, history sync, backfill and live ingest</caption>
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Connection</th>
              <th scope="col">History sync</th>
              <th scope="col">Last realtime message</th>
              <th scope="col">Last backfill</th>
              <th scope="col">Auto backfill</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <AccountRow key={a.id} a={a} state={state} onNotice={setNotice} onDelete={() => setDeleting(a)} />
            ))}
          </tbody>
        </table>
      )}
      {deleting && (
        <DeleteDialog
          account={deleting}
          state={state}
          onClose={() => setDeleting(null)}
          onDone={(text) => {
            setDeleting(null);
            setNotice({ tone: 'ok', text });
          }}
        />
      )}
    </main>
  );
}

function AccountRow({
  a,
  state,
  onNotice,
  onDelete,
}: {
  a: ApiAccount;
  state: AppState;
  onNotice: (n: { tone: 'ok' | 'bad'; text: string }) => void;
  onDelete: () => void;
}) {
  const connection = connectionOf(a);
  const [busy, setBusy] = useState<string | null>(null);
  const run = async (what: string, op: () => Promise<unknown>, done: string): Promise<void> => {
    setBusy(what);
    try {
      await op();
      onNotice({ tone: 'ok', text: done });
      await state.refreshAccount(a.id);
    } catch (err) {
      onNotice({ tone: 'bad', text: `${what}: ${describeError(err)}` });
    } finally {
      setBusy(null);
    }
  };
  const needsPairing = connection === 'qr' || connection === 'connecting' || connection === 'created';
  return (
    <tr data-account-id={a.id}>
      <th scope="row" data-label="Account">
        <div class="cell-stack">
          <a href={href({ view: 'sync', accountId: a.id })} class="account-id">
            {a.id}
          </a>
          <span class="muted">{a.phoneNumber ? displayJid(a.phoneNumber) : (a.runtime?.me ?? 'not paired')}</span>
        </div>
      </th>
      <td data-label="Connection">
        <div class="cell-stack">
          <ConnectionBadge status={connection} />
          {(a.runtime?.reason ?? a.statusReason) && <span class="muted">{a.runtime?.reason ?? a.statusReason}</span>}
          {(a.reconnectAttempts ?? 0) > 0 && <span>{a.reconnectAttempts} reconnect attempts</span>}
          {(a.runtime?.restarts ?? 0) > 0 && <span>{a.runtime?.restarts} actor restarts</span>}
        </div>
      </td>
      <td data-label="History sync">
        <HistorySyncCell a={a} />
      </td>
      <td data-label="Last realtime message">
        <div class="cell-stack">
          <Time iso={a.lastRealtimeMessageAt} relative />
          {a.lastRealtimeError && <span class="error-text">{a.lastRealtimeError}</span>}
        </div>
      </td>
      <td data-label="Last backfill">
        <BackfillCell a={a} />
      </td>
      <td data-label="Auto backfill">
        <AutoBackfillCell a={a} />
      </td>
      <td data-label="Actions">
        <div class="actions">
          <a class="button" href={href({ view: 'inbox', accountId: a.id, threadId: null })} aria-label={`Inbox of ${a.id}`}>
            Inbox
          </a>
          <a class="button quiet" href={href({ view: 'sync', accountId: a.id })} aria-label={`Sync status of ${a.id}`}>
            Sync
          </a>
          {needsPairing && (
            <a class="button" href={href({ view: 'pair', accountId: a.id })} aria-label={`Pair ${a.id}`}>
              Pair
            </a>
          )}
          <button
            type="button"
            class="quiet"
            disabled={busy !== null || connection !== 'open'}
            title={connection === 'open' ? 'Ask the phone for older messages' : 'The account must be connected'}
            aria-label={`Backfill ${a.id}`}
            onClick={() => void run('Backfill', () => state.api.backfill(a.id), `Backfill of ${a.id} started; its result appears here.`)}
          >
            {busy === 'Backfill' ? 'Starting…' : 'Backfill'}
          </button>
          {(STOPPED_STATES.has(connection) || connection === 'qr') && (
            <button
              type="button"
              class="quiet"
              disabled={busy !== null}
              aria-label={`Regenerate QR of ${a.id}`}
              onClick={() =>
                void run(
                  'Regenerate QR',
                  async () => {
                    await state.api.regenerateQr(a.id);
                    navigate({ view: 'pair', accountId: a.id });
                  },
                  `A new QR for ${a.id} was requested.`,
                )
              }
            >
              New QR
            </button>
          )}
          <button type="button" class="danger quiet" disabled={busy !== null} aria-label={`Delete ${a.id}`} onClick={onDelete}>
            Delete
          </button>
        </div>
      </td>
    </tr>
  );
}

function CreateAccount({ state }: { state: AppState }) {
  const [id, setId] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const account = await state.api.createAccount(id.trim() || undefined);
      state.putAccount(account);
      setId('');
      navigate({ view: 'pair', accountId: account.id });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="create" onSubmit={(e) => void submit(e)} aria-label="Create an account">
      <label for="new-account-id">New account id</label>
      <input
        id="new-account-id"
        placeholder="optional, e.g. shop-1"
        value={id}
        pattern="[A-Za-z0-9._\-]{1,100}"
        onInput={(e) => setId(e.currentTarget.value)}
      />
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create account'}
      </button>
      {error !== null && (
        <p class="note bad" role="alert">
          {error instanceof ApiError && error.status === 409 ? `An account named ${id} exists already.` : describeError(error)}
        </p>
      )}
    </form>
  );
}

function DeleteDialog({
  account,
  state,
  onClose,
  onDone,
}: {
  account: ApiAccount;
  state: AppState;
  onClose: () => void;
  onDone: (text: string) => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const remove = async (purge: boolean): Promise<void> => {
    setBusy(true);
    try {
      await state.api.deleteAccount(account.id, purge);
      state.dropAccount(account.id);
      onDone(purge ? `${account.id} was deleted with its threads and messages.` : `${account.id} was deleted; its messages are kept.`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Delete ${account.id}?`} onClose={onClose}>
      <p>
        The account stops and its WhatsApp session is logged out (the phone shows the device as removed). Its threads and messages stay in
        the store unless you also purge them.
      </p>
      {error !== null && <ErrorNote error={error} />}
      <div class="dialog-actions">
        <button type="button" class="quiet" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={() => void remove(false)} disabled={busy}>
          Delete, keep messages
        </button>
        <button type="button" class="danger strong" onClick={() => void remove(true)} disabled={busy}>
          Delete and purge messages
        </button>
      </div>
    </Dialog>
  );
}
