import pg from 'pg';
import { mapPgError } from './pg-errors.js';

/** Options for {@link createPool}. */
export interface PoolOptions {
  connectionString: string;
  max: number;
  /** Called for errors on idle clients, which would otherwise crash the process. */
  onError: (err: Error) => void;
}

/** The one pg.Pool of a process. */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'roomgate',
  });
  pool.on('error', options.onError);
  return pool;
}

/** Runs one statement, mapping database failures to domain errors. */
export async function query<R extends pg.QueryResultRow>(
  db: pg.Pool | pg.PoolClient,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(text, values);
  } catch (err) {
    throw mapPgError(err);
  }
}

/**
 * Runs `fn` in one transaction on one client: COMMIT when it resolves, ROLLBACK
 * when it throws, and the client released in every case. A client whose
 * ROLLBACK fails is destroyed rather than returned to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapPgError(err);
  }
  let broken: Error | undefined;
  try {
    await query(client, 'BEGIN');
    const result = await fn(client);
    await query(client, 'COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw mapPgError(err);
  } finally {
    client.release(broken);
  }
}
