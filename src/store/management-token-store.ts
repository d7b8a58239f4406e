import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { Environment, Scope } from '../domain/principal.js';
import type { ManagementTokenRecord } from '../domain/records.js';
import type { ManagementTokenStore, NewManagementToken } from '../domain/ports/index.js';
import { notifyRevocation } from './notify.js';
import { prepared, query, withTransaction } from './pool.js';

interface TokenRow {
  id: string;
  seq: string;
  environment: Environment;
  name: string;
  hint: string;
  scopes: Scope[];
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, seq, environment, name, hint, scopes, created_at, last_used_at, expires_at, revoked_at';

function toRecord(r: TokenRow): ManagementTokenRecord {
  return {
    id: r.id,
    seq: r.seq,
    environment: r.environment,
    name: r.name,
    hint: r.hint,
    scopes: r.scopes,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

/** Serializes first-start bootstrap across processes sharing one database. */
const BOOTSTRAP_LOCK_KEY = '7526575151283761153';

const INSERT = `INSERT INTO management_tokens (id, environment, name, token_hash, hint, scopes, expires_at)`;
const values = (t: NewManagementToken) => [t.id, t.environment, t.name, t.hash, t.hint, t.scopes, t.expiresAt];

const FIND_BY_HASH = prepared('management_token_by_hash', `SELECT ${COLUMNS} FROM management_tokens WHERE token_hash = $1`);

/** {@link ManagementTokenStore} on Postgres. Only hashes are stored. */
export class PgManagementTokenStore implements ManagementTokenStore {
  constructor(private readonly pool: pg.Pool) {}

  async insert(t: NewManagementToken): Promise<ManagementTokenRecord> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await query<TokenRow>(client, `${INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`, values(t));
      auditChange(t.environment, { type: 'management_token', id: t.id });
      return toRecord(rows[0] as TokenRow);
    });
  }

  async insertIfNone(t: NewManagementToken): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      await query(client, 'SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      const { rowCount } = await query(
        client,
        `${INSERT} SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM management_tokens)`,
        values(t),
      );
      if (rowCount === 1) auditChange(t.environment, { type: 'management_token', id: t.id });
      return rowCount === 1;
    });
  }

  async findByHash(hash: Buffer): Promise<ManagementTokenRecord | undefined> {
    const { rows } = await query<TokenRow>(this.pool, FIND_BY_HASH, [hash]);
    return rows[0] && toRecord(rows[0]);
  }

  async find(environment: Environment, id: string): Promise<ManagementTokenRecord | undefined> {
    const { rows } = await query<TokenRow>(
      this.pool,
      `SELECT ${COLUMNS} FROM management_tokens WHERE id = $1 AND environment = $2`,
      [id, environment],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<ManagementTokenRecord[]> {
    const { rows } = await query<TokenRow>(
      this.pool,
      `SELECT ${COLUMNS} FROM management_tokens WHERE environment = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [environment, afterSeq ?? '0', limit],
    );
    return rows.map(toRecord);
  }

  async revoke(environment: Environment, id: string, at: Date): Promise<ManagementTokenRecord | undefined> {
    return withTransaction(this.pool, async (client) => {
      // A second revocation may shorten a grace period, never extend it.
      const { rows } = await query<TokenRow>(
        client,
        `UPDATE management_tokens SET revoked_at = LEAST(COALESCE(revoked_at, $3), $3)
         WHERE id = $1 AND environment = $2 RETURNING ${COLUMNS}`,
        [id, environment, at],
      );
      if (rows[0]) {
        auditChange(environment, { type: 'management_token', id });
        await notifyRevocation(client, { kind: 'management-token', tokenId: id });
      }
      return rows[0] && toRecord(rows[0]);
    });
  }

  async recordUse(entries: Map<string, Date>): Promise<void> {
    if (entries.size === 0) return;
    await query(
      this.pool,
      `UPDATE management_tokens t SET last_used_at = GREATEST(t.last_used_at, u.at)
       FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at) WHERE t.id = u.id`,
      [[...entries.keys()], [...entries.values()]],
    );
  }
}
