import type pg from 'pg';
import type { AuditTarget } from '../domain/audit-record.js';
import type { Environment } from '../domain/principal.js';
import type { RoleRecord } from '../domain/roles.js';
import { query } from './pool.js';

/** A roles row as pg returns it. */
export interface RoleRow {
  id: string;
  environment: Environment;
  name: string;
  can_publish: boolean;
  can_subscribe: boolean;
  can_update_metadata: boolean;
  can_update_room: boolean;
  can_remove_participants: boolean;
  token_ttl_seconds: number;
  metadata: string;
  description: string;
  created_at: Date;
  updated_at: Date;
}

/** The roles columns {@link toRole} reads. */
export const ROLE_COLUMNS = `id, environment, name, can_publish, can_subscribe, can_update_metadata, can_update_room,
  can_remove_participants, token_ttl_seconds, metadata, description, created_at, updated_at`;

/** A row as the domain's record. */
export function toRole(r: RoleRow): RoleRecord {
  return {
    id: r.id,
    environment: r.environment,
    name: r.name,
    permissions: {
      canPublish: r.can_publish,
      canSubscribe: r.can_subscribe,
      canUpdateMetadata: r.can_update_metadata,
      canUpdateRoom: r.can_update_room,
      canRemoveParticipants: r.can_remove_participants,
    },
    tokenTtlSeconds: r.token_ttl_seconds,
    metadata: r.metadata,
    description: r.description,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * A role's audit target. Roles are named by name in the API (the id is
 * internal), so the record names the role the way a reader asks for it.
 */
export function roleTarget(name: string): AuditTarget {
  return { type: 'role', id: name };
}

/** Whether the environment's role with this id still exists. */
export async function roleIdExists(db: pg.Pool | pg.PoolClient, environment: Environment, roleId: string): Promise<boolean> {
  const { rowCount } = await query(db, 'SELECT 1 FROM roles WHERE id = $1 AND environment = $2', [roleId, environment]);
  return rowCount === 1;
}
