// The rows the in-memory event, webhook endpoint and delivery fakes share: the
// events outbox, webhook_endpoints and webhook_deliveries of one Postgres
// database, for unit tests. Isolation: every test builds its own MemoryOutbox
// (nothing here is module-level), so tests never see each other's rows.
// Transactions are modelled only as far as the stream's ordering needs them:
// an event gets its transaction's txid, and neither it nor its deliveries are
// visible until that transaction commits; a rollback leaves nothing behind.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../../src/domain/clock.js';
import { encodeEventCursor, type EventPosition } from '../../../src/domain/event-cursor.js';
import type { EventPayload, RoomEvent } from '../../../src/domain/events.js';
import type { Environment } from '../../../src/domain/principal.js';
import type { DeliveryState, WebhookDeliveryRecord, WebhookEndpointRecord } from '../../../src/domain/webhook-records.js';

/** One events row. */
export interface EventRow extends EventPosition {
  id: string;
  environment: Environment;
  roomId: string;
  roomSeq: string;
  payload: EventPayload;
  createdAt: Date;
}

/** One webhook_endpoints row, secrets included. */
export interface EndpointRow extends WebhookEndpointRecord {
  secretEncrypted: Buffer;
  previousSecretEncrypted: Buffer | null;
}

/** One webhook_deliveries row. */
export interface DeliveryRow {
  eventId: string;
  endpointId: string;
  roomId: string;
  roomSeq: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  lastStatusCode: number;
  lastError: string;
  createdAt: Date;
}

/** What {@link MemoryOutbox.append} writes; the id, txid, position and room sequence are handed out. */
export interface NewEvent {
  environment: Environment;
  roomId: string;
  payload: EventPayload;
}

/** A transaction that is still running: its events and deliveries are not visible yet. */
export interface MemoryTransaction {
  readonly txid: string;
  /** Writes an event inside this transaction (see {@link MemoryOutbox.append}). */
  append(event: NewEvent): RoomEvent;
  commit(): void;
  rollback(): void;
}

/** last_error of deliveries given up because their endpoint was disabled. */
export const ENDPOINT_DISABLED = 'endpoint disabled';

/** The shared tables, with the database's clock, transaction ids and identity sequences. */
export class MemoryOutbox {
  /** Committed events, in insertion order. */
  readonly events: EventRow[] = [];
  readonly endpoints = new Map<string, EndpointRow>();
  /** Committed deliveries, by {@link deliveryKey}. */
  readonly deliveries = new Map<string, DeliveryRow>();
  private readonly running = new Map<bigint, { events: EventRow[]; deliveries: DeliveryRow[]; seqs: Map<string, bigint> }>();
  private readonly roomSeqs = new Map<string, bigint>();
  private nextTxid = 1000n;
  private lastPosition = 0n;
  private lastEndpointSeq = 0n;

  /** `clock` plays the database's now(). */
  constructor(readonly clock: Clock = systemClock) {}

  /**
   * Writes an event in a transaction of its own, with one pending delivery per
   * enabled endpoint of its environment whose room and type filters match, as
   * src/store/outbox.ts's appendEvent does. Returns the event as read back.
   */
  append(event: NewEvent): RoomEvent {
    const tx = this.begin();
    try {
      const written = tx.append(event);
      tx.commit();
      return written;
    } catch (err) {
      tx.rollback();
      throw err;
    }
  }

  /** Starts a transaction; until it ends, the stream stops before its txid. */
  begin(): MemoryTransaction {
    const txid = this.nextTxid++;
    const own = { events: [] as EventRow[], deliveries: [] as DeliveryRow[], seqs: new Map<string, bigint>() };
    this.running.set(txid, own);
    const ensureRunning = () => {
      if (!this.running.has(txid)) throw new Error(`transaction ${txid} has already ended`);
    };
    return {
      txid: txid.toString(),
      append: (event) => {
        ensureRunning();
        const row = this.write(txid, own.seqs, event);
        own.events.push(row);
        own.deliveries.push(...this.fanOut(row));
        return toRoomEvent(row);
      },
      commit: () => {
        ensureRunning();
        this.running.delete(txid);
        this.events.push(...own.events);
        for (const d of own.deliveries) this.deliveries.set(deliveryKey(d.eventId, d.endpointId), d);
      },
      rollback: () => {
        ensureRunning();
        this.running.delete(txid);
        for (const [roomId, before] of own.seqs) this.roomSeqs.set(roomId, before);
      },
    };
  }

  /** pg_snapshot_xmin: the oldest transaction still running, or the next one when none is. */
  xmin(): bigint {
    let min = this.nextTxid;
    for (const txid of this.running.keys()) if (txid < min) min = txid;
    return min;
  }

