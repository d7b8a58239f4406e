import { useState } from 'react';
import { Dialog, EmptyRow, useDialogAlerts } from '../components.js';
import { formatTime } from '../format.js';
import { SigningKeyState } from '../gen/roomgate/v1/resources_pb.js';
import { useAction, useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import { NeedsScope } from './needs-scope.js';

/** The signing keys of the environment, and rotation. Admin only. */
export function KeysPage() {
  const { api, isAdmin } = useSession();
  const { data, reload } = useLoad(async (signal) => (isAdmin ? api.tokens.listSigningKeys({}, { signal }) : undefined), [api, isAdmin]);
  const [rotating, setRotating] = useState(false);
  return (
    <section aria-labelledby="keys-h">
      <h1 id="keys-h" tabIndex={-1}>
        Signing keys
      </h1>
      {!isAdmin ? (
        <NeedsScope scope="admin" />
      ) : (
        <>
          <div className="toolbar">
            <button type="button" onClick={() => setRotating(true)}>
              Rotate signing key
            </button>
          </div>
          <table aria-label="Signing keys">
            <thead>
              <tr>
                <th scope="col">Key ID</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Activates</th>
                <th scope="col">Retires</th>
              </tr>
            </thead>
            <tbody>
              {data?.signingKeys.length === 0 && <EmptyRow columns={5} text="No signing keys." />}
              {data?.signingKeys.map((k) => (
                <tr key={k.kid}>
                  <td className="mono">{k.kid}</td>
                  <td>{SigningKeyState[k.state]}</td>
                  <td>{formatTime(k.createTime)}</td>
                  <td>{formatTime(k.activateTime)}</td>
                  <td>{formatTime(k.retireTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rotating && (
            <RotateDialog
              onClose={(done) => {
                setRotating(false);
                if (done) reload();
              }}
            />
          )}
        </>
      )}
    </section>
  );
}

/** Confirms RotateSigningKey, with the configured pre-publish time. */
function RotateDialog({ onClose }: { onClose: (done: boolean) => void }) {
  const { api } = useSession();
  const [report, alerts] = useDialogAlerts();
  const [busy, run] = useAction(report);
  const rotate = async () => {
    if (await run(() => api.tokens.rotateSigningKey({}))) onClose(true);
  };
  return (
    <Dialog title="Rotate signing key" onCancel={() => onClose(false)}>
      {alerts}
      <p>A new key is published now and starts signing after the configured pre-publish time; the current one keeps verifying until it retires.</p>
      <div className="row">
        <button type="button" className="danger" disabled={busy} onClick={() => void rotate()}>
          Rotate
        </button>
        <button type="button" className="secondary" onClick={() => onClose(false)}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
