import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { EventPayload } from '../domain/events.js';
import type { Environment } from '../domain/principal.js';
import { NOTIFY_CHANNELS } from '../domain/revocation-notice.js';
import { prepared, query } from './pool.js';

/** Hands out the room's next event sequence number; locks the room row until commit. */
export async function nextRoomSeq(client: pg.PoolClient, roomId: string): Promise<string> {
  const { rows } = await query<{ event_seq: string }>(
    client,
    'UPDATE rooms SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq',
    [roomId],
  );
  if (!rows[0]) throw new Error(`room ${roomId} vanished inside its own transaction`);
  return rows[0].event_seq;
}

const APPEND_EVENT = prepared(
  'append_event',
  `WITH e AS (
       INSERT INTO events (id, environment, room_id, room_seq, type, payload)
       VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, position, environment, room_id, room_seq, type
     ), d AS (
       -- An environment-wide event (no room) reaches only endpoints without a
       -- room filter; its deliveries are ordered by its position instead.
       INSERT INTO webhook_deliveries (event_id, endpoint_id, room_id, room_seq)
       SELECT e.id, w.id, e.room_id, COALESCE(e.room_seq, e.position)
       FROM e JOIN webhook_endpoints w
         ON w.environment = e.environment AND w.enabled
        AND (w.room_id IS NULL OR w.room_id = e.room_id)
        AND (cardinality(w.event_types) = 0 OR e.type = ANY (w.event_types))
       -- An endpoint deleted meanwhile would fail the deliveries' foreign key.
       FOR KEY SHARE OF w
     )
     SELECT pg_notify($7, $2)`,
);

/** An event of the whole environment: no room, no room sequence (an environment-wide ban's). */
export interface EnvironmentEvent {
  environment: Environment;
  roomId: null;
  roomSeq: null;
  payload: EventPayload;
}

/**
 * Writes an event into the outbox inside the caller's transaction, together
 * with one pending delivery per enabled webhook endpoint whose filter matches:
 * a change commits with its event and its deliveries, or not at all.
 */
export async function appendEvent(
  client: pg.PoolClient,
  event: { environment: Environment; roomId: string; roomSeq: string; payload: EventPayload } | EnvironmentEvent,
): Promise<string> {
  const id = randomUUID();
  // One statement: the event, its deliveries, and the wake-up, which Postgres
  // delivers on commit only, like the event itself.
  await query(
    client,
    APPEND_EVENT,
    [id, event.environment, event.roomId, event.roomSeq, event.payload.type, JSON.stringify(event.payload), NOTIFY_CHANNELS.events],
  );
  return id;
}

/** One event of {@link appendEvents}: in a room, at the room sequence the caller took for it. */
export interface RoomEventRow {
  roomId: string;
  roomSeq: string;
  payload: EventPayload;
}

/**
 * {@link appendEvent} for many events of one environment in one statement
 * (UpdateRole's superseded peers): the events in the order given, which is
 * their stream order, with the same deliveries and one wake-up.
 */
export async function appendEvents(client: pg.PoolClient, environment: Environment, events: readonly RoomEventRow[]): Promise<void> {
  if (events.length === 0) return;
  await query(
    client,
    `WITH e AS (
         INSERT INTO events (id, environment, room_id, room_seq, type, payload)
         SELECT u.id, $1, u.room_id, u.room_seq, u.type, u.payload
         FROM unnest($2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::jsonb[]) WITH ORDINALITY
           AS u (id, room_id, room_seq, type, payload, ord)
         -- Positions are taken in this order: the room's sequence order.
         ORDER BY u.ord
         RETURNING id, position, environment, room_id, room_seq, type
       ), d AS (
         INSERT INTO webhook_deliveries (event_id, endpoint_id, room_id, room_seq)
         SELECT e.id, w.id, e.room_id, e.room_seq
         FROM e JOIN webhook_endpoints w
           ON w.environment = e.environment AND w.enabled
          AND (w.room_id IS NULL OR w.room_id = e.room_id)
          AND (cardinality(w.event_types) = 0 OR e.type = ANY (w.event_types))
         FOR KEY SHARE OF w
       )
       SELECT pg_notify($7, $1)`,
    [
      environment,
      events.map(() => randomUUID()),
      events.map((e) => e.roomId),
      events.map((e) => e.roomSeq),
      events.map((e) => e.payload.type),
      events.map((e) => JSON.stringify(e.payload)),
      NOTIFY_CHANNELS.events,
    ],
  );
}
