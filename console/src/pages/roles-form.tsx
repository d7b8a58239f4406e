import type { Role } from '../gen/roomgate/v1/resources_pb.js';
import { Field } from '../components.js';

/** A permission's field in PeerPermissions. */
export type PermissionKey = 'canPublish' | 'canSubscribe' | 'canUpdateMetadata' | 'canUpdateRoom' | 'canRemoveParticipants';

/** The five peer permissions with their checkbox labels and column headings, in proto order. */
export const PERMISSIONS: { key: PermissionKey; label: string; column: string }[] = [
  { key: 'canPublish', label: 'Can publish', column: 'Publish' },
  { key: 'canSubscribe', label: 'Can subscribe', column: 'Subscribe' },
  { key: 'canUpdateMetadata', label: 'Can update metadata', column: 'Update metadata' },
  { key: 'canUpdateRoom', label: 'Can update room', column: 'Update room' },
  { key: 'canRemoveParticipants', label: 'Can remove participants', column: 'Remove participants' },
];

/** A role's editable fields as the form holds them (numbers as typed). */
export interface RoleDraft {
  permissions: Record<PermissionKey, boolean>;
  ttl: string;
  metadata: string;
  description: string;
}

/** The form of a new role: publish and subscribe, as most peers need. */
export function emptyDraft(): RoleDraft {
  return {
    permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: false, canUpdateRoom: false, canRemoveParticipants: false },
    ttl: '',
    metadata: '',
    description: '',
  };
}

/** The form of an existing role. */
export function draftOf(role: Role): RoleDraft {
  const p = role.permissions;
  return {
    permissions: {
      canPublish: p?.canPublish ?? false,
      canSubscribe: p?.canSubscribe ?? false,
      canUpdateMetadata: p?.canUpdateMetadata ?? false,
      canUpdateRoom: p?.canUpdateRoom ?? false,
      canRemoveParticipants: p?.canRemoveParticipants ?? false,
    },
    ttl: String(role.tokenTtlSeconds),
    metadata: role.metadata === '{}' ? '' : role.metadata,
    description: role.description,
  };
}

/** The request fields CreateRole and UpdateRole share; the server validates them. */
export function requestOf(draft: RoleDraft): { permissions: Record<PermissionKey, boolean>; tokenTtlSeconds: number; metadata: string; description: string } {
  return {
    permissions: { ...draft.permissions },
    tokenTtlSeconds: Number(draft.ttl || 0),
    metadata: draft.metadata.trim(),
    description: draft.description.trim(),
  };
}

/** The permission checkboxes, token lifetime, metadata and description of a role form. */
export function RoleFields({ draft, onChange }: { draft: RoleDraft; onChange: (draft: RoleDraft) => void }) {
  const set = (patch: Partial<RoleDraft>) => onChange({ ...draft, ...patch });
  return (
    <>
      <fieldset>
        <legend>Permissions</legend>
        {PERMISSIONS.map(({ key, label }) => (
          <label key={key} className="check">
            <input
              type="checkbox"
              checked={draft.permissions[key]}
              onChange={(e) => set({ permissions: { ...draft.permissions, [key]: e.target.checked } })}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <Field label="Token TTL (seconds)">
        {(id) => (
          <input id={id} type="number" min={60} max={86400} step={1} value={draft.ttl} placeholder="86400 (24 hours)" onChange={(e) => set({ ttl: e.target.value })} />
        )}
      </Field>
      <Field label="Default metadata">
        {(id) => <textarea id={id} rows={3} className="mono" value={draft.metadata} placeholder="{}" onChange={(e) => set({ metadata: e.target.value })} />}
      </Field>
      <Field label="Description">{(id) => <input id={id} maxLength={512} value={draft.description} onChange={(e) => set({ description: e.target.value })} />}</Field>
    </>
  );
}
