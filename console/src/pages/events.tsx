import { useCallback, useState } from 'react';
import { EmptyRow, Field, WatchStatus } from '../components.js';
import { EVENT_TYPES, eventTypeName, formatTime } from '../format.js';
import type { Event, EventType } from '../gen/roomgate/v1/events_pb.js';
import { useDebounced } from '../hooks.js';
import { useWatch } from '../watch.js';

const KEEP = 200;

/** A line about an event's payload. */
export function summary(event: Event): string {
  const p = event.payload;
  switch (p.case) {
    case 'roomCreated':
    case 'roomUpdated':
    case 'roomDeleted':
    case 'roomPurged':
      return `room ${p.value.name || p.value.id}, ${p.value.peerCount} peers`;
    case 'peerCreated':
    case 'peerDeleted':
    case 'peerMetadataUpdated':
    case 'peerConnected':
    case 'peerDisconnected':
      return `peer ${p.value.id} (${p.value.identity})`;
    case 'peerTokenRevoked':
      return `peer ${p.value.peerId} (${p.value.identity}), generation ${p.value.generation}`;
    case 'banCreated':
    case 'banLifted':
    case 'banExpired':
      return `identity ${p.value.identity}${p.value.reason ? `: ${p.value.reason}` : ''}`;
    case 'webhookTest':
      return `test of endpoint ${p.value.endpointId}`;
    default:
      return '';
  }
}

/** The live tail of WatchEvents from now, newest first, filtered by type and room. */
export function EventsPage() {
  const [type, setType] = useState('');
  const [room, setRoom] = useState('');
  const roomId = useDebounced(room.trim(), 400);
  const [paused, setPaused] = useState(false);
  const [events, setEvents] = useState<Event[]>([]);
  const onEvent = useCallback((event: Event) => setEvents((list) => (list.some((e) => e.id === event.id) ? list : [event, ...list].slice(0, KEEP))), []);
  const types = type ? [Number(type) as EventType] : [];
  const watch = useWatch({ roomId, types, enabled: !paused }, onEvent);
  return (
    <section aria-labelledby="events-h">
      <h1 id="events-h" tabIndex={-1}>
        Events
      </h1>
      <div className="toolbar">
        <Field label="Event type">
          {(id) => (
            <select id={id} value={type} onChange={(e) => { setType(e.target.value); setEvents([]); }}>
              <option value="">All</option>
              {EVENT_TYPES.map((t) => (
                <option key={t} value={String(t)}>
                  {eventTypeName(t)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Room ID">{(id) => <input id={id} value={room} onChange={(e) => { setRoom(e.target.value); setEvents([]); }} />}</Field>
        <button type="button" onClick={() => setPaused((p) => !p)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <WatchStatus state={watch} />
      </div>
      <table aria-label="Events">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Type</th>
            <th scope="col">Room</th>
            <th scope="col">Summary</th>
          </tr>
        </thead>
        <tbody>
          {events.length === 0 && <EmptyRow columns={4} text="Waiting for events…" />}
          {events.map((e) => (
            <tr key={e.id}>
              <td>{formatTime(e.createTime)}</td>
              <td>{eventTypeName(e.type)}</td>
              <td className="mono">{e.roomId}</td>
              <td>{summary(e)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
