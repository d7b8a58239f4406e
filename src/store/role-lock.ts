import type pg from 'pg';
import type { Environment } from '../domain/principal.js';
import { prepared, query } from './pool.js';

// classid of the two-key advisory locks on (environment, role name): "role"
// in ASCII, a lock space apart from the identity ("bans") and quota locks.
const ROLE_LOCK_CLASS = 0x726f6c65;

const LOCK_ROLE = prepared('lock_role', "SELECT pg_advisory_xact_lock($1::int, hashtext($2::text || '/' || $3::text))");
const LOCK_ROLE_SHARED = prepared(
  'lock_role_shared',
  "SELECT pg_advisory_xact_lock_shared($1::int, hashtext($2::text || '/' || $3::text))",
);

/**
 * Serializes, until the transaction ends, a write of the role (UpdateRole,
 * DeleteRole: exclusive) with every write that gives a peer the role
 * (CreatePeer, IssuePeerToken, a join code's redemption: shared, so those run
 * side by side). A peer made with the old permissions has therefore committed
 * before UpdateRole's apply_to_existing_peers looks for the role's peers, and
 * one made after reads the new ones. Names never change, so the name is the
 * key, known before the role is read.
 *
 * Why an advisory lock and not the role's row lock: a row lock gives the
 * transaction its id, and a peer write must hold its room's lock before it
 * has one (see RESERVE_SEAT in peer-store.ts); and a row lock taken after the
 * room's would deadlock with UpdateRole, which locks the role before the
 * rooms. Taken before any row lock, after the identity's (lockIdentity). A
 * hash collision only serializes two roles that need not be.
 */
export async function lockRole(
  client: pg.PoolClient,
  environment: Environment,
  name: string,
  mode: 'exclusive' | 'shared',
): Promise<void> {
  await query(client, mode === 'shared' ? LOCK_ROLE_SHARED : LOCK_ROLE, [ROLE_LOCK_CLASS, environment, name]);
}
