import { useId, useState, type FormEvent, type ReactNode } from 'react';

/** The sign-in form: one management token. */
export function SignIn({ checking, onSignIn, alerts }: { checking: boolean; onSignIn: (token: string) => Promise<void>; alerts: ReactNode }) {
  const id = useId();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await onSignIn(token.trim());
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in">
      <h1>roomgate console</h1>
      {alerts}
      {checking ? (
        <p role="status">Checking the saved session…</p>
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <label htmlFor={id}>Management token</label>
          <input id={id} type="password" autoComplete="off" spellCheck={false} required value={token} onChange={(e) => setToken(e.target.value)} />
          <p className="hint">The token stays in this tab (sessionStorage) until you sign out or close it.</p>
          <button type="submit" disabled={busy || token.trim() === ''}>
            Sign in
          </button>
        </form>
      )}
    </main>
  );
}
