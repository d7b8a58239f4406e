// An in-memory EventStreamStore for unit tests, over MemoryOutbox (see there
// for how tests are isolated and how transactions are modelled). It follows
// src/store/event-store.ts: one stream per environment in (txid, position)
// order, rows of transactions at or above the oldest one still running are
// not read yet, and rows outside the filter are read (and counted) but not
// returned, so the reader can move past them.
import type { EventPosition } from '../../../src/domain/event-cursor.js';
import type { Environment } from '../../../src/domain/principal.js';
import type { EventBatch, EventFilter, EventStreamStore } from '../../../src/domain/ports/index.js';
import { MemoryOutbox, toRoomEvent, type EventRow } from './memory-outbox.js';

/** {@link EventStreamStore} in memory. */
export class MemoryEventStore implements EventStreamStore {
  /** How many readAfter calls reached the store. */
  reads = 0;

  constructor(readonly outbox: MemoryOutbox = new MemoryOutbox()) {}

  async readAfter(environment: Environment, after: EventPosition | null, limit: number, filter: EventFilter): Promise<EventBatch> {
    this.reads += 1;
    const from = after ?? { txid: '0', position: '0' };
    const xmin = this.outbox.xmin();
    const scanned = this.outbox.events
      .filter((e) => e.environment === environment && comparePositions(e, from) > 0 && BigInt(e.txid) < xmin)
      .sort(comparePositions)
      .slice(0, limit);
    const last = scanned[scanned.length - 1];
    return {
      events: scanned.filter((e) => matches(e, filter)).map(toRoomEvent),
      scanned: scanned.length,
      last: last ? { txid: last.txid, position: last.position } : null,
      readAt: new Date(),
    };
  }

  async head(): Promise<EventPosition> {
    // Position 0 comes before every row of the xmin transaction itself.
    return { txid: this.outbox.xmin().toString(), position: '0' };
  }
}

/** Orders stream positions as Postgres orders the row (txid, position). */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  const [x, y] = [BigInt(a.txid), BigInt(b.txid)];
  if (x !== y) return x < y ? -1 : 1;
  const [p, q] = [BigInt(a.position), BigInt(b.position)];
  return p < q ? -1 : p > q ? 1 : 0;
}

function matches(e: EventRow, filter: EventFilter): boolean {
  const inRoom = filter.roomId === undefined || e.roomId === filter.roomId;
  return inRoom && (filter.types === undefined || filter.types.includes(e.payload.type));
}
