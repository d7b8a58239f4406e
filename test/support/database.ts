// How integration tests get a database of their own.
//
// test/support/global-setup.ts starts one Postgres server for the whole run
// (TEST_DATABASE_URL if set, else a testcontainers container when a Docker
// engine answers, else embedded Postgres), creates a template database and runs
// the migrations on it once. Each test file then calls createTestDatabase() in
// beforeAll: CREATE DATABASE ... TEMPLATE copies the migrated template at the
// file level in a few tens of milliseconds, so every file starts from the
// current schema with no rows, and no file sees another's writes, even when
// files run in parallel. drop() in afterAll removes the copy; the template goes
// when the run ends.
//
// Postgres copies a template only while no session is connected to it. Once
// migrated, the template is closed to connections (ALLOW_CONNECTIONS false),
// which also keeps autovacuum out, and a copy that still finds it busy is
// retried.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser (or CREATEDB) URL of the run's Postgres server. */
    databaseAdminUrl: string;
    /** Name of the migrated template database. */
    databaseTemplate: string;
  }
}

/** A database copied from the migrated template, owned by one test file. */
export interface TestDatabase {
  name: string;
  connectionString: string;
  /** A pool on the database, ended by {@link TestDatabase.drop}. */
  pool: pg.Pool;
  /** Ends the pool and drops the database, closing any sessions still on it. */
  drop(): Promise<void>;
}

/** SQLSTATE object_in_use: the template still has a session. */
const OBJECT_IN_USE = '55006';

/** Creates a fresh database from the run's migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('databaseAdminUrl');
  const template = inject('databaseTemplate');
  const name = `roomgate_test_${randomBytes(6).toString('hex')}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await runAdminStatement(
        adminUrl,
        (c) => `CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE ${c.escapeIdentifier(template)}`,
      );
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== OBJECT_IN_USE || attempt === 20) throw err;
      await sleep(50 * attempt);
    }
  }

  const connectionString = databaseUrl(adminUrl, name);
  const pool = new pg.Pool({ connectionString, max: 10, connectionTimeoutMillis: 10_000 });
  // Idle clients see an error when drop() or the end of the run closes their session.
  pool.on('error', () => undefined);
  let dropping: Promise<void> | undefined;
  const drop = (): Promise<void> =>
    (dropping ??= (async () => {
      await pool.end();
      await runAdminStatement(adminUrl, (c) => `DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`);
    })());
  return { name, connectionString, pool, drop };
}

/** `serverUrl` with its database replaced by `database`. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** Runs one statement on its own short-lived connection, which CREATE/DROP DATABASE need. */
export async function runAdminStatement(adminUrl: string, sql: (client: pg.Client) => string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql(client));
  } finally {
    await client.end();
  }
}
