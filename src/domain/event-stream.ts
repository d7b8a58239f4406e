import type { EventCursors, EventPosition } from './event-cursor.js';
import type { EventNotifier } from './event-notifier.js';
import { EventTail } from './event-tail.js';
import { DomainError, invalidArgument } from './errors.js';
import { EVENT_TYPES, WEBHOOK_TEST, type EventType, type RoomEvent } from './events.js';
import { can, ensureCan } from './permissions.js';
import type { EventFilter, EventRetentionStore, EventStreamStore } from './ports/index.js';
import type { Environment, Principal } from './principal.js';
import { ReadGate } from './read-gate.js';
import * as v from './validation.js';

/** Input of WatchEvents, as received. Types the wire enum could not name are undefined. */
export interface WatchEventsInput {
  afterCursor: string;
  roomId: string;
  types: readonly (EventType | undefined)[];
  /** Seconds without a message after which a caught-up stream gets a heartbeat, 1-60; 0 for none. */
  heartbeatIntervalSeconds?: number;
}

/** What a watch yields: events to send, then where to resume once they are sent. */
export interface WatchProgress {
  events: RoomEvent[];
  /** Resume point after these events and any filtered-out rows read with them. */
  cursor: string;
  /**
   * Set on a heartbeat (no events): the database's time of the last read
   * that left the stream caught up. Every matching event below `cursor` has
   * been yielded.
   */
  heartbeat?: { time: Date };
}

/** Options of {@link EventStream}. */
export interface EventStreamOptions {
  /** Rows per read; 100 by default. */
  batchSize?: number;
  /** How often the shared tail reads again without a wake; 1 s by default. */
  pollIntervalMs?: number;
  /** Reads of streams catching up on their own that may run at once, across all streams; 2 by default. */
  maxConcurrentCatchUpReads?: number;
  /** Tail reads a stream may leave unconsumed before it must catch up on its own; 8 by default. */
  maxQueuedReads?: number;
  /** Event retention: when given, a watch whose position is older than what retention deleted fails with ERR_EVENT_CURSOR_EXPIRED. */
  retention?: { store: EventRetentionStore; retentionSeconds: number };
}

/**
 * WatchEvents: authorization, validation, and reading the stream as it grows.
 * Streams that have caught up share one tail per environment (see
 * {@link EventTail}), so the database sees one read per wake or poll whatever
 * the number of streams; a stream behind the tail reads on its own, through a
 * gate that bounds how many such reads run at once.
 */
export class EventStream {
  private readonly batchSize: number;
  private readonly tail: EventTail;
  private readonly catchUp: ReadGate;
  private readonly retention: EventStreamOptions['retention'];

  constructor(
    private readonly store: EventStreamStore,
    notifier: EventNotifier,
    private readonly cursors: EventCursors,
    options: EventStreamOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 100;
    this.retention = options.retention;
    this.tail = new EventTail(store, notifier, {
      batchSize: this.batchSize,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      maxQueuedReads: options.maxQueuedReads ?? 8,
    });
    this.catchUp = new ReadGate(options.maxConcurrentCatchUpReads ?? 2);
  }

  /**
   * Yields the caller's environment's events after `input.afterCursor` (or
   * after the current head when empty) in stream order, waiting for more when
   * caught up, until `signal` aborts. The first yield carries no events, only
   * the starting cursor. The caller sets the pace: a stream that holds a
   * yielded batch while the tail moves on leaves the tail and reads on its own
   * once it is ready again.
   */
  async *watch(principal: Principal, input: WatchEventsInput, signal: AbortSignal): AsyncGenerator<WatchProgress> {
    ensureCan(principal, 'event:watch');
    const filter = watchFilter(input);
    if (!can(principal, 'event:watch-all')) restrictToRevocations(filter);
    const heartbeatMs = heartbeatInterval(input.heartbeatIntervalSeconds ?? 0);
    const { environment } = principal;
    const start =
      input.afterCursor === '' ? await this.catchUp.run(() => this.store.head(), signal) : this.cursors.open(environment, input.afterCursor);
    if (!start) return;
    let after: EventPosition = start;
    await this.ensureRetained(environment, after);
    yield { events: [], cursor: this.cursors.seal(environment, after) };
    // When the last message went out, for heartbeats; the start counts as one.
    let lastSent = performance.now();
    // Positions are global counters: only sealed ones leave the process.
    const sealed = (events: RoomEvent[]) => events.map((e) => ({ ...e, cursor: this.cursors.sealPlain(environment, e.cursor) }));
    while (!signal.aborted) {
      const batch = await this.catchUp.run(() => this.store.readAfter(environment, after, this.batchSize, filter), signal);
      if (!batch) return;
      // Checked after the read, in a later snapshot: if retention deleted
      // events after `after` before the read could see them, its mark is
      // visible now, and the batch is dropped rather than skipping them. The
      // shared tail needs no such check: it reads at the head of the stream,
      // the far end from what retention deletes.
      await this.ensureRetained(environment, after);
      if (batch.last) {
        after = batch.last;
        if (batch.events.length > 0) lastSent = performance.now();
        yield { events: sealed(batch.events), cursor: this.cursors.seal(environment, after) };
      }
      // A full batch means more rows are already readable.
      if (batch.scanned === this.batchSize) continue;
      const seat = this.tail.join(environment, after, filter, batch.readAt);
      if (!seat) continue;
      try {
        for (;;) {
          const idleMs = heartbeatMs === undefined ? undefined : Math.max(0, lastSent + heartbeatMs - performance.now());
          const delivery = await seat.next(signal, idleMs);
          if (delivery === undefined) return;
          if (delivery === 'dropped') break;
          if (delivery === 'idle') {
            // Only a caught-up stream beats: the seat has been handed every
            // read, so `after` is where the stream has read to.
            lastSent = performance.now();
            if (seat.caughtUpAt) yield { events: [], cursor: this.cursors.seal(environment, after), heartbeat: { time: seat.caughtUpAt } };
            continue;
          }
          after = delivery.last;
          if (delivery.events.length > 0) lastSent = performance.now();
          yield { events: sealed(delivery.events), cursor: this.cursors.seal(environment, after) };
        }
      } finally {
        seat.close();
      }
    }
  }