  /** Whether a transaction is running (pg_snapshot_xmin < pg_snapshot_xmax). */
  hasRunning(): boolean {
    return this.running.size > 0;
  }

  /** The committed event, if it is in `environment`. */
  event(environment: Environment, eventId: string): EventRow | undefined {
    const event = this.events.find((e) => e.id === eventId);
    return event?.environment === environment ? event : undefined;
  }

  /** The endpoint, if it is in `environment`. */
  endpoint(environment: Environment, id: string): EndpointRow | undefined {
    const endpoint = this.endpoints.get(id);
    return endpoint?.environment === environment ? endpoint : undefined;
  }

  /** The next webhook_endpoints.seq. */
  nextEndpointSeq(): string {
    this.lastEndpointSeq += 1n;
    return this.lastEndpointSeq.toString();
  }

  /** Gives up the endpoint's pending deliveries with `reason` (the real store's failPending). */
  failPending(endpointId: string, reason: string): void {
    for (const d of this.deliveries.values()) {
      if (d.endpointId === endpointId && d.state === 'pending') Object.assign(d, { state: 'failed', lastError: reason });
    }
  }

  /** The delivery as WebhookEndpointStore returns it. */
  deliveryRecord(d: DeliveryRow): WebhookDeliveryRecord {
    const event = this.events.find((e) => e.id === d.eventId) as EventRow;
    return {
      eventId: d.eventId,
      endpointId: d.endpointId,
      eventType: event.payload.type,
      state: d.state,
      attempts: d.attempts,
      lastStatusCode: d.lastStatusCode,
      lastError: d.lastError,
      lastAttemptAt: d.lastAttemptAt && new Date(d.lastAttemptAt),
      nextAttemptAt: new Date(d.nextAttemptAt),
      createdAt: new Date(d.createdAt),
      position: deliveryPosition(d),
    };
  }

  private write(txid: bigint, seqs: Map<string, bigint>, event: NewEvent): EventRow {
    // The real nextRoomSeq locks the room row until commit; a fake cannot wait.
    for (const [other, tx] of this.running) {
      if (other !== txid && tx.seqs.has(event.roomId)) {
        throw new Error(`room ${event.roomId} is locked by transaction ${other}, which is still running`);
      }
    }
    const before = this.roomSeqs.get(event.roomId) ?? 0n;
    if (!seqs.has(event.roomId)) seqs.set(event.roomId, before);
    this.roomSeqs.set(event.roomId, before + 1n);
    this.lastPosition += 1n;
    return {
      id: randomUUID(),
      txid: txid.toString(),
      position: this.lastPosition.toString(),
      environment: event.environment,
      roomId: event.roomId,
      roomSeq: (before + 1n).toString(),
      payload: structuredClone(event.payload),
      createdAt: this.clock.now(),
    };
  }

  private fanOut(event: EventRow): DeliveryRow[] {
    return [...this.endpoints.values()]
      .filter(
        (w) =>
          w.environment === event.environment && w.enabled && wants(w, event),
      )
      .map((w) => newDelivery(event, w.id, this.clock.now()));
  }
}

/** Whether the endpoint's filter (room_id, event_types) takes the event, as the outbox's fan-out and RedeliverEvent judge it. */
export function wants(w: EndpointRow, event: EventRow): boolean {
  return (w.roomId === null || w.roomId === event.roomId) && (w.eventTypes.length === 0 || w.eventTypes.includes(event.payload.type));
}

/** A fresh pending delivery of `event` to `endpointId`, as the column defaults make it. */
export function newDelivery(event: EventRow, endpointId: string, now: Date): DeliveryRow {
  return {
    eventId: event.id,
    endpointId,
    roomId: event.roomId,
    roomSeq: event.roomSeq,
    state: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lastAttemptAt: null,
    lastStatusCode: 0,
    lastError: '',
    createdAt: now,
  };
}

/** The key of a delivery: its primary key (event_id, endpoint_id). */
export function deliveryKey(eventId: string, endpointId: string): string {
  return `${eventId}/${endpointId}`;
}

/** The keyset position of a delivery: created_at in microseconds, then the event id, as the real store writes it. */
export function deliveryPosition(d: Pick<DeliveryRow, 'createdAt' | 'eventId'>): string {
  return `${BigInt(d.createdAt.getTime()) * 1000n}.${d.eventId}`;
}

/** An events row as a RoomEvent, with its cursor; a copy the caller may change. */
export function toRoomEvent(r: EventRow): RoomEvent {
  return {
    id: r.id,
    environment: r.environment,
    roomId: r.roomId,
    sequence: r.roomSeq,
    createdAt: new Date(r.createdAt),
    cursor: encodeEventCursor(r.txid, r.position),
    payload: structuredClone(r.payload),
  };
}
