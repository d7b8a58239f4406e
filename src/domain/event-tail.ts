import { decodeEventCursor, type EventPosition } from './event-cursor.js';
import type { EventNotifier } from './event-notifier.js';
import type { RoomEvent } from './events.js';
import type { EventFilter, EventStreamStore } from './ports/index.js';
import type { Environment } from './principal.js';

/** Orders two stream positions: negative when `a` comes first, 0 when equal. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  const byTxid = BigInt(a.txid) - BigInt(b.txid);
  if (byTxid !== 0n) return byTxid < 0n ? -1 : 1;
  const byPosition = BigInt(a.position) - BigInt(b.position);
  return byPosition === 0n ? 0 : byPosition < 0n ? -1 : 1;
}

/** What a tail hands one stream: its events of a read, and where that read ended. */
export interface TailDelivery {
  events: RoomEvent[];
  last: EventPosition;
}

/** Options of {@link EventTail}. */
export interface EventTailOptions {
  /** Rows per read. */
  batchSize: number;
  /** How often a caught-up tail reads again without a wake. */
  pollIntervalMs: number;
  /** Reads a stream may have waiting before it is dropped from the tail to catch up on its own. */
  maxQueuedReads: number;
}

/**
 * One stream's seat at a tail. Events are queued for the stream as the tail
 * reads them; a stream that lets `maxQueuedReads` pile up is dropped (its
 * queue freed) and catches up on its own from where it got to, so the tail
 * never waits for, nor holds memory for, a slow stream.
 */
export class TailSeat {
  private readonly queue: TailDelivery[] = [];
  private outcome: 'dropped' | { error: unknown } | undefined;
  private wakeReader: (() => void) | undefined;
  /** The database's time of the last read that left this stream caught up. */
  caughtUpAt: Date | undefined;

  constructor(
    /** Events at or before this position are not this stream's: it has them already. */
    public after: EventPosition,
    readonly filter: EventFilter,
    private readonly maxQueued: number,
    private readonly leave: (seat: TailSeat) => void,
  ) {}

  /** Takes a tail read of events each paired with its position; keeps what this stream wants. */
  offer(read: { event: RoomEvent; at: EventPosition }[], last: EventPosition): void {
    if (this.outcome) return;
    if (comparePositions(last, this.after) <= 0) return;
    const events: RoomEvent[] = [];
    for (const { event, at } of read) {
      if (comparePositions(at, this.after) > 0 && matches(event, this.filter)) events.push(event);
    }
    this.after = last;
    if (this.queue.length >= this.maxQueued) {
      this.end('dropped');
      return;
    }
    this.queue.push({ events, last });
    this.wakeReader?.();
  }

  /** Records a tail read that found nothing more to read (at the database's time `at`). */
  caughtUp(at: Date): void {
    this.caughtUpAt = at;
  }

