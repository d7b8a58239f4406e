import { setTimeout as sleep } from 'node:timers/promises';

/** Exponential backoff bounds. */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay; doubles with each attempt. */
  baseMs: number;
  /** Largest ceiling. */
  capMs: number;
}

/** 1 s doubling up to 1 h. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 3_600_000 };

/**
 * Delay before the retry that follows `attempts` failed attempts: exponential
 * backoff with full jitter, random(0, min(cap, base * 2^(attempts - 1))). Full
 * jitter spreads the retries of many deliveries that failed together (an
 * endpoint outage) instead of sending them back in waves.
 */
export function retryDelayMs(attempts: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 52);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/** Options of {@link retryWithBackoff}. */
export interface RetryOptions {
  /** Keep retrying until this long after the first attempt began; 0 tries once. */
  forMs: number;
  policy: BackoffPolicy;
  /** Whether a failure is worth another attempt; any other is thrown at once. */
  retryable: (err: unknown) => boolean;
  /** Told of each failure that will be retried, and of the wait before the next attempt. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Ends a wait at once; the call then rejects with an AbortError. */
  signal?: AbortSignal;
  /** The jitter source; Math.random unless a test gives one. */
  random?: () => number;
}

/**
 * Calls `attempt` until it resolves, waiting {@link retryDelayMs} between
 * attempts, for at most `forMs`. Rejects with the last failure when it is not
 * retryable or the time is up.
 */
export async function retryWithBackoff<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const until = Date.now() + options.forMs;
  for (let n = 1; ; n++) {
    options.signal?.throwIfAborted();
    try {
      return await attempt(n);
    } catch (err) {
      const left = until - Date.now();
      if (left <= 0 || !options.retryable(err)) throw err;
      const delayMs = Math.min(retryDelayMs(n, options.policy, options.random), left);
      options.onRetry?.(err, n, delayMs);
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}
