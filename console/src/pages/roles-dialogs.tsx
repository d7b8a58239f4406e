import { useState, type FormEvent } from 'react';
import { Dialog, useDialogAlerts } from '../components.js';
import type { Role } from '../gen/roomgate/v1/resources_pb.js';
import { useAction } from '../hooks.js';
import { useSession } from '../session.js';
import { draftOf, requestOf, RoleFields } from './roles-form.js';

/** What a saved role did, for the page's status line. */
function savedText(name: string, applied: boolean, count: number): string {
  if (!applied) return `Saved role ${name}. Existing peers keep their permissions.`;
  return `Saved role ${name}. ${count} existing ${count === 1 ? 'peer' : 'peers'} took the new permissions.`;
}

/**
 * UpdateRole. Closes with the status text to show once saved, or undefined
 * when cancelled.
 */
export function EditRoleDialog({ role, onClose }: { role: Role; onClose: (saved: string | undefined) => void }) {
  const { api } = useSession();
  const [draft, setDraft] = useState(() => draftOf(role));
  const [apply, setApply] = useState(false);
  const [report, alerts] = useDialogAlerts();
  const [busy, run] = useAction(report);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let text = '';
    const ok = await run(async () => {
      const res = await api.roles.updateRole({ name: role.name, ...requestOf(draft), applyToExistingPeers: apply });
      text = savedText(role.name, apply, res.updatedPeerCount);
    });
    if (ok) onClose(text);
  };
  return (
    <Dialog title="Edit role" onCancel={() => onClose(undefined)}>
      {alerts}
      <form onSubmit={(e) => void submit(e)}>
        <p>
          Role <strong className="mono">{role.name}</strong>
        </p>
        <RoleFields draft={draft} onChange={setDraft} />
        <label className="check">
          <input type="checkbox" checked={apply} onChange={(e) => setApply(e.target.checked)} />
          Apply to existing peers
        </label>
        <p className="hint">
          Otherwise only peers and tokens made from now on get the change. Applying it gives the role&apos;s existing peers the new permissions
          and supersedes their tokens.
        </p>
        <div className="row">
          <button type="submit" disabled={busy}>
            Save role
          </button>
          <button type="button" className="secondary" onClick={() => onClose(undefined)}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Confirms DeleteRole; a role that live join codes use is refused (FAILED_PRECONDITION, shown in the dialog). */
export function DeleteRoleDialog({ role, onClose }: { role: Role; onClose: (deleted: boolean) => void }) {
  const { api } = useSession();
  const [report, alerts] = useDialogAlerts();
  const [busy, run] = useAction(report);
  const remove = async () => {
    if (await run(() => api.roles.deleteRole({ name: role.name }))) onClose(true);
  };
  return (
    <Dialog title="Delete role" onCancel={() => onClose(false)}>
      {alerts}
      <p>
        Delete role <strong className="mono">{role.name}</strong>? Peers made with it keep their permissions. A role that join codes still use cannot be
        deleted until they are revoked, expired or used up.
      </p>
      <div className="row">
        <button type="button" className="danger" disabled={busy} onClick={() => void remove()}>
          Delete role
        </button>
        <button type="button" className="secondary" onClick={() => onClose(false)}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