  /** Ends the seat: the tail failed, or the stream is too slow for it. */
  end(outcome: 'dropped' | { error: unknown }): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.queue.length = 0;
    this.leave(this);
    this.wakeReader?.();
  }

  /**
   * The next delivery; 'dropped' when the stream must catch up on its own;
   * 'idle' when `idleMs` pass with none; undefined when `signal` aborts.
   * Rejects with the tail's read error.
   */
  async next(signal: AbortSignal, idleMs?: number): Promise<TailDelivery | 'dropped' | 'idle' | undefined> {
    const deadline = idleMs === undefined ? undefined : performance.now() + idleMs;
    for (;;) {
      const delivery = this.queue.shift();
      if (delivery) return delivery;
      if (this.outcome === 'dropped') return 'dropped';
      if (this.outcome) throw this.outcome.error;
      if (signal.aborted) return undefined;
      if (deadline !== undefined && performance.now() >= deadline) return 'idle';
      await new Promise<void>((resolve) => {
        const timer = deadline === undefined ? undefined : setTimeout(() => done(), Math.max(0, deadline - performance.now()));
        const done = () => {
          clearTimeout(timer);
          this.wakeReader = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wakeReader = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Leaves the tail; call once the stream ends. */
  close(): void {
    this.end('dropped');
  }
}

function matches(event: RoomEvent, filter: EventFilter): boolean {
  if (filter.roomId !== undefined && event.roomId !== filter.roomId) return false;
  return filter.types === undefined || filter.types.includes(event.payload.type);
}

/**
 * The live end of one environment's stream, read once for every stream of
 * this instance that has caught up: one read per wake or poll, whatever the
 * number of streams, each stream then taking what its filter wants. It runs
 * while it has a seat and stops a poll interval after the last one leaves.
 */
class EnvironmentTail {
  private readonly seats = new Set<TailSeat>();
  private position: EventPosition | undefined;
  private running = false;
  /** The notifier's version at the last read, to tell a wake from a poll. */
  private lastSeen = -1;

  constructor(
    private readonly environment: Environment,
    private readonly store: EventStreamStore,
    private readonly notifier: EventNotifier,
    private readonly options: EventTailOptions,
  ) {}

  /** A seat for a stream that has read everything readable up to `after`; undefined when the tail is past it, so the stream must read on first. */
  join(after: EventPosition, filter: EventFilter, caughtUpAt?: Date): TailSeat | undefined {
    if (!this.running) this.position = after;
    // A stream behind the tail would miss the rows between: it catches up first.
    else if (this.position && comparePositions(after, this.position) < 0) return undefined;
    const seat = new TailSeat(after, filter, this.options.maxQueuedReads, (s) => this.seats.delete(s));
    seat.caughtUpAt = caughtUpAt;
    this.seats.add(seat);
    if (!this.running) {
      this.running = true;
      void this.run();
    }
    return seat;
  }

  private async run(): Promise<void> {
    // The event a wake announces may not be readable yet: reads stop below
    // the oldest transaction still running in the whole Postgres cluster
    // (any database's), and that may be older than the event. Rather than
    // leave it to the next poll, the tail reads again soon after each wake
    // (20, 40, 80, then every 100 ms) for 3 s: offline verifiers are
    // promised revocations within a second.
    let retryMs: number | undefined;
    let retryUntil = 0;
    this.lastSeen = this.notifier.version(this.environment);
    try {
      while (this.seats.size > 0) {
        const seen = this.notifier.version(this.environment);
        const woken = seen !== this.lastSeen;
        this.lastSeen = seen;
        let scanned = 0;
        try {
          const batch = await this.store.readAfter(this.environment, this.position ?? null, this.options.batchSize, {});
          scanned = batch.scanned;
          if (batch.last) {
            this.position = batch.last;
            const read = batch.events.map((event) => ({ event, at: decodeEventCursor(event.cursor) }));
            for (const seat of [...this.seats]) seat.offer(read, batch.last);
          }
          if (scanned < this.options.batchSize) for (const seat of this.seats) seat.caughtUp(batch.readAt);
        } catch (error) {
          // The streams end with the read's status, as each did when it read on its own.
          for (const seat of [...this.seats]) seat.end({ error });
        }
        if (woken) {
          retryMs = FIRST_RETRY_MS;
          retryUntil = performance.now() + RETRY_WINDOW_MS;
        } else if (retryMs !== undefined) retryMs = performance.now() < retryUntil ? Math.min(retryMs * 2, MAX_RETRY_MS) : undefined;
        // A full batch means more rows are already readable.
        if (scanned < this.options.batchSize && this.seats.size > 0) {
          await this.notifier.wait(this.environment, seen, retryMs ?? this.options.pollIntervalMs);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** The first quick re-read after a wake that found nothing; doubles up to the poll interval. */
const FIRST_RETRY_MS = 20;
/** The longest wait between those re-reads. */
const MAX_RETRY_MS = 100;
/** How long after a wake the re-reads go on: long enough for a `DROP DATABASE` elsewhere on the cluster. */
const RETRY_WINDOW_MS = 3_000;

/** One {@link EnvironmentTail} per environment, created on first use. */
export class EventTail {
  private readonly tails = new Map<Environment, EnvironmentTail>();

  constructor(
    private readonly store: EventStreamStore,
    private readonly notifier: EventNotifier,
    private readonly options: EventTailOptions,
  ) {}

  /** See {@link EnvironmentTail.join}. */
  join(environment: Environment, after: EventPosition, filter: EventFilter, caughtUpAt?: Date): TailSeat | undefined {
    let tail = this.tails.get(environment);
    if (!tail) {
      tail = new EnvironmentTail(environment, this.store, this.notifier, this.options);
      this.tails.set(environment, tail);
    }
    return tail.join(after, filter, caughtUpAt);
  }
}
