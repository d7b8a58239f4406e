import { EmptyRow, Pager } from '../components.js';
import { formatTime } from '../format.js';
import type { Ban } from '../gen/roomgate/v1/resources_pb.js';
import { useAction, useLoad, usePages } from '../hooks.js';
import { useSession } from '../session.js';

/** Active bans, and lifting one. */
export function BansPage() {
  const { api } = useSession();
  const paging = usePages();
  const { pageToken } = paging;
  const { data, reload } = useLoad((signal) => api.bans.listBans({ pageSize: 50, pageToken }, { signal }), [api, pageToken]);
  return (
    <section aria-labelledby="bans-h">
      <h1 id="bans-h" tabIndex={-1}>
        Bans
      </h1>
      <table aria-label="Bans">
        <thead>
          <tr>
            <th scope="col">Identity</th>
            <th scope="col">Room</th>
            <th scope="col">Reason</th>
            <th scope="col">Expires</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {data?.bans.length === 0 && <EmptyRow columns={5} text="No active bans." />}
          {data?.bans.map((ban) => <BanRow key={ban.id} ban={ban} onLifted={reload} />)}
        </tbody>
      </table>
      <Pager paging={paging} next={data?.nextPageToken} />
    </section>
  );
}

/** One ban; Lift ban deletes it at once (no dialog: a ban can be made again). */
function BanRow({ ban, onLifted }: { ban: Ban; onLifted: () => void }) {
  const { api, canWrite } = useSession();
  const [busy, run] = useAction();
  const lift = () => void run(() => api.bans.deleteBan({ banId: ban.id })).then((ok) => ok && onLifted());
  return (
    <tr>
      <td>{ban.identity}</td>
      <td className="mono">{ban.roomId ? <a href={`#/rooms/${encodeURIComponent(ban.roomId)}`}>{ban.roomId}</a> : 'Every room'}</td>
      <td>{ban.reason}</td>
      <td>{ban.expireTime ? formatTime(ban.expireTime) : 'When lifted'}</td>
      <td>
        {canWrite ? (
          <button type="button" disabled={busy} onClick={lift}>
            Lift ban
          </button>
        ) : (
          '—'
        )}
      </td>
    </tr>
  );
}
