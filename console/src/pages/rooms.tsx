import { useCallback, useRef, useState, type FormEvent } from 'react';
import { EmptyRow, Field, Pager, WatchStatus } from '../components.js';
import { formatTime } from '../format.js';
import { EventType } from '../gen/roomgate/v1/events_pb.js';
import type { Room } from '../gen/roomgate/v1/resources_pb.js';
import { useAction, useDebounced, useLoad, usePages } from '../hooks.js';
import { useSession } from '../session.js';
import { useWatch } from '../watch.js';

const PAGE_SIZE = 25;
const ROOM_EVENTS = [
  EventType.ROOM_CREATED,
  EventType.ROOM_UPDATED,
  EventType.ROOM_DELETED,
  EventType.ROOM_PURGED,
  EventType.PEER_CREATED,
  EventType.PEER_DELETED,
];

/** Rooms, paged and filtered by name, with peer counts kept live by WatchEvents. */
export function RoomsPage() {
  const { api, canWrite } = useSession();
  const [filter, setFilter] = useState('');
  const nameFilter = useDebounced(filter.trim(), 300);
  // Page tokens of the pages before this one, to go back.
  const paging = usePages();
  const { pageToken } = paging;
  // Bumped when the stream's start is fixed (its headers came): the list is read only then, so no change falls between.
  const [started, setStarted] = useState(0);
  const onStart = useCallback(() => setStarted((n) => n + 1), []);
  const { data, reload } = useLoad(
    async (signal) => (started === 0 ? undefined : api.rooms.listRooms({ pageSize: PAGE_SIZE, pageToken, nameFilter }, { signal })),
    [api, pageToken, nameFilter, started],
  );
  // Any room or peer change re-reads this page, so counts come from the server, batched over a short wait.
  const pending = useRef<ReturnType<typeof setTimeout>>(undefined);
  const onEvent = useCallback(() => {
    clearTimeout(pending.current);
    pending.current = setTimeout(reload, 250);
  }, [reload]);
  const watch = useWatch({ types: ROOM_EVENTS }, onEvent, onStart);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState('');

  const changeFilter = (value: string) => {
    setFilter(value);
    paging.reset();
  };
  return (
    <section aria-labelledby="rooms-h">
      <h1 id="rooms-h" tabIndex={-1}>
        Rooms
      </h1>
      <div className="toolbar">
        <Field label="Filter by name">
          {(id) => <input id={id} type="search" value={filter} onChange={(e) => changeFilter(e.target.value)} />}
        </Field>
        {canWrite && !creating && (
          <button type="button" onClick={() => { setCreated(''); setCreating(true); }}>
            Create room
          </button>
        )}
        <WatchStatus state={watch} />
      </div>
      {canWrite && creating && (
        <CreateRoom
          onDone={(room) => {
            setCreating(false);
            if (room) {
              setCreated(`Created room ${room.name || room.id}.`);
              reload();
            }
          }}
        />
      )}
      <p role="status" className="hint">
        {created}
      </p>
      <table aria-label="Rooms">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Room ID</th>
            <th scope="col">Peers</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {data?.rooms.length === 0 && <EmptyRow columns={4} text={nameFilter ? 'No room matches the filter.' : 'No rooms yet.'} />}
          {data?.rooms.map((room) => (
            <tr key={room.id}>
              <td>
                <a href={`#/rooms/${encodeURIComponent(room.id)}`}>{room.name || room.id}</a>
              </td>
              <td className="mono">{room.id}</td>
              <td className="num">
                {room.peerCount}
                {room.maxPeers ? ` / ${room.maxPeers}` : ''}
              </td>
              <td>{formatTime(room.createTime)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager paging={paging} next={data?.nextPageToken} />
    </section>
  );
}

/** The create-room form. */
function CreateRoom({ onDone }: { onDone: (room: Room | undefined) => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [maxPeers, setMaxPeers] = useState('');
  const [busy, run] = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let room: Room | undefined;
    const ok = await run(async () => {
      ({ room } = await api.rooms.createRoom({ name: name.trim(), maxPeers: Number(maxPeers || 0) }));
    });
    if (ok) onDone(room);
  };
  return (
    <form className="panel" aria-label="Create room" onSubmit={(e) => void submit(e)}>
      <Field label="Room name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} />}</Field>
      <Field label="Max peers">
        {(id) => <input id={id} type="number" min={0} step={1} value={maxPeers} placeholder="0 = no limit" onChange={(e) => setMaxPeers(e.target.value)} />}
      </Field>
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
