import type pg from 'pg';
import type { BanRecord } from '../domain/bans.js';
import type { Environment } from '../domain/principal.js';
import { prepared, query } from './pool.js';

/** A bans row as pg returns it. */
export interface BanRow {
  id: string;
  seq: string;
  environment: Environment;
  identity: string;
  room_id: string | null;
  reason: string;
  created_at: Date;
  expires_at: Date | null;
}

/** The bans columns {@link toBan} reads. */
export const BAN_COLUMNS = 'id, seq, environment, identity, room_id, reason, created_at, expires_at';

/** Whether a ban applies now, in the database's time: a ban stops applying at its expiry, swept or not. */
export const BAN_ACTIVE = '(expires_at IS NULL OR expires_at > now())';

/** A row as the domain's record. */
export function toBan(r: BanRow): BanRecord {
  return {
    id: r.id,
    seq: r.seq,
    environment: r.environment,
    identity: r.identity,
    roomId: r.room_id,
    reason: r.reason,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  };
}

// classid of the two-key advisory locks on (environment, identity): "bans" in
// ASCII. The two-key form is a lock space of its own, apart from the one-key
// locks of migrations, signing keys and the bootstrap token.
const IDENTITY_LOCK_CLASS = 0x62616e73;

const LOCK_IDENTITY = prepared(
  'lock_identity',
  'SELECT pg_advisory_xact_lock($1::int, hashtext($2::text || \'/\' || $3::text))',
);

/**
 * Serializes, until the transaction ends, everything that bans an identity
 * with every CreatePeer of it, on every instance: a CreatePeer that checked
 * for bans before a ban committed has inserted its peer before the ban looks
 * for the identity's peers, and one that checks after sees the ban. A
 * transaction-scoped advisory lock, so it holds through a transaction pooler
 * (PgBouncer in transaction mode) too. Taken before any row lock, and it
 * assigns no transaction id, so the room lock that follows still comes
 * before the id (see RESERVE_SEAT in peer-store.ts). A hash collision only
 * serializes two identities that need not be.
 */
export async function lockIdentity(client: pg.PoolClient, environment: Environment, identity: string): Promise<void> {
  await query(client, LOCK_IDENTITY, [IDENTITY_LOCK_CLASS, environment, identity]);
}

const ACTIVE_BAN_OF = prepared(
  'active_ban_of',
  `SELECT ${BAN_COLUMNS} FROM bans
   WHERE environment = $1 AND identity = $2 AND (room_id IS NULL OR room_id = $3::uuid) AND ${BAN_ACTIVE}
   ORDER BY room_id NULLS FIRST LIMIT 1`,
);

/** The active ban that keeps `identity` out of `roomId` (an environment-wide one first), if any. */
export async function activeBanOf(
  db: pg.Pool | pg.PoolClient,
  environment: Environment,
  identity: string,
  roomId: string,
): Promise<BanRecord | undefined> {
  const { rows } = await query<BanRow>(db, ACTIVE_BAN_OF, [environment, identity, roomId]);
  return rows[0] && toBan(rows[0]);
}
