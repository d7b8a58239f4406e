import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { EmptyRow, Field, WatchStatus } from '../components.js';
import { enumName } from '../format.js';
import type { Event } from '../gen/roomgate/v1/events_pb.js';
import { PeerStatus, type Peer, type PeerPermissions, type Room } from '../gen/roomgate/v1/resources_pb.js';
import { useAction, useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import { useWatch } from '../watch.js';
import { PeerActions } from './peer-actions.js';

const MAX_PEER_PAGES = 20;

/** Names of the permissions a peer has. */
function permissionList(p: PeerPermissions | undefined): string {
  if (!p) return '';
  const names: [boolean, string][] = [
    [p.canPublish, 'publish'],
    [p.canSubscribe, 'subscribe'],
    [p.canUpdateMetadata, 'update metadata'],
    [p.canUpdateRoom, 'update room'],
    [p.canRemoveParticipants, 'remove participants'],
  ];
  return names.filter(([on]) => on).map(([, n]) => n).join(', ') || 'none';
}

/**
 * Peers as the stream tells: created and changed peers are put in, deleted ones
 * taken out and remembered, so that a list read before a deletion cannot bring
 * the peer back.
 */
function applyPeerEvent(peers: Map<string, Peer>, deleted: Set<string>, event: Event): Map<string, Peer> {
  const p = event.payload;
  const next = new Map(peers);
  switch (p.case) {
    case 'peerCreated':
    case 'peerMetadataUpdated':
    case 'peerConnected':
    case 'peerDisconnected':
      if (!deleted.has(p.value.id)) next.set(p.value.id, p.value);
      return next;
    case 'peerDeleted':
      deleted.add(p.value.id);
      next.delete(p.value.id);
      return next;
    default:
      return peers;
  }
}

/** One room: its settings, and its peers kept live by WatchEvents with room_id. */
export function RoomPage({ roomId }: { roomId: string }) {
  const { api, canWrite } = useSession();
  const [room, setRoom] = useState<Room>();
  const [gone, setGone] = useState(false);
  const [peers, setPeers] = useState(new Map<string, Peer>());
  const [deleted] = useState(() => new Set<string>());
  // Peers the stream reported since the last list read began: a read replaces the rest.
  const [streamed] = useState(() => new Set<string>());

  const onEvent = useCallback(
    (event: Event) => {
      const p = event.payload;
      if (p.case === 'roomUpdated') setRoom(p.value);
      else if (p.case === 'roomDeleted' || p.case === 'roomPurged') setGone(true);
      else {
        if (p.case?.startsWith('peer') && p.value && 'id' in p.value) streamed.add(p.value.id);
        setPeers((current) => applyPeerEvent(current, deleted, event));
      }
    },
    [deleted, streamed],
  );

  // Bumped when the stream's start is fixed (its headers came): the list is read only then.
  const [started, setStarted] = useState(0);
  const onStart = useCallback(() => setStarted((n) => n + 1), []);
  useLoad(
    async (signal) => {
      if (started === 0) return;
      streamed.clear();
      const { room: loaded } = await api.rooms.getRoom({ roomId }, { signal });
      setRoom(loaded);
      const listed: Peer[] = [];
      let pageToken = '';
      for (let i = 0; i < MAX_PEER_PAGES; i++) {
        const page = await api.peers.listPeers({ roomId, pageSize: 100, pageToken }, { signal });
        listed.push(...page.peers);
        pageToken = page.nextPageToken;
        if (!pageToken) break;
      }
      setPeers((current) => {
        const merged = new Map(listed.filter((peer) => !deleted.has(peer.id)).map((peer) => [peer.id, peer]));
        for (const id of streamed) {
          const peer = current.get(id);
          if (peer) merged.set(id, peer);
        }
        return merged;
      });
    },
    [api, roomId, started],
  );
  // The list is read after the server fixed the stream's start, so a peer
  // changed in between is in the list or on the stream (or both: events are
  // applied by peer ID); a stream that lost its place reads the list again.
  const watch = useWatch({ roomId }, onEvent, onStart);
  // A kicked peer leaves at once, and an event or list read still in flight cannot bring it back.
  const onKicked = useCallback(
    (peerId: string) => {
      deleted.add(peerId);
      setPeers((current) => {
        if (!current.has(peerId)) return current;
        const next = new Map(current);
        next.delete(peerId);
        return next;
      });
    },
    [deleted],
  );

  const title = room ? room.name || room.id : roomId;
  const sorted = [...peers.values()].sort((a, b) => Number((a.createTime?.seconds ?? 0n) - (b.createTime?.seconds ?? 0n)));
  return (
    <section aria-labelledby="room-h">
      <p className="crumbs">
        <a href="#/rooms">Rooms</a>
      </p>
      <h1 id="room-h" tabIndex={-1}>
        {title}
      </h1>
      {gone && <p role="status" className="note">This room has been deleted.</p>}
      {room && <RoomSettings room={room} onSaved={setRoom} canWrite={canWrite} />}
      <div className="toolbar">
        <h2>Peers</h2>
        <WatchStatus state={watch} />
      </div>
      <table aria-label="Peers">
        <thead>
          <tr>
            <th scope="col">Peer ID</th>
            <th scope="col">Identity</th>
            <th scope="col">Status</th>
            <th scope="col">Permissions</th>
            <th scope="col">Metadata</th>
            {canWrite && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 && <EmptyRow columns={canWrite ? 6 : 5} text="No peers in this room." />}
          {sorted.map((peer) => (
            <tr key={peer.id}>
              <td className="mono">{peer.id}</td>
              <td>{peer.identity}</td>
              <td>{enumName(PeerStatus, peer.status, '')}</td>
              <td>{permissionList(peer.permissions)}</td>
              <td className="mono pre">{peer.metadata}</td>
              {canWrite && (
                <td>
                  <PeerActions roomId={roomId} peer={peer} onKicked={onKicked} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Metadata and max peers, saved with UpdateRoom. */
function RoomSettings({ room, onSaved, canWrite }: { room: Room; onSaved: (room: Room) => void; canWrite: boolean }) {
  const { api } = useSession();
  const [metadata, setMetadata] = useState(room.metadata);
  const [maxPeers, setMaxPeers] = useState(String(room.maxPeers));
  const [busy, run] = useAction();
  const [saved, setSaved] = useState('');
  // Another operator's change, seen on the stream, shows unless this one is being edited.
  useEffect(() => {
    setMetadata(room.metadata);
    setMaxPeers(String(room.maxPeers));
  }, [room.metadata, room.maxPeers]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved('');
    await run(async () => {
      const { room: updated } = await api.rooms.updateRoom({ roomId: room.id, metadata, maxPeers: Number(maxPeers || 0) });
      if (updated) onSaved(updated);
      setSaved('Saved.');
    });
  };
  return (
    <form className="panel" aria-label="Room settings" onSubmit={(e) => void submit(e)}>
      <dl className="facts">
        <dt>Room ID</dt>
        <dd className="mono">{room.id}</dd>
      </dl>
      <Field label="Room metadata">
        {(id) => <textarea id={id} rows={4} className="mono" readOnly={!canWrite} value={metadata} onChange={(e) => setMetadata(e.target.value)} />}
      </Field>
      <Field label="Max peers">
        {(id) => <input id={id} type="number" min={0} step={1} readOnly={!canWrite} value={maxPeers} onChange={(e) => setMaxPeers(e.target.value)} />}
      </Field>
      {canWrite && (
        <div className="row">
          <button type="submit" disabled={busy}>
            Save room
          </button>
          <span role="status">{saved}</span>
        </div>
      )}
    </form>
  );
}
