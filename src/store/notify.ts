import type pg from 'pg';
import { query } from './pool.js';

/** Channel of revocations; payloads are `peer:<id>`, `room:<id>` or `mtoken:<id>`. */
export const REVOCATIONS_CHANNEL = 'roomgate_revocations';

/**
 * Queues a revocation notice inside the caller's transaction. Postgres
 * delivers it only if the transaction commits, and before any later commit's
 * notices, so listeners never drop a cache entry for a change that was rolled
 * back.
 */
export async function notifyRevocation(client: pg.PoolClient, kind: 'peer' | 'room' | 'mtoken', id: string): Promise<void> {
  await query(client, 'SELECT pg_notify($1, $2)', [REVOCATIONS_CHANNEL, `${kind}:${id}`]);
}
