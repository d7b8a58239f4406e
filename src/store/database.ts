import path from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { retryWithBackoff, type BackoffPolicy } from '../domain/backoff.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { ensureCurrent, migrate, migrationStatus } from './migrate.js';
import { connectErrorCode, isUnreachable } from './pg-errors.js';
import { createPool } from './pool.js';
import { readOrCreateSecretFile } from './secret-file.js';

// Opening roomgate's database, shared by `serve` and the CLI's database
// commands: DATABASE_URL (retried while unreachable) or embedded Postgres in
// the data directory, then the schema step.

/** An open, migrated database and what came with it. */
export interface Database {
  pool: pg.Pool;
  /**
   * Where the notification listener opens its own connection: the direct URL
   * when one is configured (DATABASE_URL may be a transaction pooler, where
   * LISTEN hears nothing), else where the pool connects.
   */
  connectionString: string;
  /** True when roomgate runs its own Postgres in the data directory. */
  embedded: boolean;
  /** The key-encryption key: from configuration, or the data directory's in embedded mode. */
  keyEncryptionKey: Buffer | undefined;
  close(): Promise<void>;
}

/**
 * What {@link openDatabase} does with the schema: apply pending migrations,
 * only check that none this build needs is missing, or leave it alone.
 */
export type SchemaMode = 'migrate' | 'check' | 'none';

/**
 * Brings the schema to what this build needs, as {@link SchemaMode} says.
 * Migrations a newer build applied are left alone with a warning: during a
 * rolling upgrade, old instances keep serving on the newer schema.
 *
 * Runs on a connection of its own, without the serving pool's statement
 * timeout: a migration may rightly take longer (an index on a big table), and
 * so may the wait for another instance's migration lock.
 */
async function prepareSchema(
  connectionString: string,
  mode: SchemaMode,
  logger: Logger,
  onError: (err: Error) => void,
): Promise<void> {
  if (mode === 'none') return;
  const pool = createPool({ connectionString, max: 1, onError });
  try {
    if (mode === 'check') {
      ensureCurrent(await migrationStatus(pool));
      return;
    }
    const { applied, newer } = await migrate(pool);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    if (newer.length > 0) {
      logger.warn({ newer }, 'the database has migrations newer than this build (a rolling upgrade?); serving on it as it is');
    }
  } finally {
    await pool.end();
  }
}

/** What {@link openDatabase} does about a DATABASE_URL it cannot reach. */
export interface OpenOptions {
  /** Keep retrying the first connection (and the schema step) this long, in milliseconds; 0, the default, tries once. */
  retryForMs?: number;
  /** Ends the retrying at once (SIGTERM while `serve` waits); openDatabase then rejects with an AbortError. */
  signal?: AbortSignal;
}

// About 15 attempts in the first minute; never more than 10 s apart.
const CONNECT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 10_000 };

/** host:port of a postgres:// URL, for messages: never the URL itself, which holds the password. */
function endpointOf(connectionString: string): string {
  const url = new URL(connectionString);
  const host = url.searchParams.get('host') || decodeURIComponent(url.hostname) || 'localhost';
  return `${host}:${url.port || url.searchParams.get('port') || '5432'}`;
}

/** {@link prepareSchema} on DATABASE_URL, retried with backoff while the server cannot be reached. */
async function prepareExternal(
  connectionString: string,
  schema: SchemaMode,
  logger: Logger,
  onError: (err: Error) => void,
  options: OpenOptions,
): Promise<void> {
  const where = endpointOf(connectionString);
  const started = Date.now();
  try {
    await retryWithBackoff(() => prepareSchema(connectionString, schema, logger, onError), {
      forMs: options.retryForMs ?? 0,
      policy: CONNECT_BACKOFF,
      retryable: isUnreachable,
      signal: options.signal,
      onRetry: (err, attempt, delayMs) =>
        logger.warn({ database: where, code: connectErrorCode(err), attempt, retryInMs: delayMs }, 'cannot reach Postgres; retrying'),
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const code = connectErrorCode(err);
    if (isUnreachable(err)) {
      const seconds = Math.round((Date.now() - started) / 1000);
      throw new Error(`cannot reach Postgres at ${where} after ${seconds}s (${code}): check DATABASE_URL and that the server is up`, {
        cause: err,
      });
    }
    // A refused login or a missing database: retrying cannot help.
    if (/^(28|3D)/.test(code)) {
      throw new Error(`Postgres at ${where} refused the connection (${code}: ${(err as Error).message}): check DATABASE_URL`, {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Connects to DATABASE_URL, or starts (or attaches to) embedded Postgres, then
 * prepares the schema. With DATABASE_URL, a server that cannot be reached is
 * retried as `options` says, with one warning per attempt.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  schema: SchemaMode = config.migrateOnStart ? 'migrate' : 'check',
  options: OpenOptions = {},
): Promise<Database> {
  const onError = (err: Error) => logger.warn({ err }, 'idle database client failed');
  const servingPool = (connectionString: string) =>
    createPool({
      connectionString,
      max: config.poolSize,
      statementTimeoutMs: config.dbStatementTimeoutMs,
      onError,
      transactionPooling: config.dbTransactionPooling,
    });
  if (config.databaseUrl) {
    // The migration lock is a session advisory lock: through a transaction
    // pooler it could be taken on one server connection and the migrations
    // run on another, unserialized.
    const direct = config.directDatabaseUrl ?? config.databaseUrl;
    await prepareExternal(direct, schema, logger, onError, options);
    const pool = servingPool(config.databaseUrl);
    return {
      pool,
      connectionString: direct,
      embedded: false,
      keyEncryptionKey: config.keyEncryptionKey,
      close: () => pool.end(),
    };
  }
  const dataDir = path.resolve(config.dataDir);
  const pg = await startEmbeddedPostgres({ dataDir, log: (line) => logger.debug({ postgres: line.trim() }) });
  try {
    await prepareSchema(pg.connectionString, schema, logger, onError);
  } catch (err) {
    await pg.stop();
    throw err;
  }
  const pool = servingPool(pg.connectionString);
  const keyEncryptionKey =
    config.keyEncryptionKey ?? (await readOrCreateSecretFile(path.join(dataDir, 'key-encryption-key'), 32));
  return {
    pool,
    connectionString: pg.connectionString,
    embedded: true,
    keyEncryptionKey,
    close: async () => {
      await pool.end();
      await pg.stop();
    },
  };
}
