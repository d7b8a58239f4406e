import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { Environment } from '../domain/principal.js';
import type { NewRole, RoleStore, RoleUpdate } from '../domain/ports/index.js';
import { roleExists, roleInUse, roleQuotaExceeded, type RoleRecord, type RoleTerms } from '../domain/roles.js';
import { query, withTransaction } from './pool.js';
import { lockRole } from './role-lock.js';
import { ROLE_COLUMNS, roleTarget, toRole, type RoleRow } from './role-rows.js';
import { updateRole } from './role-update.js';

// classid of the advisory lock that serializes the quota check of one
// environment's new roles ("rolq"); see ROLE_LOCK_CLASS in role-lock.ts.
const QUOTA_LOCK_CLASS = 0x726f6c71;

/**
 * A join code that can still be redeemed: what keeps its role from being
 * deleted. The same three conditions as redemption's (docs/join-codes.md).
 */
const LIVE_CODE = 'revoked_at IS NULL AND expires_at > now() AND use_count < max_uses';

/** {@link RoleStore} on Postgres. */
export class PgRoleStore implements RoleStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(role: NewRole, maxRoles: number): Promise<RoleRecord> {
    return withTransaction(this.pool, async (client) => {
      // Creates of other names run concurrently: the count is taken under a
      // lock of the environment's, and counts at most `maxRoles` rows.
      await query(client, 'SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [QUOTA_LOCK_CLASS, role.environment]);
      const taken = await query(client, 'SELECT 1 FROM roles WHERE environment = $1 AND name = $2', [role.environment, role.name]);
      if (taken.rowCount !== 0) throw roleExists(role.name);
      const { rows } = await query<{ n: number }>(
        client,
        'SELECT count(*)::int AS n FROM (SELECT 1 FROM roles WHERE environment = $1 LIMIT $2) s',
        [role.environment, maxRoles],
      );
      if ((rows[0]?.n ?? 0) >= maxRoles) throw roleQuotaExceeded(maxRoles);
      const p = role.permissions;
      // The quota lock does not cover a create of the same name racing this
      // one from before its check: the unique constraint does.
      const inserted = await query<RoleRow>(
        client,
        `INSERT INTO roles (id, environment, name, can_publish, can_subscribe, can_update_metadata, can_update_room,
           can_remove_participants, token_ttl_seconds, metadata, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT ON CONSTRAINT roles_environment_name_key DO NOTHING
         RETURNING ${ROLE_COLUMNS}`,
        [
          role.id, role.environment, role.name, p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom,
          p.canRemoveParticipants, role.tokenTtlSeconds, role.metadata, role.description,
        ],
      );
      if (!inserted.rows[0]) throw roleExists(role.name);
      auditChange(role.environment, roleTarget(role.name));
      return toRole(inserted.rows[0]);
    });
  }

  async get(environment: Environment, name: string): Promise<RoleRecord | undefined> {
    const { rows } = await query<RoleRow>(this.pool, `SELECT ${ROLE_COLUMNS} FROM roles WHERE environment = $1 AND name = $2`, [
      environment,
      name,
    ]);
    return rows[0] && toRole(rows[0]);
  }

  async list(environment: Environment, afterName: string | undefined, limit: number): Promise<RoleRecord[]> {
    // COLLATE "C": byte order, the order of the names' characters whatever the
    // database's collation, and what the page token's comparison needs.
    const { rows } = await query<RoleRow>(
      this.pool,
      `SELECT ${ROLE_COLUMNS} FROM roles
       WHERE environment = $1 AND ($2::text IS NULL OR name COLLATE "C" > $2::text COLLATE "C")
       ORDER BY name COLLATE "C" LIMIT $3`,
      [environment, afterName ?? null, limit],
    );
    return rows.map(toRole);
  }

  update(environment: Environment, name: string, terms: RoleTerms, applyToPeers: boolean): Promise<RoleUpdate | undefined> {
    return updateRole(this.pool, environment, name, terms, applyToPeers);
  }

  async delete(environment: Environment, name: string): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      await lockRole(client, environment, name, 'exclusive');
      // The row lock is what a new join code's foreign key check waits for
      // (FOR KEY SHARE): taken before the count, a CreateJoinCode either
      // committed before it (and is counted, the count's snapshot being
      // newer than the lock) or fails its check once the role is gone.
      const locked = await query<{ id: string }>(client, 'SELECT id FROM roles WHERE environment = $1 AND name = $2 FOR UPDATE', [
        environment,
        name,
      ]);
      const id = locked.rows[0]?.id;
      if (id === undefined) return false;
      const live = await query<{ n: number }>(client, `SELECT count(*)::int AS n FROM join_codes WHERE role_id = $1 AND ${LIVE_CODE}`, [id]);
      const codes = live.rows[0]?.n ?? 0;
      if (codes > 0) throw roleInUse(name, codes);
      // Peers and dead codes keep role_name; their role_id is cleared by the foreign keys.
      await query(client, 'DELETE FROM roles WHERE id = $1', [id]);
      auditChange(environment, roleTarget(name));
      return true;
    });
  }
}
