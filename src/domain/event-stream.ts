import type { EventCursors, EventPosition } from './event-cursor.js';
import type { EventNotifier } from './event-notifier.js';
import { invalidArgument } from './errors.js';
import type { EventType, RoomEvent } from './events.js';
import { ensureCan } from './permissions.js';
import type { EventFilter, EventStreamStore } from './ports/index.js';
import type { Environment, Principal } from './principal.js';
import * as v from './validation.js';

/** Input of WatchEvents, as received. Types the wire enum could not name are undefined. */
export interface WatchEventsInput {
  afterCursor: string;
  roomId: string;
  types: readonly (EventType | undefined)[];
}

/** What a watch yields: events to send, then where to resume once they are sent. */
export interface WatchProgress {
  events: RoomEvent[];
  /** Resume point after these events and any filtered-out rows read with them. */
  cursor: string;
}

/** Options of {@link EventStream}. */
export interface EventStreamOptions {
  /** Rows per read; 100 by default. */
  batchSize?: number;
  /** How often a caught-up watch reads again without a wake; 1 s by default. */
  pollIntervalMs?: number;
}

/** WatchEvents: authorization, validation, and reading the stream as it grows. */
export class EventStream {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;

  constructor(
    private readonly store: EventStreamStore,
    private readonly notifier: EventNotifier,
    private readonly cursors: EventCursors,
    options: EventStreamOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 100;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
  }

  /**
   * Yields the caller's environment's events after `input.afterCursor` (or
   * after the current head when empty) in stream order, waiting for more when
   * caught up, until `signal` aborts. The first yield carries no events, only
   * the starting cursor. The caller sets the pace: nothing is read while it
   * holds a yielded batch.
   */
  async *watch(principal: Principal, input: WatchEventsInput, signal: AbortSignal): AsyncGenerator<WatchProgress> {
    ensureCan(principal, 'event:watch');
    const filter = watchFilter(input);
    const { environment } = principal;
    let after = input.afterCursor === '' ? await this.store.head() : this.cursors.open(environment, input.afterCursor);
    yield { events: [], cursor: this.cursors.seal(environment, after) };
    while (!signal.aborted) {
      const seen = this.notifier.version(environment);
      const batch = await this.store.readAfter(environment, after, this.batchSize, filter);
      if (batch.last) {
        after = batch.last;
        // Positions are global counters: only sealed ones leave the process.
        const events = batch.events.map((e) => ({ ...e, cursor: this.cursors.sealPlain(environment, e.cursor) }));
        yield { events, cursor: this.cursors.seal(environment, after) };
      }
      // A full batch means more rows are already readable.
      if (batch.scanned < this.batchSize) await this.notifier.wait(environment, seen, this.pollIntervalMs, signal);
    }
  }
}

function watchFilter(input: WatchEventsInput): EventFilter {
  const filter: EventFilter = {};
  if (input.roomId !== '') filter.roomId = v.requireId('room_id', input.roomId);
  if (input.types.length > 0) {
    const types = new Set<EventType>();
    for (const t of input.types) {
      if (t === undefined) throw invalidArgument('types', 'must list EVENT_TYPE_* values other than EVENT_TYPE_UNSPECIFIED');
      types.add(t);
    }
    filter.types = [...types];
  }
  return filter;
}
