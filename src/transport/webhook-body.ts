import type { RoomEvent } from '../domain/events.js';
import { Event } from '../gen/roomgate/v1/events.js';
import { toWireEvent } from './event-mapper.js';

/**
 * The body of a webhook: the event in proto JSON, the same shape WatchEvents
 * streams. Deterministic, so every attempt of a series sends the same bytes.
 */
export function webhookBody(event: RoomEvent): Buffer {
  return Buffer.from(JSON.stringify(Event.toJSON(toWireEvent(event))), 'utf8');
}
