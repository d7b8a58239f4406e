import type pg from 'pg';
import type { Environment } from '../domain/principal.js';
import type { ManagementTokenRecord } from '../domain/records.js';
import type { ManagementTokenStore } from '../domain/stores.js';
import { query, withTransaction } from './pool.js';

interface TokenRow {
  id: string;
  environment: Environment;
  name: string;
  hint: string;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, environment, name, hint, created_at, last_used_at, expires_at, revoked_at';

function toRecord(r: TokenRow): ManagementTokenRecord {
  return {
    id: r.id,
    environment: r.environment,
    name: r.name,
    hint: r.hint,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

/** Serializes first-start bootstrap across processes sharing one database. */
const BOOTSTRAP_LOCK_KEY = '7526575151283761153';

type NewToken = { id: string; environment: Environment; name: string; hash: Buffer; hint: string };

/** {@link ManagementTokenStore} on Postgres. Only hashes are stored. */
export class PgManagementTokenStore implements ManagementTokenStore {
  constructor(private readonly pool: pg.Pool) {}

  async insert(t: NewToken): Promise<ManagementTokenRecord> {
    const { rows } = await query<TokenRow>(
      this.pool,
      `INSERT INTO management_tokens (id, environment, name, token_hash, hint) VALUES ($1, $2, $3, $4, $5)
       RETURNING ${COLUMNS}`,
      [t.id, t.environment, t.name, t.hash, t.hint],
    );
    return toRecord(rows[0] as TokenRow);
  }

  async insertIfNone(t: NewToken): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      await query(client, 'SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      const { rowCount } = await query(
        client,
        `INSERT INTO management_tokens (id, environment, name, token_hash, hint)
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM management_tokens)`,
        [t.id, t.environment, t.name, t.hash, t.hint],
      );
      return rowCount === 1;
    });
  }

  async findByHash(hash: Buffer): Promise<ManagementTokenRecord | undefined> {
    const { rows } = await query<TokenRow>(this.pool, `SELECT ${COLUMNS} FROM management_tokens WHERE token_hash = $1`, [
      hash,
    ]);
    return rows[0] && toRecord(rows[0]);
  }
}
