import { performance } from 'node:perf_hooks';
import { LatencyRecorder, type LatencySummary } from './latency.js';

/**
 * One call of a scenario by caller number `caller`. It returns false instead
 * of a promise when its supply of distinct inputs (tokens to verify) has run
 * out, which ends the phase early rather than reusing an input.
 */
export type Operation = (caller: number) => Promise<unknown> | false;

/** How long and how wide a phase runs. */
export interface LoopOptions {
  concurrency: number;
  /** Calls that end in this first stretch are made but not recorded. */
  warmupMs: number;
  /** The recorded stretch; callers start no call after it ends, once one call is recorded. */
  durationMs: number;
}

/** What a phase measured. */
export interface LoopResult {
  /** Successful calls that ended in the recorded stretch. */
  calls: number;
  /** Failed calls, warm-up included: any failure fails the phase. */
  errors: number;
  firstError: string | undefined;
  /** Length of the recorded stretch. */
  elapsedMs: number;
  rps: number;
  latency: LatencySummary;
  /** True when the operation ran out of distinct inputs before the time was up. */
  exhausted: boolean;
}

/**
 * Runs `concurrency` closed-loop callers: each starts its next call as soon
 * as the previous one ends, so the rate is what the system under test
 * sustains at that concurrency. A call is recorded when it ends within the
 * recorded stretch (as wrk counts); its duration goes into a preallocated
 * recorder, and the rate is recorded calls over the stretch's length.
 */
export async function runClosedLoop(operation: Operation, options: LoopOptions): Promise<LoopResult> {
  const recorder = new LatencyRecorder();
  const start = performance.now();
  const warmupEnd = start + options.warmupMs;
  const end = warmupEnd + options.durationMs;
  let errors = 0;
  let firstError: string | undefined;
  let exhausted = false;
  let lastEnd = warmupEnd;

  const caller = async (index: number): Promise<void> => {
    while (!exhausted) {
      const t0 = performance.now();
      // Past the end only while nothing was recorded (for 30 s at most): one
      // call that outlasts a short phase (a stalled fsync) must not leave it empty.
      if (t0 >= end && (recorder.count > 0 || t0 >= end + 30_000)) return;
      const pending = operation(index);
      if (pending === false) {
        exhausted = true;
        return;
      }
      try {
        await pending;
      } catch (err) {
        errors++;
        firstError ??= describeError(err);
        continue;
      }
      const t1 = performance.now();
      if (t1 >= warmupEnd && (t1 < end || recorder.count === 0)) {
        recorder.record(t1 - t0);
        if (t1 > lastEnd) lastEnd = t1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => caller(i)));

  // The recorded stretch: up to the end, or to the last recorded call when
  // the inputs ran out first or the only call recorded ended after it.
  const elapsedMs = (exhausted || lastEnd > end ? lastEnd : end) - warmupEnd;
  return {
    calls: recorder.count,
    errors,
    firstError,
    elapsedMs,
    rps: elapsedMs > 0 ? (recorder.count * 1000) / elapsedMs : 0,
    latency: recorder.summarize(),
    exhausted,
  };
}

/** A one-line description of a failed call, with the gRPC status name when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code === undefined ? err.message : `${String(code)}: ${err.message}`;
  }
  return String(err);
}

/**
 * Set-up work, not measured: runs `task(i)` for each i below `count` with
 * `concurrency` calls in flight, and rejects when any failed.
 */
export async function runAll(count: number, concurrency: number, task: Operation): Promise<void> {
  let next = 0;
  const result = await runClosedLoop(() => (next < count ? task(next++) : false), {
    concurrency: Math.max(1, Math.min(count, concurrency)),
    warmupMs: 0,
    durationMs: 3_600_000,
  });
  if (result.errors > 0) throw new Error(`${result.errors} of ${count} calls failed; the first: ${result.firstError}`);
}
