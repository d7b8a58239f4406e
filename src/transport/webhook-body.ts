import type { EventCursors } from '../domain/event-cursor.js';
import type { RoomEvent } from '../domain/events.js';
import { Event } from '../gen/roomgate/v1/events.js';
import { toWireEvent } from './event-mapper.js';

/**
 * The body builder of webhooks: the event in proto JSON, the same shape
 * WatchEvents streams. The delivery queue reads the plain stream position;
 * receivers get the sealed cursor, the same one WatchEvents gives for the
 * event, so they can resume a watch from the last webhook they handled.
 * Deterministic, so every attempt of a series sends the same bytes.
 */
export function webhookBody(cursors: EventCursors): (event: RoomEvent) => Buffer {
  return (event) => {
    const sealed = { ...event, cursor: cursors.sealPlain(event.environment, event.cursor) };
    return Buffer.from(JSON.stringify(Event.toJSON(toWireEvent(sealed))), 'utf8');
  };
}
