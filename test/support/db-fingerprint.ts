// A fingerprint of everything roomgate keeps in Postgres, to assert that a
// rejected call changed nothing, and a dump of it all as text. It covers every base table of the public
// schema (found in information_schema, so a table added by a later migration
// is covered without touching this file) and the state of every sequence, so
// even an INSERT that was attempted and rolled back (which still consumes an
// identity value) shows up.
//
// One effect is left out on purpose: management_tokens.last_used_at. The
// server records token use in memory and writes it in batches, at most once a
// minute and asynchronously (LastUsedTracker), so that column can change
// between two fingerprints because of an earlier, legitimate call. Every other
// column of management_tokens is still compared.
//
// schema_migrations is left out too: only the migration runner writes it.
//
// So is the audit log (audit_events and its chain heads): a call refused with
// PERMISSION_DENIED is recorded there by design, and that record is what
// test/integration/audit-recording*.test.ts assert, row by row.
//
// So are RedeemJoinCode's rate limit counters (join_rate_limits): every
// attempt is counted before the code is looked up, a refused one too, by
// design (docs/join-codes.md, "Rate limits").
//
// Isolation: each test file has a database of its own (database.ts) and runs
// its tests one at a time, so between two fingerprints only the call under
// test, or the server's own background work, can change anything.
import pg from 'pg';
import { expect } from 'vitest';

/** Columns that change independently of the call under test, by table. */
const VOLATILE_COLUMNS: Record<string, string[]> = {
  management_tokens: ['last_used_at'],
};

const IGNORED_TABLES = ['schema_migrations', 'audit_events', 'audit_chain_heads', 'join_rate_limits'];

/** Per table, its row count and an md5 of all its rows; per sequence, its state. */
export type DbFingerprint = Record<string, string>;

/** The base tables of the public schema, by name, but those in `ignored`. */
async function publicTables(pool: pg.Pool, ignored: string[] = []): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND NOT (table_name = ANY($1))
     ORDER BY table_name`,
    [ignored],
  );
  return rows.map((r) => r.name);
}

/** Reads the fingerprint of the database behind `pool`. */
export async function dbFingerprint(pool: pg.Pool): Promise<DbFingerprint> {
  const fingerprint: DbFingerprint = {};
  for (const name of await publicTables(pool, IGNORED_TABLES)) {
    const table = pg.escapeIdentifier(name);
    // to_jsonb(row) minus the volatile keys: the whole row, every column, as text.
    const { rows } = await pool.query<{ n: number; digest: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(r, '|' ORDER BY r), '')) AS digest
       FROM (SELECT (to_jsonb(t) - $1::text[])::text AS r FROM ${table} t) rows`,
      [VOLATILE_COLUMNS[name] ?? []],
    );
    fingerprint[`table ${name}`] = `${rows[0]!.n} rows, md5 ${rows[0]!.digest}`;
  }
  const { rows: sequences } = await pool.query<{ name: string; last_value: string | null }>(
    `SELECT sequencename AS name, last_value::text FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename`,
  );
  for (const s of sequences) fingerprint[`sequence ${s.name}`] = s.last_value ?? 'unused';
  return fingerprint;
}

/** Runs `action` and asserts that the database is the same afterwards; returns what `action` returned. */
export async function expectDbUnchanged<T>(pool: pg.Pool, action: () => Promise<T>): Promise<T> {
  const before = await dbFingerprint(pool);
  const result = await action();
  expect(await dbFingerprint(pool), 'the database changed').toEqual(before);
  return result;
}

/**
 * Every row of every table of the public schema as text, one line each
 * (`table: (col1,col2,...)`), the way Postgres prints a row: bytea as \x hex,
 * jsonb and arrays in their text forms. Nothing is left out.
 */
export async function dumpDatabase(pool: pg.Pool): Promise<string> {
  const lines: string[] = [];
  for (const name of await publicTables(pool)) {
    const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${pg.escapeIdentifier(name)} t`);
    lines.push(...rows.map((r) => `${name}: ${r.row}`));
  }
  return lines.join('\n');
}
