import { useEffect, useState, type FormEvent } from 'react';
import { Field } from '../components.js';
import { useAction } from '../hooks.js';
import { useSession } from '../session.js';

/** The lines of a textarea that hold something. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/**
 * The environment's allowed app URLs, where the join page hands peer tokens
 * on: editable with scope admin (UpdateJoinSettings is admin only), a list
 * for any other token.
 */
export function AppUrls({ appUrls, onSaved }: { appUrls: string[] | undefined; onSaved: () => void }) {
  const { api, isAdmin } = useSession();
  const [text, setText] = useState('');
  const [saved, setSaved] = useState('');
  const [busy, run] = useAction();
  const current = (appUrls ?? []).join('\n');
  useEffect(() => setText(current), [current]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved('');
    const ok = await run(() => api.joinCodes.updateJoinSettings({ settings: { appUrls: lines(text) } }));
    if (ok) {
      setSaved('Saved.');
      onSaved();
    }
  };
  return (
    <section aria-labelledby="app-urls-h" className="panel app-urls">
      <h2 id="app-urls-h">Allowed app URLs</h2>
      <p className="hint">The join page sends a redeemer to one of these with the peer token in the URL fragment; a code names one, or gets the first.</p>
      {isAdmin ? (
        <form aria-label="Allowed app URLs" onSubmit={(e) => void submit(e)}>
          <Field label="App URLs (one per line)">
            {(id) => <textarea id={id} rows={4} className="mono" value={text} placeholder="https://app.example.com/join" onChange={(e) => setText(e.target.value)} />}
          </Field>
          <div className="row">
            <button type="submit" disabled={busy || appUrls === undefined}>
              Save app URLs
            </button>
            <span role="status">{saved}</span>
          </div>
        </form>
      ) : (
        <>
          {appUrls?.length ? (
            <ul aria-label="Allowed app URLs" className="mono">
              {appUrls.map((url) => (
                <li key={url}>{url}</li>
              ))}
            </ul>
          ) : (
            <p>{appUrls ? 'None yet.' : ''}</p>
          )}
          <p className="note">Only a token with scope admin can change them.</p>
        </>
      )}
    </section>
  );
}
