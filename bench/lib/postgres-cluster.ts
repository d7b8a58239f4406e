// The Postgres server of a bench run: an embedded one in the run's temporary
// directory, or the one DATABASE_URL names. Either way the bench works in
// databases of its own, made fresh and dropped at the end, so it never
// touches existing data and every measurement starts from a known state.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres.js';

/** A Postgres server the bench may create databases on. */
export interface PostgresCluster {
  /** One line for the output: which Postgres, and its version. */
  description: string;
  /** Makes an empty database; resolves with its URL. */
  createDatabase(prefix: string): Promise<string>;
  /** Drops what {@link createDatabase} made, and stops an embedded server. */
  stop(): Promise<void>;
}

async function admin<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** `url` with its database replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * Starts embedded Postgres under `workDir` (which the postgres OS user must be
 * able to reach when we run as root), or uses `databaseUrl`'s server, which
 * needs a role that may CREATE DATABASE.
 */
export async function startPostgres(databaseUrl: string | undefined, workDir: string): Promise<PostgresCluster> {
  let adminUrl: string;
  let stopServer = async (): Promise<void> => undefined;
  let where: string;
  if (databaseUrl) {
    adminUrl = databaseUrl;
    where = 'Postgres from DATABASE_URL';
  } else {
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(workDir, 'postgres'), database: 'postgres' });
    adminUrl = embedded.connectionString;
    stopServer = () => embedded.stop();
    where = 'embedded Postgres (embedded-postgres package, default settings)';
  }
  // The settings that decide what a durable commit costs.
  const settings = await admin(adminUrl, async (c) => {
    const names = ['server_version', 'fsync', 'synchronous_commit', 'shared_buffers'];
    const { rows } = await c.query<{ name: string; setting: string }>(
      'SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name',
      [names],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  });
  const made: string[] = [];
  return {
    description:
      `${where}, version ${settings.server_version}; fsync ${settings.fsync}, ` +
      `synchronous_commit ${settings.synchronous_commit}, shared_buffers ${settings.shared_buffers}`,
    async createDatabase(prefix) {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
      made.push(name);
      return withDatabase(adminUrl, name);
    },
    async stop() {
      try {
        for (const name of made.splice(0)) {
          await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
        }
      } finally {
        await stopServer();
      }
    },
  };
}