  private async ensureRetained(environment: Environment, after: EventPosition): Promise<void> {
    if (!this.retention) return;
    const pruned = await this.retention.store.prunedThrough(environment);
    if (pruned && comparePositions(after, pruned) < 0) {
      const kept = describeSeconds(this.retention.retentionSeconds);
      throw new DomainError(
        'ERR_EVENT_CURSOR_EXPIRED',
        `after_cursor: the cursor is older than the event retention (${kept}) and events after it were deleted: ` +
          'watch again without after_cursor and resync with ListRooms and ListPeers',
        { field: 'after_cursor', metadata: { retentionSeconds: String(this.retention.retentionSeconds) } },
      );
    }
  }
}

/** Orders two stream positions as (txid, position). */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  const [at, bt, ap, bp] = [BigInt(a.txid), BigInt(b.txid), BigInt(a.position), BigInt(b.position)];
  if (at !== bt) return at < bt ? -1 : 1;
  return ap === bp ? 0 : ap < bp ? -1 : 1;
}

/** "7 days", "12 hours", "90 seconds": the largest whole unit. */
function describeSeconds(seconds: number): string {
  const unit = seconds % 86_400 === 0 ? ['day', 86_400] as const : seconds % 3600 === 0 ? ['hour', 3600] as const : ['second', 1] as const;
  const n = seconds / unit[1];
  return `${n} ${unit[0]}${n === 1 ? '' : 's'}`;
}

/**
 * The events that make a peer token invalid, which offline verifiers keep:
 * what a token with scope verify (and no rooms, read or admin) may watch.
 * Names of types this server does not know yet are ignored.
 */
export const REVOCATION_EVENT_TYPES: readonly string[] = [
  'peer_token_revoked',
  'room_deleted',
  'room_purged',
  'ban_created',
  'ban_lifted',
  'ban_expired',
];

/** Narrows a verify-only watcher's filter to the revocation types; PERMISSION_DENIED for any other type asked. */
function restrictToRevocations(filter: EventFilter): void {
  if (filter.types === undefined) {
    filter.types = EVENT_TYPES.filter((t) => REVOCATION_EVENT_TYPES.includes(t));
    return;
  }
  const other = filter.types.filter((t) => !REVOCATION_EVENT_TYPES.includes(t));
  if (other.length > 0) {
    const wire = (t: string) => `EVENT_TYPE_${t.toUpperCase()}`;
    throw new DomainError(
      'ERR_PERMISSION_DENIED',
      `a management token with scope verify may watch only the revocation types (${REVOCATION_EVENT_TYPES.map(wire).join(', ')}); ` +
        `${other.map(wire).join(', ')} needs scope rooms, read or admin`,
      { metadata: { action: 'event:watch-all', requiredScope: 'rooms', allowedScopes: 'rooms,read,admin' } },
    );
  }
}

/** Milliseconds between heartbeats, or undefined for none; INVALID_ARGUMENT outside 0-60 s. */
function heartbeatInterval(seconds: number): number | undefined {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 60) {
    throw invalidArgument('heartbeat_interval_seconds', 'must be 1-60 seconds, or 0 for no heartbeats');
  }
  return seconds === 0 ? undefined : seconds * 1000;
}

function watchFilter(input: WatchEventsInput): EventFilter {
  const filter: EventFilter = {};
  if (input.roomId !== '') filter.roomId = v.requireId('room_id', input.roomId);
  if (input.types.length > 0) {
    const types = new Set<EventType>();
    for (const t of input.types) {
      if (t === undefined) throw invalidArgument('types', 'must list EVENT_TYPE_* values other than EVENT_TYPE_UNSPECIFIED');
      if (t === WEBHOOK_TEST) throw invalidArgument('types', 'EVENT_TYPE_WEBHOOK_TEST is never streamed: it goes only to the webhook endpoint that SendTestWebhookEvent names');
      types.add(t);
    }
    filter.types = [...types];
  }
  return filter;
}
