/** One bucket's count in its current window, as the database counted it. */
export interface JoinBucketCount {
  /** Attempts counted in the window, this one included. */
  attempts: number;
  /** Whole seconds until the window ends (at least 1), in the database's time. */
  retryAfterSeconds: number;
}

/** What counting one RedeemJoinCode attempt left in its two buckets. */
export interface JoinAttemptCounts {
  address: JoinBucketCount;
  /** Undefined when the address was already over `addressLimit`: such an attempt is not counted at the code. */
  code: JoinBucketCount | undefined;
}

/**
 * The fixed-window counters behind {@link JoinRateLimiter}, shared by every
 * instance: each bucket is a row whose window starts at its first attempt and
 * is restarted by the first attempt after it ended, judged in the database's
 * time.
 */
export interface JoinRateLimitStore {
  /**
   * Counts one attempt in `addressBucket` and, unless that bucket is then over
   * `addressLimit`, in `codeBucket`, in one statement.
   */
  count(addressBucket: string, codeBucket: string, windowSeconds: number, addressLimit: number): Promise<JoinAttemptCounts>;
  /** Deletes up to `limit` buckets whose window ended at least `windowSeconds` ago; returns how many. */
  purgeStale(windowSeconds: number, limit: number): Promise<number>;
}
