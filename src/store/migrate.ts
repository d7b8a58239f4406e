import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type pg from 'pg';

/** Advisory-lock key that serializes migrations across instances ("roomgate" in ASCII, truncated). */
const MIGRATION_LOCK_KEY = 0x726f6f6d67617465n;

/** Folder of the numbered SQL migrations, found next to the source or compiled file. */
export function migrationsDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Compiled code lives in dist/src/store; the SQL stays in src/store/migrations.
  return here.includes(`${path.sep}dist${path.sep}`)
    ? path.resolve(here, '..', '..', '..', 'src', 'store', 'migrations')
    : path.join(here, 'migrations');
}

/** One migration file: its version number, name and SQL. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads the migrations, ordered by their number prefix. */
export async function loadMigrations(dir = migrationsDirectory()): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: await readFile(path.join(dir, file), 'utf8'),
    })),
  );
}

/**
 * Applies every migration not yet recorded, each in its own transaction. An
 * advisory lock held on one session serializes concurrent starters, so several
 * instances booting together apply each migration exactly once.
 */
export async function migrate(pool: pg.Pool, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    for (const m of all) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(m.version);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]).catch(() => undefined);
    client.release();
  }
  return applied;
}
