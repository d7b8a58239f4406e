import type pg from 'pg';
import type { SigningKeyRecord } from '../domain/records.js';
import type { SigningKeyStore } from '../domain/stores.js';
import { query, withTransaction } from './pool.js';

interface KeyRow {
  kid: string;
  algorithm: string;
  public_jwk: Record<string, unknown>;
  private_key_encrypted: Buffer;
  created_at: Date;
  activated_at: Date | null;
}

const COLUMNS = 'kid, algorithm, public_jwk, private_key_encrypted, created_at, activated_at';

/** Serializes creation of the first signing key across instances. */
const KEY_LOCK_KEY = '7526575151283761154';

function toRecord(r: KeyRow): SigningKeyRecord {
  return {
    kid: r.kid,
    algorithm: r.algorithm,
    publicJwk: r.public_jwk,
    privateKeyEncrypted: r.private_key_encrypted,
    createdAt: r.created_at,
    activatedAt: r.activated_at,
  };
}

/** {@link SigningKeyStore} on Postgres. */
export class PgSigningKeyStore implements SigningKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async listUsable(): Promise<SigningKeyRecord[]> {
    return this.listWith(this.pool);
  }

  async ensureActive(candidate: Omit<SigningKeyRecord, 'createdAt' | 'activatedAt'>): Promise<SigningKeyRecord[]> {
    return withTransaction(this.pool, async (client) => {
      await query(client, 'SELECT pg_advisory_xact_lock($1)', [KEY_LOCK_KEY]);
      await query(
        client,
        `INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_encrypted, activated_at)
         SELECT $1, $2, $3, $4, now()
         WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE activated_at IS NOT NULL AND retired_at IS NULL)`,
        [candidate.kid, candidate.algorithm, JSON.stringify(candidate.publicJwk), candidate.privateKeyEncrypted],
      );
      return this.listWith(client);
    });
  }

  private async listWith(db: pg.Pool | pg.PoolClient): Promise<SigningKeyRecord[]> {
    const { rows } = await query<KeyRow>(
      db,
      `SELECT ${COLUMNS} FROM signing_keys WHERE retired_at IS NULL ORDER BY activated_at DESC NULLS LAST, created_at DESC`,
    );
    return rows.map(toRecord);
  }
}
