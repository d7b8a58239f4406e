import type pg from 'pg';
import type { JoinAttemptCounts, JoinBucketCount, JoinRateLimitStore } from '../domain/ports/index.js';
import { prepared, query } from './pool.js';

// One upsert per bucket, in the database's time (now() is the statement's
// start), so every instance agrees on the windows: a window that has ended is
// restarted at 1, otherwise the count goes up by one. The code's upsert reads
// the address's RETURNING, so it runs only for an address still within its
// limit; both are one statement and one round trip. The address row is always
// locked before the code row, so two attempts cannot deadlock.
const COUNT = prepared(
  'join_rate_limit_count',
  `WITH address AS (
  INSERT INTO join_rate_limits AS r (bucket, window_start, attempts) VALUES ($1, now(), 1)
  ON CONFLICT (bucket) DO UPDATE SET
    window_start = CASE WHEN r.window_start <= now() - make_interval(secs => $3) THEN now() ELSE r.window_start END,
    attempts = CASE WHEN r.window_start <= now() - make_interval(secs => $3) THEN 1 ELSE r.attempts + 1 END
  RETURNING attempts, window_start
), code AS (
  INSERT INTO join_rate_limits AS r (bucket, window_start, attempts)
  SELECT $2, now(), 1 FROM address WHERE address.attempts <= $4
  ON CONFLICT (bucket) DO UPDATE SET
    window_start = CASE WHEN r.window_start <= now() - make_interval(secs => $3) THEN now() ELSE r.window_start END,
    attempts = CASE WHEN r.window_start <= now() - make_interval(secs => $3) THEN 1 ELSE r.attempts + 1 END
  RETURNING attempts, window_start
)
SELECT a.attempts AS address_attempts,
  ceil(extract(epoch FROM a.window_start + make_interval(secs => $3) - now()))::integer AS address_retry,
  c.attempts AS code_attempts,
  ceil(extract(epoch FROM c.window_start + make_interval(secs => $3) - now()))::integer AS code_retry
FROM address a LEFT JOIN code c ON true`,
);

interface CountRow {
  address_attempts: number;
  address_retry: number;
  code_attempts: number | null;
  code_retry: number | null;
}

const bucket = (attempts: number, retry: number): JoinBucketCount => ({ attempts, retryAfterSeconds: Math.max(1, retry) });

/** {@link JoinRateLimitStore} on the join_rate_limits table (migration 0010). */
export class PgJoinRateLimitStore implements JoinRateLimitStore {
  constructor(private readonly pool: pg.Pool) {}

  async count(addressBucket: string, codeBucket: string, windowSeconds: number, addressLimit: number): Promise<JoinAttemptCounts> {
    const { rows } = await query<CountRow>(this.pool, COUNT, [addressBucket, codeBucket, windowSeconds, addressLimit]);
    const row = rows[0]!;
    return {
      address: bucket(row.address_attempts, row.address_retry),
      code: row.code_attempts === null ? undefined : bucket(row.code_attempts, row.code_retry ?? 1),
    };
  }

  async purgeStale(windowSeconds: number, limit: number): Promise<number> {
    // Deleting an ended window is what the next attempt would do anyway. The
    // outer condition is re-checked on a row an attempt restarted meanwhile,
    // which is then kept, with its new count.
    const { rowCount } = await query(
      this.pool,
      `DELETE FROM join_rate_limits WHERE bucket = ANY (ARRAY(
         SELECT bucket FROM join_rate_limits WHERE window_start <= now() - make_interval(secs => $1) LIMIT $2))
       AND window_start <= now() - make_interval(secs => $1)`,
      [windowSeconds, limit],
    );
    return rowCount ?? 0;
  }
}
