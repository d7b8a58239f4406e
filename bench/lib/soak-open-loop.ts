// An open loop: calls start on a fixed schedule (rate per second), whether or
// not earlier ones have ended, as independent clients arrive in production.
// A closed loop slows down with the server and hides a server that gets
// slower; an open loop keeps the load constant, so a slower server shows as
// longer latency and more calls in flight.
import { performance } from 'node:perf_hooks';
import { describeError } from './closed-loop.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';

/** One call: its name (for the per-call figures) and its pending answer. */
export interface ScheduledCall {
  operation: string;
  call: Promise<unknown>;
}

/** What happened between two {@link OpenLoop.takeInterval} calls. */
export interface IntervalStats {
  seconds: number;
  /** Calls that ended, successful or not. */
  calls: number;
  errors: number;
  firstError: string | undefined;
  /** Latency of the successful calls that ended in the interval, from when each was sent. */
  latency: LatencySummary;
  /** The most a call was sent after its scheduled time: the load generator falling behind. */
  maxLagMs: number;
  /** Calls in flight when the interval ended. */
  inFlight: number;
}

/** Per-call figures over the whole run. */
export interface OperationTotals {
  operation: string;
  calls: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

/** How often the scheduler wakes up to send the calls that are due. */
const TICK_MS = 2;

/** Calls started at `rate` per second by `next()`, with interval and per-call figures. */
export class OpenLoop {
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private sent = 0;
  private inFlight = 0;
  private intervalStart = performance.now();
  private interval = { calls: 0, errors: 0, firstError: undefined as string | undefined, maxLagMs: 0, recorder: new LatencyRecorder(1 << 12) };
  private readonly totals = new Map<string, { recorder: LatencyRecorder; errors: number }>();
  private idle: (() => void) | undefined;

  constructor(
    private readonly next: () => ScheduledCall,
    private readonly rate: number,
    /** A cap on calls in flight, so that a stalled server cannot make the load generator run out of memory. */
    private readonly maxInFlight = 2_000,
  ) {}

  /** Starts sending. */
  start(): void {
    this.started = performance.now();
    this.intervalStart = this.started;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const now = performance.now();
    const due = Math.floor(((now - this.started) * this.rate) / 1000);
    while (this.sent < due && this.inFlight < this.maxInFlight) {
      const lag = now - (this.started + (this.sent * 1000) / this.rate);
      if (lag > this.interval.maxLagMs) this.interval.maxLagMs = lag;
      this.sent++;
      this.send();
    }
  }

  private send(): void {
    const t0 = performance.now();
    const { operation, call } = this.next();
    let total = this.totals.get(operation);
    if (!total) this.totals.set(operation, (total = { recorder: new LatencyRecorder(1 << 12), errors: 0 }));
    this.inFlight++;
    call.then(
      () => {
        const ms = performance.now() - t0;
        this.interval.recorder.record(ms);
        total.recorder.record(ms);
        this.ended();
      },
      (err: unknown) => {
        total.errors++;
        this.interval.errors++;
        this.interval.firstError ??= `${operation}: ${describeError(err)}`;
        this.ended();
      },
    );
  }

  private ended(): void {
    this.interval.calls++;
    this.inFlight--;
    if (this.inFlight === 0) this.idle?.();
  }

  /** The figures since the last call (or the start), and a new interval. */
  takeInterval(): IntervalStats {
    const now = performance.now();
    const i = this.interval;
    const stats: IntervalStats = {
      seconds: (now - this.intervalStart) / 1000,
      calls: i.calls,
      errors: i.errors,
      firstError: i.firstError,
      latency: i.recorder.summarize(),
      maxLagMs: i.maxLagMs,
      inFlight: this.inFlight,
    };
    this.intervalStart = now;
    this.interval = { calls: 0, errors: 0, firstError: undefined, maxLagMs: 0, recorder: new LatencyRecorder(1 << 12) };
    return stats;
  }

  /** Stops sending and resolves once every call in flight has ended. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** Per-call figures since the start. */
  operationTotals(): OperationTotals[] {
    return [...this.totals].map(([operation, t]) => {
      const l = t.recorder.summarize();
      return { operation, calls: l.count + t.errors, errors: t.errors, p50Ms: l.p50Ms, p99Ms: l.p99Ms };
    });
  }
}
