import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Dialog, EmptyRow, Pager, useDialogAlerts, WatchStatus } from '../components.js';
import { formatTime } from '../format.js';
import { EventType } from '../gen/roomgate/v1/events_pb.js';
import { JoinCodeKind, type JoinCode } from '../gen/roomgate/v1/resources_pb.js';
import { useAction, useLoad, usePages } from '../hooks.js';
import { useSession } from '../session.js';
import { useWatch } from '../watch.js';
import { CreateJoinCode, type CreatedCode } from './join-codes-create.js';
import { resolveRoomId, RoomInput } from './join-codes-room.js';
import { AppUrls } from './join-codes-settings.js';
import { ShownCode } from './join-codes-shown.js';

const PAGE_SIZE = 50;
const REDEEMED = [EventType.JOIN_CODE_REDEEMED];

/** Revoked, Used up, Expired or Active, in that order of precedence. */
function status(code: JoinCode, now: number): 'Active' | 'Expired' | 'Revoked' | 'Used up' {
  if (code.revoked) return 'Revoked';
  if (code.useCount >= code.maxUses) return 'Used up';
  if (code.expireTime && timestampDate(code.expireTime).getTime() <= now) return 'Expired';
  return 'Active';
}

/** Date.now(), renewed every `ms` so that statuses turn Expired without a reload. */
function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/**
 * Join codes: create one (shown once, with its link, Copy and a QR code), see
 * their uses kept current from WatchEvents JOIN_CODE_REDEEMED, revoke; and
 * the environment's allowed app URLs.
 */
export function JoinCodesPage() {
  const { api, canWrite } = useSession();
  const paging = usePages();
  const { pageToken } = paging;
  const [filter, setFilter] = useState('');
  const [roomId, setRoomId] = useState('');
  // As on the rooms page: the list is read once the stream's start is fixed, so no redemption falls between.
  const [started, setStarted] = useState(0);
  const onStart = useCallback(() => setStarted((n) => n + 1), []);
  const { data, reload } = useLoad(
    async (signal) => (started === 0 ? undefined : api.joinCodes.listJoinCodes({ pageSize: PAGE_SIZE, pageToken, roomId }, { signal })),
    [api, pageToken, roomId, started],
  );
  // Each redemption re-reads this page (batched over a short wait), so use counts come from the server.
  const pending = useRef<ReturnType<typeof setTimeout>>(undefined);
  const onEvent = useCallback(() => {
    clearTimeout(pending.current);
    pending.current = setTimeout(reload, 250);
  }, [reload]);
  useEffect(() => () => clearTimeout(pending.current), []);
  const watch = useWatch({ types: REDEEMED }, onEvent, onStart);
  const settings = useLoad((signal) => api.joinCodes.getJoinSettings({}, { signal }), [api]);
  const appUrls = settings.data?.settings?.appUrls;
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedCode>();
  const [revoking, setRevoking] = useState<JoinCode>();
  const [busy, run] = useAction();
  const now = useNow(30_000);

  const applyFilter = async (e: FormEvent) => {
    e.preventDefault();
    await run(async () => {
      setRoomId(await resolveRoomId(api, filter));
      paging.reset();
    });
  };
  const columns = canWrite ? 9 : 8;
  return (
    <section aria-labelledby="join-codes-h">
      <h1 id="join-codes-h" tabIndex={-1}>
        Join codes
      </h1>
      <p className="hint">A join code lets whoever holds it join one room with one role, without a backend: at the join page, or with RedeemJoinCode.</p>
      <div className="toolbar">
        {canWrite && !creating && (
          <button type="button" onClick={() => { setCreated(undefined); setCreating(true); }}>
            Create join code
          </button>
        )}
        <WatchStatus state={watch} />
      </div>
      {canWrite && creating && (
        <CreateJoinCode
          appUrls={appUrls ?? []}
          onDone={(code) => {
            setCreating(false);
            if (code) {
              setCreated(code);
              reload();
            }
          }}
        />
      )}
      {created && <ShownCode created={created} onDone={() => setCreated(undefined)} />}
      <form className="toolbar" aria-label="Filter join codes" onSubmit={(e) => void applyFilter(e)}>
        <RoomInput label="Filter by room" value={filter} onChange={setFilter} />
        <button type="submit" className="secondary" disabled={busy}>
          Apply filter
        </button>
      </form>
      <table aria-label="Join codes">
        <thead>
          <tr>
            <th scope="col">Room</th>
            <th scope="col">Role</th>
            <th scope="col">Kind</th>
            <th scope="col">Hint</th>
            <th scope="col">Uses</th>
            <th scope="col">Expires</th>
            <th scope="col">Status</th>
            <th scope="col">Description</th>
            {canWrite && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {data?.joinCodes.length === 0 && <EmptyRow columns={columns} text={roomId ? 'No join codes for this room.' : 'No join codes yet.'} />}
          {data?.joinCodes.map((code) => (
            <tr key={code.id}>
              <td className="mono">
                <a href={`#/rooms/${encodeURIComponent(code.roomId)}`}>{code.roomId}</a>
              </td>
              <td className="mono">{code.role}</td>
              <td>{code.kind === JoinCodeKind.SHORT ? 'Short code' : 'Link'}</td>
              <td className="mono">{code.codeHint}</td>
              <td className="num">{`${code.useCount} / ${code.maxUses}`}</td>
              <td>{formatTime(code.expireTime)}</td>
              <td>{status(code, now)}</td>
              <td>
                {code.description}
                {code.identity && <span className="hint"> (for {code.identity})</span>}
              </td>
              {canWrite && (
                <td>
                  {status(code, now) === 'Active' && (
                    <button type="button" className="danger" onClick={() => setRevoking(code)}>
                      Revoke
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager paging={paging} next={data?.nextPageToken} />
      <AppUrls appUrls={appUrls} onSaved={settings.reload} />
      {revoking && <RevokeDialog code={revoking} onClose={(done) => { setRevoking(undefined); if (done) reload(); }} />}
    </section>
  );
}

/** Confirms RevokeJoinCode: the code stops working at once; peers made with it stay. */
function RevokeDialog({ code, onClose }: { code: JoinCode; onClose: (done: boolean) => void }) {
  const { api } = useSession();
  const [report, alerts] = useDialogAlerts();
  const [busy, run] = useAction(report);
  const revoke = async () => {
    if (await run(() => api.joinCodes.revokeJoinCode({ id: code.id }))) onClose(true);
  };
  return (
    <Dialog title="Revoke join code" onCancel={() => onClose(false)}>
      {alerts}
      <p>
        Revoke the code ending <span className="mono">{code.codeHint}</span> for room <span className="mono">{code.roomId}</span>? It stops working at
        once; peers already made with it stay.
      </p>
      <div className="row">
        <button type="button" className="danger" disabled={busy} onClick={() => void revoke()}>
          Revoke join code
        </button>
        <button type="button" className="secondary" onClick={() => onClose(false)}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
