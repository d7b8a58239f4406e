import { createHash } from 'node:crypto';
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

/** One migration file: its version number, name, SQL and the SHA-256 of that SQL. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** Reads the migrations, ordered by their number prefix. */
export async function loadMigrations(dir = migrationsDirectory()): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(path.join(dir, file), 'utf8');
      return { version: Number(file.slice(0, 4)), name: file.slice(5, -4), sql, checksum: sha256(sql) };
    }),
  );
}

/** Where one migration stands against a database. */
export type MigrationState =
  /** Applied, and the file is the one that was applied. */
  | 'applied'
  /** Not applied yet. */
  | 'pending'
  /** Applied, but the file differs from what was applied: someone edited a released migration. */
  | 'changed'
  /** Applied by a newer build; this build has no such file (normal during a rolling upgrade). */
  | 'newer';

/** One line of {@link migrationStatus}. */
export interface MigrationStatus {
  version: number;
  name: string;
  state: MigrationState;
  appliedAt: Date | undefined;
}

/** Raised when the database's migrations do not match this build's in a way that is unsafe to run on. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/**
 * Compares this build's migrations with what the database recorded, without
 * changing anything. A database never migrated shows every migration pending.
 */
export async function migrationStatus(pool: pg.Pool, migrations?: Migration[]): Promise<MigrationStatus[]> {
  const all = migrations ?? (await loadMigrations());
  const exists = await pool.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  const recorded = exists.rows[0]?.t ? await readRecorded(pool) : [];
  return statusOf(all, recorded);
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Versions applied by this call. */
  applied: number[];
  /** Versions the database has that this build does not know: a newer build migrated it. */
  newer: number[];
}

/**
 * Applies every migration not yet recorded, each in its own transaction. An
 * advisory lock held on one session serializes concurrent starters, so several
 * instances booting together apply each migration exactly once.
 *
 * Refuses ({@link MigrationError}) when an applied migration's file has
 * changed since it was applied: the database would not match the code that
 * reads it. Migrations applied before checksums were recorded get theirs on
 * the first run that sees them.
 */
export async function migrate(pool: pg.Pool, migrations?: Migration[]): Promise<MigrateResult> {
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
    await client.query('ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text');
    const recorded = await readRecorded(client);
    const status = statusOf(all, recorded);
    ensureUnchanged(status);
    for (const m of all) {
      const row = recorded.find((r) => r.version === m.version);
      if (row) {
        if (row.checksum === null) {
          await client.query('UPDATE schema_migrations SET checksum = $2 WHERE version = $1', [m.version, m.checksum]);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(m.version);
    }
    return { applied, newer: status.filter((s) => s.state === 'newer').map((s) => s.version) };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]).catch(() => undefined);
    client.release();
  }
}

/**
 * Throws unless the database is migrated exactly as far as this build needs:
 * for `serve` when migrating at start is turned off. Newer migrations are fine.
 */
export function ensureCurrent(status: MigrationStatus[]): void {
  ensureUnchanged(status);
  const pending = status.filter((s) => s.state === 'pending');
  if (pending.length > 0) {
    throw new MigrationError(
      `the database needs migrations this build depends on (${pending.map(label).join(', ')}): run \`roomgate migrate\``,
    );
  }
}

interface RecordedMigration {
  version: number;
  name: string;
  checksum: string | null;
  applied_at: Date;
}

async function readRecorded(db: pg.Pool | pg.PoolClient): Promise<RecordedMigration[]> {
  // The checksum column arrived after the first release; a database migrated
  // before that has none until the next migrate.
  const { rows } = await db.query<RecordedMigration>(
    `SELECT version, name, to_jsonb(m) ->> 'checksum' AS checksum, applied_at FROM schema_migrations m ORDER BY version`,
  );
  return rows;
}

function statusOf(all: Migration[], recorded: RecordedMigration[]): MigrationStatus[] {
  const known = new Set(all.map((m) => m.version));
  const lines: MigrationStatus[] = all.map((m) => {
    const row = recorded.find((r) => r.version === m.version);
    const state: MigrationState = !row ? 'pending' : row.checksum !== null && row.checksum !== m.checksum ? 'changed' : 'applied';
    return { version: m.version, name: m.name, state, appliedAt: row?.applied_at };
  });
  for (const r of recorded) {
    if (!known.has(r.version)) lines.push({ version: r.version, name: r.name, state: 'newer', appliedAt: r.applied_at });
  }
  return lines.sort((a, b) => a.version - b.version);
}

function ensureUnchanged(status: MigrationStatus[]): void {
  const changed = status.filter((s) => s.state === 'changed');
  if (changed.length > 0) {
    throw new MigrationError(
      `migration ${changed.map(label).join(', ')} differs from the one applied to this database; ` +
        'released migrations must never be edited: restore the file and add a new migration instead',
    );
  }
}

function label(s: { version: number; name: string }): string {
  return `${String(s.version).padStart(4, '0')}_${s.name}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
