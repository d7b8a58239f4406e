import { useState, type FormEvent } from 'react';
import { EmptyRow, Field, Pager } from '../components.js';
import { formatTime } from '../format.js';
import { AuditActorKind, type AuditActor } from '../gen/roomgate/v1/resources_pb.js';
import { useLoad, usePages } from '../hooks.js';
import { useSession } from '../session.js';

/** Who made a call: token name and hint, the peer, or `cli <user>`. */
function actorText(actor: AuditActor | undefined): string {
  if (!actor) return '';
  switch (actor.kind) {
    case AuditActorKind.MANAGEMENT_TOKEN:
      return `${actor.managementTokenName} (${actor.managementTokenHint})`;
    case AuditActorKind.PEER_TOKEN:
      return `peer ${actor.peerId}`;
    case AuditActorKind.CLI:
      return `cli ${actor.osUser}`;
    default:
      return '';
  }
}

interface Filters {
  actorId: string;
  targetId: string;
  method: string;
}

const NO_FILTERS: Filters = { actorId: '', targetId: '', method: '' };

/** The audit log, newest first, filtered by actor, target and method. */
export function AuditPage() {
  const { api } = useSession();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const paging = usePages();
  const { pageToken } = paging;
  const { data } = useLoad((signal) => api.audit.listAuditEvents({ ...filters, pageSize: 50, pageToken }, { signal }), [api, filters, pageToken]);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters({ actorId: draft.actorId.trim(), targetId: draft.targetId.trim(), method: draft.method.trim() });
    paging.reset();
  };
  const input = (key: keyof Filters, label: string, placeholder: string) => (
    <Field label={label}>
      {(id) => <input id={id} value={draft[key]} placeholder={placeholder} onChange={(e) => setDraft({ ...draft, [key]: e.target.value })} />}
    </Field>
  );
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h" tabIndex={-1}>
        Audit log
      </h1>
      <form className="toolbar" aria-label="Audit filters" onSubmit={apply}>
        {input('actorId', 'Actor', 'token id, peer id or OS user')}
        {input('targetId', 'Target', 'resource id')}
        {input('method', 'Method', 'roomgate.v1.RoomService/CreateRoom')}
        <button type="submit">Apply filters</button>
      </form>
      <table aria-label="Audit log">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Method</th>
            <th scope="col">Targets</th>
            <th scope="col">Result</th>
            <th scope="col">Request ID</th>
          </tr>
        </thead>
        <tbody>
          {data?.auditEvents.length === 0 && <EmptyRow columns={6} text="No records match." />}
          {data?.auditEvents.map((a) => (
            <tr key={a.id}>
              <td>{formatTime(a.time)}</td>
              <td>{actorText(a.actor)}</td>
              <td className="mono">{a.method}</td>
              <td className="mono">{a.targets.map((t) => `${t.type} ${t.id}`).join(', ')}</td>
              <td>
                {a.result}
                {a.errorReason ? ` (${a.errorReason})` : ''}
              </td>
              <td className="mono">{a.requestId}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager paging={paging} next={data?.nextPageToken} />
    </section>
  );
}
