// Upgrades: how migrations meet a database that is behind, ahead of, or
// edited relative to this build. Each test gets an empty database of its own
// (CREATE DATABASE on the test server), because the template copies that
// createTestDatabase() hands out are already migrated.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadMigrations, migrate, migrationStatus } from '../../src/store/migrate.js';
import { databaseUrl, runAdminStatement } from '../support/database.js';
import { baseEnv, ROOMGATE_BIN as BIN } from '../support/server-process.js';

const run = promisify(execFile);
const KEK = randomBytes(32).toString('base64');

interface EmptyDatabase {
  url: string;
  pool: pg.Pool;
}

const made: { name: string; pool: pg.Pool }[] = [];

async function emptyDatabase(): Promise<EmptyDatabase> {
  const name = `roomgate_migrations_${randomBytes(6).toString('hex')}`;
  await runAdminStatement(inject('databaseAdminUrl'), (c) => `CREATE DATABASE ${c.escapeIdentifier(name)}`);
  const url = databaseUrl(inject('databaseAdminUrl'), name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  made.push({ name, pool });
  return { url, pool };
}

afterEach(async () => {
  for (const { name, pool } of made.splice(0)) {
    await pool.end();
    await runAdminStatement(inject('databaseAdminUrl'), (c) => `DROP DATABASE ${c.escapeIdentifier(name)} WITH (FORCE)`);
  }
});

/** Runs the bin; resolves with its exit code and output instead of throwing on a non-zero exit. */
async function roomgate(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...baseEnv, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('migrations across upgrades', () => {
  it('migrate --status shows every migration pending on an empty database, then applied, and exits 1 then 0', async () => {
    const { url } = await emptyDatabase();
    const all = await loadMigrations();
    const before = await roomgate(['migrate', '--status'], { DATABASE_URL: url });
    expect(before.code).toBe(1);
    expect(before.stdout.trim().split('\n')).toEqual(all.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}\tpending\t-`));

    expect((await roomgate(['migrate'], { DATABASE_URL: url })).code).toBe(0);
    const after = await roomgate(['migrate', '--status'], { DATABASE_URL: url });
    expect(after.code).toBe(0);
    const lines = after.stdout.trim().split('\n');
    expect(lines).toHaveLength(all.length);
    for (const line of lines) expect(line).toMatch(/^\d{4}_[a-z0-9_]+\tapplied\t\d{4}-\d\d-\d\dT/);
  });

  it('serve with ROOMGATE_MIGRATE_ON_START=false refuses a schema that is behind, naming the command to run', async () => {
    const { url, pool } = await emptyDatabase();
    const served = await roomgate(['serve'], {
      DATABASE_URL: url,
      ROOMGATE_KEY_ENCRYPTION_KEY: KEK,
      ROOMGATE_MIGRATE_ON_START: 'false',
      ROOMGATE_GRPC_ADDRESS: '127.0.0.1:0',
      ROOMGATE_METRICS_ADDRESS: 'off',
      ROOMGATE_HTTP_ADDRESS: 'off',
    });
    expect(served.code).toBe(1);
    expect(served.stderr).toMatch(/the database needs migrations this build depends on \(0001_core, .*\): run `roomgate migrate`/);
    // It changed nothing: not even the bookkeeping table exists.
    const { rows } = await pool.query(`SELECT to_regclass('schema_migrations') AS t`);
    expect(rows[0].t).toBeNull();
  });

  it('refuses to migrate when an applied migration has been edited since, and says which', async () => {
    const { url, pool } = await emptyDatabase();
    await migrate(pool);
    await pool.query(`UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 2`);
    const migrated = await roomgate(['migrate'], { DATABASE_URL: url });
    expect(migrated.code).toBe(1);
    expect(migrated.stderr).toMatch(/migration 0002_token_lifecycle differs from the one applied to this database/);
    const status = await roomgate(['migrate', '--status'], { DATABASE_URL: url });
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^0002_token_lifecycle\tchanged\t/m);
    expect(status.stdout).toMatch(/^0001_core\tapplied\t/m);
  });

  it('leaves migrations of a newer build alone during a rolling upgrade, and reports them', async () => {
    const { pool } = await emptyDatabase();
    await migrate(pool);
    await pool.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'from_the_future', 'x')`);
    await expect(migrate(pool)).resolves.toEqual({ applied: [], newer: [9999] });
    const status = await migrationStatus(pool);
    expect(status.at(-1)).toMatchObject({ version: 9999, name: 'from_the_future', state: 'newer' });
    expect(status.filter((s) => s.state === 'applied')).toHaveLength(status.length - 1);
  });

  it('records checksums for migrations applied before checksums existed, and applies only what is missing', async () => {
    const { pool } = await emptyDatabase();
    const all = await loadMigrations();
    // A database migrated by the first release: no checksum column, the last migration not applied yet.
    await migrate(pool, all.slice(0, -1));
    await pool.query('ALTER TABLE schema_migrations DROP COLUMN checksum');
    expect((await migrationStatus(pool)).map((s) => s.state)).toEqual([...all.slice(0, -1).map(() => 'applied'), 'pending']);

    await expect(migrate(pool)).resolves.toEqual({ applied: [all.at(-1)!.version], newer: [] });
    const { rows } = await pool.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(all.map((m) => ({ version: m.version, checksum: m.checksum })));
  });
});
