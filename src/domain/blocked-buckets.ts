/**
 * Buckets known to be over their limit until a given time, remembered by one
 * instance so that further attempts in them are refused without asking the
 * database. Bounded: past `capacity` the least recently refused bucket is
 * forgotten, so a flood of distinct keys costs at most `capacity` entries; a
 * forgotten bucket is only asked about again, never let through.
 */
export class BlockedBuckets {
  // A Map iterates in insertion order: re-inserting on each hit makes its
  // first key the least recently used.
  private readonly until = new Map<string, number>();

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
  }

  /** Buckets remembered now, expired ones included until they are looked up or evicted. */
  get size(): number {
    return this.until.size;
  }

  /** Remembers `bucket` as blocked until `untilMs` (epoch milliseconds). */
  block(bucket: string, untilMs: number): void {
    this.until.delete(bucket);
    this.until.set(bucket, untilMs);
    if (this.until.size > this.capacity) this.until.delete(this.until.keys().next().value!);
  }

  /** Milliseconds `bucket` stays blocked after `nowMs`; 0 when it is not known to be blocked. */
  blockedFor(bucket: string, nowMs: number): number {
    const until = this.until.get(bucket);
    if (until === undefined) return 0;
    if (until <= nowMs) {
      this.until.delete(bucket);
      return 0;
    }
    this.until.delete(bucket);
    this.until.set(bucket, until);
    return until - nowMs;
  }
}
