import type { EventPosition } from '../event-cursor.js';
import type { EventType, RoomEvent } from '../events.js';
import type { Environment } from '../principal.js';

/** Which events a reader wants; unset fields match everything. */
export interface EventFilter {
  roomId?: string;
  types?: readonly EventType[];
}

/** One read of the stream. */
export interface EventBatch {
  /** The rows read that match the filter, in stream order, each with its cursor. */
  events: RoomEvent[];
  /** How many rows were read, matching or not. */
  scanned: number;
  /** The last row read, matching or not; null when none was. The next read starts after it. */
  last: EventPosition | null;
  /** The database's time of the read. */
  readAt: Date;
}

/**
 * The outbox read as one ordered stream per environment. The order is
 * (txid, position): the writing transaction's id, then the row's position in
 * it. Reads return only events of transactions below the oldest one still
 * running, so no event can ever commit behind a position already read: a
 * long transaction delays the stream but never opens a gap in it.
 */
export interface EventStreamStore {
  /** Up to `limit` rows after `after` (from the start when null), of which those matching `filter` are returned. */
  readAfter(environment: Environment, after: EventPosition | null, limit: number, filter: EventFilter): Promise<EventBatch>;
  /** Where a watch without a cursor starts: after every event a read now could return, before every event of a transaction still running. */
  head(): Promise<EventPosition>;
}
