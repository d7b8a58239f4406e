import type pg from 'pg';
import { DomainError } from '../domain/errors.js';
import type { Environment } from '../domain/principal.js';
import type { IdempotencyKey } from '../domain/records.js';
import { query } from './pool.js';

/** What {@link claimIdempotencyKey} found. */
export type Claim<T> = { fresh: true } | { fresh: false; result: T };

/**
 * Claims an idempotency key inside the caller's transaction, recording the
 * result the request will have if it commits (every caller knows it up front:
 * the ids it is about to insert). The INSERT takes the key's unique-index
 * slot: a concurrent request with the same key blocks on it until this
 * transaction ends, then sees the committed result (or, if this one rolled
 * back, claims the key itself). So exactly one request acts.
 */
export async function claimIdempotencyKey<T>(
  client: pg.PoolClient,
  environment: Environment,
  operation: string,
  key: IdempotencyKey,
  result: T,
): Promise<Claim<T>> {
  const inserted = await query(
    client,
    `INSERT INTO idempotency_keys (environment, operation, request_id, request_hash, result)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    [environment, operation, key.requestId, key.requestHash, JSON.stringify(result)],
  );
  if (inserted.rowCount === 1) return { fresh: true };
  const { rows } = await query<{ request_hash: Buffer; result: T }>(
    client,
    `SELECT request_hash, result FROM idempotency_keys
     WHERE environment = $1 AND operation = $2 AND request_id = $3`,
    [environment, operation, key.requestId],
  );
  const row = rows[0];
  if (!row || row.result === null) {
    throw new DomainError('ERR_DB_CONFLICT', 'a request with this request_id is still in progress; retry it');
  }
  if (!row.request_hash.equals(key.requestHash)) {
    throw new DomainError(
      'ERR_IDEMPOTENCY_MISMATCH',
      'request_id: was already used with different parameters; use a new request_id for a new request',
      { field: 'request_id' },
    );
  }
  return { fresh: false, result: row.result };
}
