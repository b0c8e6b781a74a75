import { toCanvas } from 'qrcode';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describeError } from '../api/client.js';
import { type ConnectionStatus, connectionOf, STOPPED_STATES } from '../api/types.js';
import { href, navigate } from '../router.js';
import type { AppState } from '../state/app-state.js';
import { ConnectionBadge, ErrorNote } from '../ui/components.js';
import { useStore } from '../ui/store.js';

/** WhatsApp rotates the QR about every 20 s; asking every second shows each new one at once. */
const QR_POLL_MS = 1000;

/**
 * Pairing: the pending QR, drawn on a canvas by the `qrcode` library and redrawn whenever WhatsApp
 * rotates it, or a pairing code for a phone number. The page moves on to the sync view by itself
 * as soon as the account is open.
 */
export function PairView({ state, accountId }: { state: AppState; accountId: string }) {
  const account = useStore(state.accounts)?.get(accountId);
  const [qr, setQr] = useState<string | null>(null);
  const [connection, setConnection] = useState<ConnectionStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [rotations, setRotations] = useState(0);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last: string | null = null;
    const poll = async (): Promise<void> => {
      try {
        const answer = await state.api.qr(accountId);
        if (stopped) return;
        setError(null);
        setConnection(answer.connection);
        if (answer.qr !== last) {
          if (last !== null && answer.qr !== null) setRotations((n) => n + 1);
          last = answer.qr;
          setQr(answer.qr);
        }
        if (answer.connection === 'open') {
          await state.refreshAccount(accountId);
          navigate({ view: 'sync', accountId });
          return;
        }
      } catch (err) {
        if (stopped) return;
        setError(err);
        if (err instanceof ApiError && err.notFound) return;
      }
      timer = setTimeout(() => void poll(), QR_POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [state, accountId]);

  const status = connection ?? (account ? connectionOf(account) : null);
  const stoppedState = status !== null && STOPPED_STATES.has(status);

  return (
    <main class="page pair" aria-labelledby="pair-title">
      <p class="crumbs">
        <a href={href({ view: 'accounts' })}>Accounts</a> / {accountId}
      </p>
      <h1 id="pair-title">Pair {accountId}</h1>
      <p class="status-line">
        Status: {status ? <ConnectionBadge status={status} /> : '…'}
        {status === 'open' && <span> Paired. Opening the sync view…</span>}
      </p>
      {error !== null && <ErrorNote error={error} />}
      <div class="pair-grid">
        <section aria-labelledby="qr-title" class="card">
          <h2 id="qr-title">Scan the QR code</h2>
          <ol class="steps">
            <li>On the phone, open WhatsApp → Settings → Linked devices.</li>
            <li>Tap “Link a device” and point the camera at this code.</li>
          </ol>
          {qr ? (
            <QrCanvas text={qr} label={`QR code to link ${accountId}`} />
          ) : (
            <p class="qr-placeholder muted" role="status">
              {stoppedState
                ? 'No QR: the session ended. Ask for a new one.'
                : status === 'open'
                  ? 'Connected.'
                  : 'Waiting for WhatsApp to hand out a QR…'}
            </p>
          )}
          {qr && (
            <p class="muted small" role="status">
              WhatsApp replaces the code every 20 seconds or so; this one is redrawn each time
              {rotations > 0 ? ` (replaced ${rotations} time${rotations > 1 ? 's' : ''} so far)` : ''}.
            </p>
          )}
          {stoppedState && <NewQrButton state={state} accountId={accountId} />}
        </section>
        <section aria-labelledby="code-title" class="card">
          <h2 id="code-title">Or pair with a code</h2>
          <PairingCode state={state} accountId={accountId} disabled={status === 'open'} />
        </section>
      </div>
    </main>
  );
}

function QrCanvas({ text, label }: { text: string; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!ref.current) return;
    toCanvas(ref.current, text, { errorCorrectionLevel: 'L', margin: 2, scale: 6, color: { dark: '#000000', light: '#ffffff' } }).then(
      () => setError(null),
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  }, [text]);
  return (
    <>
      <canvas ref={ref} class="qr" role="img" aria-label={label} data-qr-length={text.length} />
      {error && (
        <p class="note bad" role="alert">
          The QR could not be drawn: {error}
        </p>
      )}
    </>
  );
}

function NewQrButton({ state, accountId }: { state: AppState; accountId: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <button
        type="button"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          state.api.regenerateQr(accountId).then(
            () => setBusy(false),
            (err: unknown) => {
              setError(err);
              setBusy(false);
            },
          );
        }}
      >
        Request a new QR
      </button>
      {error !== null && <ErrorNote error={error} />}
    </>
  );
}

function PairingCode({ state, accountId, disabled }: { state: AppState; accountId: string; disabled: boolean }) {
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const digits = phone.replace(/[\s+\-()]/g, '');
    if (!/^\d{6,15}$/.test(digits)) {
      setError('Enter the phone number with its country code, digits only (e.g. 40712345678).');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { code: c } = await state.api.pairingCode(accountId, digits);
      setCode(c.length === 8 ? `${c.slice(0, 4)}-${c.slice(4)}` : c);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-label="Pair with a code">
      <label for="pair-phone">Phone number (with country code)</label>
      <input
        id="pair-phone"
        type="tel"
        inputMode="tel"
        autoComplete="off"
        placeholder="40712345678"
        value={phone}
        onInput={(e) => setPhone(e.currentTarget.value)}
      />
      <button type="submit" disabled={busy || disabled}>
        {busy ? 'Asking…' : 'Get pairing code'}
      </button>
      {error && (
        <p class="note bad" role="alert">
          {error}
        </p>
      )}
      {code && (
        <div class="pairing-code" role="status">
          <p>On the phone: Linked devices → Link a device → Link with phone number instead, then type</p>
          <output aria-label="Pairing code">{code}</output>
        </div>
      )}
    </form>
  );
}
