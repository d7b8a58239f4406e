import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import { DomainError } from '../domain/errors.js';
import type { SigningKeyRecord } from '../domain/records.js';
import { NOTIFY_CHANNELS } from '../domain/revocation-notice.js';
import type { NewSigningKey, RotationSchedule, SigningKeyStore } from '../domain/ports/index.js';
import { query, withTransaction } from './pool.js';

interface KeyRow {
  kid: string;
  algorithm: string;
  public_jwk: Record<string, unknown>;
  private_key_encrypted: Buffer;
  created_at: Date;
  activated_at: Date;
  retired_at: Date | null;
}

const COLUMNS = 'kid, algorithm, public_jwk, private_key_encrypted, created_at, activated_at, retired_at';

/** Serializes creation of the first signing key and rotations across instances. */
const KEY_LOCK_KEY = '7526575151283761154';

function toRecord(r: KeyRow): SigningKeyRecord {
  return {
    kid: r.kid,
    algorithm: r.algorithm,
    publicJwk: r.public_jwk,
    privateKeyEncrypted: r.private_key_encrypted,
    createdAt: r.created_at,
    activatedAt: r.activated_at,
    retiredAt: r.retired_at,
  };
}

/** {@link SigningKeyStore} on Postgres. */
export class PgSigningKeyStore implements SigningKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async listUsable(now: Date): Promise<SigningKeyRecord[]> {
    return this.listWith(this.pool, now);
  }

  async ensureActive(candidate: NewSigningKey, now: Date): Promise<SigningKeyRecord[]> {
    return withTransaction(this.pool, async (client) => {
      await query(client, 'SELECT pg_advisory_xact_lock($1)', [KEY_LOCK_KEY]);
      await query(
        client,
        `INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_encrypted, activated_at)
         SELECT $1, $2, $3, $4, $5
         WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE activated_at IS NOT NULL AND retired_at IS NULL)`,
        [...insertValues(candidate), now],
      );
      return this.listWith(client, now);
    });
  }

  async rotate(candidate: NewSigningKey, schedule: RotationSchedule): Promise<SigningKeyRecord[]> {
    return withTransaction(this.pool, async (client) => {
      // Under the same lock as the first key's creation, so two concurrent
      // rotations cannot both see "nothing pending" and both insert.
      await query(client, 'SELECT pg_advisory_xact_lock($1)', [KEY_LOCK_KEY]);
      const pending = await query<{ kid: string; activated_at: Date }>(
        client,
        `SELECT kid, activated_at FROM signing_keys
         WHERE activated_at > $1 AND (retired_at IS NULL OR retired_at > $1)
         ORDER BY activated_at LIMIT 1`,
        [schedule.now],
      );
      const next = pending.rows[0];
      if (next) {
        throw new DomainError(
          'ERR_ROTATION_PENDING',
          `signing key ${next.kid} is already published and starts signing at ` +
            `${next.activated_at.toISOString()}; rotate again after that`,
        );
      }
      await query(
        client,
        'UPDATE signing_keys SET retired_at = $1 WHERE activated_at IS NOT NULL AND retired_at IS NULL',
        [schedule.retirePreviousAt],
      );
      await query(
        client,
        `INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_encrypted, activated_at)
         VALUES ($1, $2, $3, $4, $5)`,
        [...insertValues(candidate), schedule.activateAt],
      );
      // Keys belong to no environment: the record goes to the caller's.
      auditChange(undefined, { type: 'signing_key', id: candidate.kid });
      // Instances LISTEN and reload their key ring. Delivered on COMMIT only, so
      // no instance reloads before the key is visible.
      await query(client, 'SELECT pg_notify($1, $2)', [NOTIFY_CHANNELS.signingKeys, candidate.kid]);
      return this.listWith(client, schedule.now);
    });
  }

  private async listWith(db: pg.Pool | pg.PoolClient, now: Date): Promise<SigningKeyRecord[]> {
    const { rows } = await query<KeyRow>(
      db,
      `SELECT ${COLUMNS} FROM signing_keys
       WHERE activated_at IS NOT NULL AND (retired_at IS NULL OR retired_at > $1)
       ORDER BY activated_at DESC, created_at DESC`,
      [now],
    );
    return rows.map(toRecord);
  }
}

function insertValues(k: NewSigningKey): unknown[] {
  return [k.kid, k.algorithm, JSON.stringify(k.publicJwk), k.privateKeyEncrypted];
}
