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

/**
 * Parses a Retry-After header, either delay-seconds or an HTTP date, into a
 * delay from `now`; undefined when absent or malformed. A date in the past
 * means "now".
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only the IMF-fixdate form and its obsolete relatives parse; a bare number
  // with a sign or a fraction is malformed, not a date.
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
