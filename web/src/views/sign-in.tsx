import { useState } from 'preact/hooks';
import { Api, ApiError, describeError } from '../api/client.js';

/**
 * The API token, pasted once. It is checked against the API before it is kept (sessionStorage:
 * this tab only, gone when it closes); it never goes into a URL, and the page logs nothing.
 */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (token: string) => void; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const value = token.trim();
    if (value === '') {
      setError('Paste the API token first.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await new Api(value).accounts();
      onSignedIn(value);
    } catch (err) {
      setError(
        err instanceof ApiError && err.unauthorized
          ? 'The server refused this token. Check it and paste it again: it is in DATA_DIR/api-token (./data/api-token), or API_TOKEN.'
          : describeError(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">wasync console</h1>
        <p>
          Paste the server's API token. <code>npm start</code> prints where it is (<code>./data/api-token</code> unless{' '}
          <code>API_TOKEN</code> is set).
        </p>
        {notice && (
          <p class="note warn" role="status">
            {notice}
          </p>
        )}
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'token-error' : undefined}
        />
        {error && (
          <p id="token-error" class="note bad" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted small">The token stays in this browser tab only, and is forgotten when the tab closes.</p>
      </form>
    </main>
  );
}
