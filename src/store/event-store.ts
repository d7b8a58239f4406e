import type pg from 'pg';
import { encodeEventCursor, type EventPosition } from '../domain/event-cursor.js';
import type { EventBatch, EventFilter, EventStreamStore } from '../domain/ports/index.js';
import { reviveEventPayload, type RoomEvent } from '../domain/events.js';
import type { Environment } from '../domain/principal.js';
import { query } from './pool.js';

/** An events row as pg returns it, with txid as text. */
export interface EventRow {
  id: string;
  txid: string;
  position: string;
  environment: Environment;
  /** NULL for an event of the whole environment, as room_seq. */
  room_id: string | null;
  room_seq: string | null;
  payload: unknown;
  created_at: Date;
}

/** Maps an events row (txid selected as text), with its cursor. */
export function toRoomEvent(r: EventRow): RoomEvent {
  return {
    id: r.id,
    environment: r.environment,
    roomId: r.room_id,
    sequence: r.room_seq,
    createdAt: r.created_at,
    cursor: encodeEventCursor(r.txid, r.position),
    payload: reviveEventPayload(r.payload),
  };
}

// The txid < xmin condition is what makes the stream gap-free: every
// transaction below the snapshot's xmin has ended, so no row can later commit
// at a (txid, position) before one returned here. pg_current_snapshot() is the
// statement's own snapshot, the one that decides which rows are visible.
// Rows outside the filter are read too (without their payload) so the reader
// can move past them. A room filter never takes an environment-wide event
// (room_id NULL): wanted is then NULL, which the reader counts as false.
// A test webhook event (SendTestWebhookEvent) is never wanted: the reader
// moves past it like any row outside the filter, so cursors stay gap-free
// and no watcher ever gets it (see webhook-test-event.ts).
const READ_AFTER = `
SELECT id, txid::text AS txid, position, environment, room_id, room_seq, created_at,
  CASE WHEN wanted THEN payload END AS payload, wanted
FROM (
  SELECT e.*, e.type <> 'webhook_test' AND ($4::uuid IS NULL OR e.room_id = $4::uuid) AND ($5::text[] IS NULL OR e.type = ANY ($5::text[])) AS wanted
  FROM events e
  WHERE e.environment = $1
    AND (e.txid, e.position) > ($2::xid8, $3::bigint)
    AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY e.txid, e.position
  LIMIT $6
) s
ORDER BY s.txid, s.position`;

// READ_AFTER with the database's time of the read, which comes back even when
// no row does: WatchEvents heartbeats say when a stream was last caught up.
// The statement's time is when its snapshot was taken.
// held_back: a transaction was running when the read's snapshot was taken, so
// events that committed before the read may still be below its horizon.
const READ_AFTER_TIMED = `
SELECT t.read_at, t.held_back, s.* FROM (
  SELECT statement_timestamp() AS read_at,
    pg_snapshot_xmin(pg_current_snapshot()) < pg_snapshot_xmax(pg_current_snapshot()) AS held_back
) t
LEFT JOIN LATERAL (${READ_AFTER}) s ON true
ORDER BY s.txid::xid8, s.position`;

/** {@link EventStreamStore} on the Postgres outbox. */
export class PgEventStore implements EventStreamStore {
  constructor(private readonly pool: pg.Pool) {}

  async readAfter(
    environment: Environment,
    after: EventPosition | null,
    limit: number,
    filter: EventFilter,
  ): Promise<EventBatch> {
    const { rows: timed } = await query<EventRow & { wanted: boolean; read_at: Date; held_back: boolean }>(this.pool, READ_AFTER_TIMED, [
      environment,
      after?.txid ?? '0',
      after?.position ?? '0',
      filter.roomId ?? null,
      filter.types ?? null,
      limit,
    ]);
    const rows = timed.filter((r) => r.id !== null);
    const last = rows[rows.length - 1];
    return {
      readAt: (timed[0] as { read_at: Date }).read_at,
      heldBack: (timed[0] as { held_back: boolean }).held_back,
      events: rows.filter((r) => r.wanted).map(toRoomEvent),
      scanned: rows.length,
      last: last ? { txid: last.txid, position: last.position } : null,
    };
  }

  async head(): Promise<EventPosition> {
    // Position 0 comes before every row of the xmin transaction itself, which has not ended.
    const { rows } = await query<{ xmin: string }>(this.pool, 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
    return { txid: (rows[0] as { xmin: string }).xmin, position: '0' };
  }
}
