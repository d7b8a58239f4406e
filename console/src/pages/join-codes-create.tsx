import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { useState, type FormEvent } from 'react';
import type { Api } from '../api.js';
import { Field } from '../components.js';
import { JoinCodeKind } from '../gen/roomgate/v1/resources_pb.js';
import { useAction, useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import { resolveRoomId, RoomInput } from './join-codes-room.js';

const MAX_ROLE_PAGES = 10;

/** A code just made: what is shown of it once. */
export interface CreatedCode {
  code: string;
  /** The join page's URL for it. */
  link: string;
  kind: JoinCodeKind;
  roomId: string;
}

/** The join page's URL of `code`: the server's, or this origin's /join/ when it has no public URL set. */
function joinLink(code: string, joinUrl: string): string {
  return joinUrl || `${window.location.origin}/join/${encodeURIComponent(code)}`;
}

/** The names of every role in the environment, for the Role combobox. */
async function allRoleNames(api: Api, signal: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  let pageToken = '';
  for (let i = 0; i < MAX_ROLE_PAGES; i++) {
    const page = await api.roles.listRoles({ pageSize: 100, pageToken }, { signal });
    names.push(...page.roles.map((r) => r.name));
    pageToken = page.nextPageToken;
    if (!pageToken) break;
  }
  return names;
}

/** The create-join-code form: room, role, expiry, uses, identity, kind, app URL and description. */
export function CreateJoinCode({ appUrls, onDone }: { appUrls: string[]; onDone: (created: CreatedCode | undefined) => void }) {
  const { api } = useSession();
  const { data: roles } = useLoad((signal) => allRoleNames(api, signal), [api]);
  const [room, setRoom] = useState('');
  const [role, setRole] = useState('');
  const [hours, setHours] = useState('12');
  const [maxUses, setMaxUses] = useState('1');
  const [identity, setIdentity] = useState('');
  const [kind, setKind] = useState(JoinCodeKind.LINK);
  const [appUrl, setAppUrl] = useState('');
  const [description, setDescription] = useState('');
  const [busy, run] = useAction();
  const chosenRole = role || roles?.[0] || '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let created: CreatedCode | undefined;
    const ok = await run(async () => {
      const roomId = await resolveRoomId(api, room);
      const res = await api.joinCodes.createJoinCode({
        roomId,
        role: chosenRole,
        expireTime: timestampFromMs(Date.now() + Number(hours || 0) * 3_600_000),
        maxUses: Number(maxUses || 0),
        identity: identity.trim(),
        kind,
        appUrl,
        description: description.trim(),
      });
      created = { code: res.code, link: joinLink(res.code, res.joinUrl), kind, roomId };
    });
    if (ok) onDone(created);
  };
  return (
    <form className="panel" aria-label="Create join code" onSubmit={(e) => void submit(e)}>
      <RoomInput label="Room" value={room} onChange={setRoom} required />
      <Field label="Role">
        {(id) => (
          <select id={id} required value={chosenRole} onChange={(e) => setRole(e.target.value)}>
            {roles?.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        )}
      </Field>
      {roles?.length === 0 && (
        <p className="note">
          This environment has no roles yet: <a href="#/roles">create one</a> first.
        </p>
      )}
      <Field label="Expires in (hours)">
        {(id) => <input id={id} type="number" required min={0} step="any" value={hours} onChange={(e) => setHours(e.target.value)} />}
      </Field>
      <p className="hint">The server caps it: 30 days for links and 1 day for short codes, unless configured otherwise.</p>
      <Field label="Max uses">
        {(id) => <input id={id} type="number" required min={1} max={10000} step={1} value={maxUses} onChange={(e) => setMaxUses(e.target.value)} />}
      </Field>
      <Field label="Identity">
        {(id) => <input id={id} value={identity} placeholder="Optional: a personal invite" onChange={(e) => setIdentity(e.target.value)} />}
      </Field>
      <fieldset>
        <legend>Kind</legend>
        <label className="check">
          <input type="radio" name="join-code-kind" checked={kind === JoinCodeKind.LINK} onChange={() => setKind(JoinCodeKind.LINK)} />
          Link
        </label>
        <label className="check">
          <input type="radio" name="join-code-kind" checked={kind === JoinCodeKind.SHORT} onChange={() => setKind(JoinCodeKind.SHORT)} />
          Short code
        </label>
      </fieldset>
      <Field label="App URL">
        {(id) => (
          <select id={id} value={appUrl} onChange={(e) => setAppUrl(e.target.value)}>
            <option value="">{appUrls.length ? `Default (${appUrls[0]})` : 'Default (none allowed yet)'}</option>
            {appUrls.map((url) => (
              <option key={url} value={url}>
                {url}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Description">{(id) => <input id={id} maxLength={512} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <div className="row">
        <button type="submit" disabled={busy || !chosenRole}>
          Create
        </button>
        <button type="button" className="secondary" onClick={() => onDone(undefined)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
