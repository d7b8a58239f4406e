// join_codes rows written with SQL, for the role tests: DeleteRole must be
// refused while a code that can still be redeemed names the role, and the
// JoinCodeService that makes codes is built elsewhere. The rows are what
// migration 0010 describes (hash only, a hint, max_uses, use_count, expiry,
// revocation); nothing here redeems them. Each test file has its own
// database (see database.ts), so rows never leak between files.
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Environment } from '../../src/domain/principal.js';

/** What a code row is made of; unset fields make a live link code good for 10 uses and an hour. */
export interface JoinCodeRow {
  environment?: Environment;
  roomId: string;
  /** The role's name; its id is looked up in the environment unless roleId is given. */
  roleName: string;
  roleId?: string;
  maxUses?: number;
  useCount?: number;
  /** Seconds from the database's now(); negative for an expired code. */
  expiresInSeconds?: number;
  revoked?: boolean;
}

/**
 * Inserts a join code with SQL, as CreateJoinCode would (its foreign key
 * check on the role waits for DeleteRole's row lock); returns its id.
 * Rejects with the pg error (23503) when the role is gone.
 */
export async function insertJoinCode(db: pg.Pool | pg.PoolClient, row: JoinCodeRow): Promise<string> {
  const id = randomUUID();
  const environment = row.environment ?? 'sandbox';
  await db.query(
    `INSERT INTO join_codes (id, environment, room_id, role_id, role_name, kind, code_hash, code_hint, max_uses, use_count,
       expires_at, revoked_at)
     VALUES ($1, $2, $3, COALESCE($4::uuid, (SELECT id FROM roles WHERE environment = $2 AND name = $5)), $5, 'link', $6, 'test',
       $7, $8, now() + make_interval(secs => $9::int), CASE WHEN $10::boolean THEN now() END)`,
    [
      id, environment, row.roomId, row.roleId ?? null, row.roleName, randomBytes(32), row.maxUses ?? 10, row.useCount ?? 0,
      row.expiresInSeconds ?? 3600, row.revoked ?? false,
    ],
  );
  return id;
}

/** A join code row's role columns. */
export async function joinCodeRole(db: pg.Pool, id: string): Promise<{ role_id: string | null; role_name: string }> {
  const { rows } = await db.query<{ role_id: string | null; role_name: string }>('SELECT role_id, role_name FROM join_codes WHERE id = $1', [id]);
  if (!rows[0]) throw new Error(`no join code ${id}`);
  return rows[0];
}

/** The role's internal id, or undefined when the environment has no such role. */
export async function roleIdOf(db: pg.Pool, name: string, environment: Environment = 'sandbox'): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM roles WHERE environment = $1 AND name = $2', [environment, name]);
  return rows[0]?.id;
}
