import { useState, type FormEvent } from 'react';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { CopyField, Dialog, EmptyRow, Field, Pager, useDialogAlerts } from '../components.js';
import { formatTime, SCOPE_NAMES, scopeNames, scopeValues, type ScopeName } from '../format.js';
import type { ManagementToken } from '../gen/roomgate/v1/resources_pb.js';
import { useAction, useLoad, usePages } from '../hooks.js';
import { useSession } from '../session.js';
import { NeedsScope } from './needs-scope.js';

/** Active, Expired, Revoked, or "Revoked at <time>" while a grace period runs. */
function status(t: ManagementToken): string {
  if (t.revokeTime) return t.inactive ? 'Revoked' : `Revoked at ${formatTime(t.revokeTime)}`;
  if (t.inactive || (t.expireTime && timestampDate(t.expireTime) <= new Date())) return 'Expired';
  return 'Active';
}

/** Management tokens: create (shown once), list with last use, revoke with grace. Admin only. */
export function TokensPage() {
  const { api, isAdmin } = useSession();
  const paging = usePages();
  const { pageToken } = paging;
  const { data, reload } = useLoad(
    async (signal) => (isAdmin ? api.tokens.listManagementTokens({ pageSize: 50, pageToken }, { signal }) : undefined),
    [api, isAdmin, pageToken],
  );
  const [created, setCreated] = useState('');
  const [revoking, setRevoking] = useState<ManagementToken>();
  return (
    <section aria-labelledby="tokens-h">
      <h1 id="tokens-h" tabIndex={-1}>
        Management tokens
      </h1>
      {!isAdmin ? (
        <NeedsScope scope="admin" />
      ) : (
        <>
          <CreateToken onCreated={(token) => { setCreated(token); reload(); }} />
          {created && (
            <div className="panel secret">
              <CopyField label="New management token" value={created} note="This token will not be shown again: store it now." />
              <button type="button" className="secondary" onClick={() => setCreated('')}>
                Done
              </button>
            </div>
          )}
          <table aria-label="Management tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Hint</th>
                <th scope="col">Scopes</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data?.managementTokens.length === 0 && <EmptyRow columns={6} text="No management tokens." />}
              {data?.managementTokens.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td className="mono">{t.hint}</td>
                  <td>{scopeNames(t.scopes).join(', ')}</td>
                  <td>{t.lastUsedTime ? formatTime(t.lastUsedTime) : 'Never'}</td>
                  <td>{status(t)}</td>
                  <td>
                    {status(t) === 'Active' && (
                      <button type="button" className="danger" onClick={() => setRevoking(t)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager paging={paging} next={data?.nextPageToken} />
          {revoking && <RevokeDialog token={revoking} onClose={(done) => { setRevoking(undefined); if (done) reload(); }} />}
        </>
      )}
    </section>
  );
}

/** Name and scopes of a new token. */
function CreateToken({ onCreated }: { onCreated: (token: string) => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ScopeName[]>(['read']);
  const [busy, run] = useAction();
  const toggle = (s: ScopeName) => setScopes((list) => (list.includes(s) ? list.filter((x) => x !== s) : [...list, s]));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await run(async () => {
      const created = await api.tokens.createManagementToken({ name: name.trim(), scopes: scopeValues(scopes) });
      onCreated(created.token);
      setName('');
    });
  };
  return (
    <form className="panel" aria-label="Create token" onSubmit={(e) => void submit(e)}>
      <Field label="Token name">{(id) => <input id={id} required value={name} onChange={(e) => setName(e.target.value)} />}</Field>
      <fieldset>
        <legend>Scopes</legend>
        {SCOPE_NAMES.map((s) => (
          <label key={s} className="check">
            <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} />
            {s}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={busy}>
        Create token
      </button>
    </form>
  );
}

/** RevokeManagementToken, at once or after a grace period. */
function RevokeDialog({ token, onClose }: { token: ManagementToken; onClose: (done: boolean) => void }) {
  const { api } = useSession();
  const [grace, setGrace] = useState('0');
  const [report, alerts] = useDialogAlerts();
  const [busy, run] = useAction(report);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await run(() => api.tokens.revokeManagementToken({ id: token.id, graceSeconds: Number(grace || 0) }))) onClose(true);
  };
  return (
    <Dialog title="Revoke token" onCancel={() => onClose(false)}>
      {alerts}
      <form onSubmit={(e) => void submit(e)}>
        <p>
          Revoke <strong>{token.name}</strong> (<span className="mono">{token.hint}</span>)? During the grace period it keeps working.
        </p>
        <Field label="Grace period (seconds)">
          {(id) => <input id={id} type="number" min={0} step={1} value={grace} onChange={(e) => setGrace(e.target.value)} />}
        </Field>
        <div className="row">
          <button type="submit" className="danger" disabled={busy}>
            Revoke token
          </button>
          <button type="button" className="secondary" onClick={() => onClose(false)}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
