import { useState, type FormEvent } from 'react';
import { signIn, type Session } from '../api/session';
import { ErrorNote, Field } from '../components/ui';
import { useTitle } from '../lib/router';
import { brand } from '../lib/brand';

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  useTitle('Sign in');
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await signIn(key.trim());
      setKey('');
      onSignedIn(session);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in" id="main">
      <form onSubmit={submit} className="card" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">{brand.name}</h1>
        <p>Sign in with an admin API key (one of HOOKPOST_API_KEYS; <code>npm start</code> keeps its own in .hookpost/api-key). The key is exchanged for a session cookie and is not stored in the browser.</p>
        <Field label="Admin API key">
          {(props) => <input {...props} type="password" autoComplete="current-password" required minLength={16} value={key} onChange={(event) => setKey(event.target.value)} autoFocus />}
        </Field>
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
