import type { Clock } from '../domain/clock.js';

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Requests per second each key earns back; 0 turns the limiter off. */
  perSecond: number;
  /** Requests a key may make at once (the bucket's size). */
  burst: number;
  /** Keys remembered at most; the least recently seen is forgotten first, so memory stays bounded whoever asks. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key (a client address): each request takes a token, and
 * tokens come back at `perSecond` up to `burst`. A key forgotten to make room
 * starts again with a full bucket, which is what a key unseen for
 * `burst / perSecond` seconds would have anyway.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;

  constructor(
    private readonly clock: Clock,
    private readonly options: RateLimiterOptions,
  ) {
    this.maxKeys = options.maxKeys ?? 65_536;
  }

  /** Takes a token for `key`: undefined when the request may go ahead, otherwise the whole seconds until it could. */
  take(key: string): number | undefined {
    const { perSecond, burst } = this.options;
    if (perSecond <= 0) return undefined;
    const now = this.clock.now().getTime();
    const previous = this.buckets.get(key);
    const bucket = previous ?? { tokens: burst, at: now };
    // A wall clock stepped back earns nothing, rather than taking tokens away.
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    // Re-inserted, so that the Map's order is least recently seen first.
    if (previous) this.buckets.delete(key);
    else if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
  }

  /** Keys remembered now (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }
}
