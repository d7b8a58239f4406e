/** Latency figures of one measured phase, in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Every call's duration, kept in a growing Float64Array so that recording
 * allocates nothing per call and the percentiles are exact, not estimated.
 */
export class LatencyRecorder {
  private samples: Float64Array;
  private size = 0;

  constructor(initialCapacity = 1 << 16) {
    this.samples = new Float64Array(initialCapacity);
  }

  /** Adds one duration in milliseconds. */
  record(ms: number): void {
    if (this.size === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.size++] = ms;
  }

  /** How many durations were recorded. */
  get count(): number {
    return this.size;
  }

  /** Exact percentiles (nearest rank) of what was recorded. */
  summarize(): LatencySummary {
    const sorted = this.samples.slice(0, this.size).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.size,
      meanMs: this.size ? sum / this.size : 0,
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      p99Ms: percentile(sorted, 99),
      maxMs: this.size ? sorted[this.size - 1]! : 0,
    };
  }
}

/** The nearest-rank percentile of ascending `sorted`: the smallest value with at least p % of values at or below it. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
