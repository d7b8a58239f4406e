import type pg from 'pg';
import { encodeRevocationNotice, NOTIFY_CHANNELS, type RevocationNotice } from '../domain/revocation-notice.js';
import { query } from './pool.js';

/**
 * Queues a revocation notice inside the caller's transaction. Postgres
 * delivers it only if the transaction commits, and before any later commit's
 * notices, so listeners never drop a cache entry for a change that was rolled
 * back.
 */
export async function notifyRevocation(client: pg.PoolClient, notice: RevocationNotice): Promise<void> {
  await query(client, 'SELECT pg_notify($1, $2)', [NOTIFY_CHANNELS.revocations, encodeRevocationNotice(notice)]);
}

/** {@link notifyRevocation} for many notices, in one statement. */
export async function notifyRevocations(client: pg.PoolClient, notices: readonly RevocationNotice[]): Promise<void> {
  if (notices.length === 0) return;
  await query(client, 'SELECT pg_notify($1, n) FROM unnest($2::text[]) n', [
    NOTIFY_CHANNELS.revocations,
    notices.map(encodeRevocationNotice),
  ]);
}
