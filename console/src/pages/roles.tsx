import { useState, type FormEvent } from 'react';
import { EmptyRow, Field, Pager } from '../components.js';
import type { Role } from '../gen/roomgate/v1/resources_pb.js';
import { useAction, useLoad, usePages } from '../hooks.js';
import { useSession } from '../session.js';
import { DeleteRoleDialog, EditRoleDialog } from './roles-dialogs.js';
import { emptyDraft, PERMISSIONS, requestOf, RoleFields } from './roles-form.js';

const PAGE_SIZE = 50;

type Open = { kind: 'edit' | 'delete'; role: Role } | undefined;

/** Roles: permission presets for peers and join codes; create, edit (optionally applied to existing peers), delete. */
export function RolesPage() {
  const { api, canWrite } = useSession();
  const paging = usePages();
  const { pageToken } = paging;
  const { data, reload } = useLoad((signal) => api.roles.listRoles({ pageSize: PAGE_SIZE, pageToken }, { signal }), [api, pageToken]);
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<Open>();
  const [done, setDone] = useState('');
  const columns = 4 + PERMISSIONS.length + (canWrite ? 1 : 0);
  return (
    <section aria-labelledby="roles-h">
      <h1 id="roles-h" tabIndex={-1}>
        Roles
      </h1>
      <p className="hint">A role is a permission preset: peers, tokens and join codes made with it get its permissions, token lifetime and metadata.</p>
      {canWrite && !creating && (
        <div className="toolbar">
          <button type="button" onClick={() => { setDone(''); setCreating(true); }}>
            Create role
          </button>
        </div>
      )}
      {canWrite && creating && (
        <CreateRole
          onDone={(role) => {
            setCreating(false);
            if (role) {
              setDone(`Created role ${role.name}.`);
              reload();
            }
          }}
        />
      )}
      <p role="status" className="hint">
        {done}
      </p>
      <table aria-label="Roles">
        <thead>
          <tr>
            <th scope="col">Name</th>
            {PERMISSIONS.map((p) => (
              <th key={p.key} scope="col">
                {p.column}
              </th>
            ))}
            <th scope="col">Token TTL</th>
            <th scope="col">Metadata</th>
            <th scope="col">Description</th>
            {canWrite && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {data?.roles.length === 0 && <EmptyRow columns={columns} text="No roles yet." />}
          {data?.roles.map((role) => (
            <tr key={role.name}>
              <td className="mono">{role.name}</td>
              {PERMISSIONS.map((p) => (
                <td key={p.key}>{role.permissions?.[p.key] ? 'Yes' : 'No'}</td>
              ))}
              <td className="num">{role.tokenTtlSeconds} s</td>
              <td className="mono pre">{role.metadata}</td>
              <td>{role.description}</td>
              {canWrite && (
                <td>
                  <div className="row">
                    <button type="button" onClick={() => setOpen({ kind: 'edit', role })}>
                      Edit
                    </button>
                    <button type="button" className="danger" onClick={() => setOpen({ kind: 'delete', role })}>
                      Delete
                    </button>
                  </div>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager paging={paging} next={data?.nextPageToken} />
      {open?.kind === 'edit' && (
        <EditRoleDialog
          role={open.role}
          onClose={(message) => {
            setOpen(undefined);
            if (message) {
              setDone(message);
              reload();
            }
          }}
        />
      )}
      {open?.kind === 'delete' && (
        <DeleteRoleDialog
          role={open.role}
          onClose={(deleted) => {
            setOpen(undefined);
            if (deleted) {
              setDone(`Deleted role ${open.role.name}.`);
              reload();
            }
          }}
        />
      )}
    </section>
  );
}

/** The create-role form. */
function CreateRole({ onDone }: { onDone: (role: Role | undefined) => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [draft, setDraft] = useState(emptyDraft);
  const [busy, run] = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let role: Role | undefined;
    const ok = await run(async () => {
      ({ role } = await api.roles.createRole({ name: name.trim(), ...requestOf(draft) }));
    });
    if (ok) onDone(role);
  };
  return (
    <form className="panel" aria-label="Create role" onSubmit={(e) => void submit(e)}>
      <Field label="Role name">
        {(id) => <input id={id} required maxLength={64} value={name} placeholder="speaker" onChange={(e) => setName(e.target.value)} />}
      </Field>
      <p className="hint">1-64 characters: a-z, 0-9, - and _. The name cannot be changed later.</p>
      <RoleFields draft={draft} onChange={setDraft} />
      <div className="row">
        <button type="submit" disabled={busy}>
          Create
        </button>
        <button type="button" className="secondary" onClick={() => onDone(undefined)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
