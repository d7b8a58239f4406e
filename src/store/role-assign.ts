import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { Environment } from '../domain/principal.js';
import type { PeerRecord } from '../domain/records.js';
import { roleNotFound, samePermissions } from '../domain/roles.js';
import { announceSuperseded } from './peer-supersede.js';
import { PEER_COLUMNS, toPeer, type PeerRow } from './peer-rows.js';
import { query } from './pool.js';
import { lockRole } from './role-lock.js';
import { ROLE_COLUMNS, roleTarget, toRole, type RoleRow } from './role-rows.js';
import { lockRoom } from './room-lock.js';

/**
 * IssuePeerToken's role, inside the caller's transaction: the peer takes the
 * role's current permissions and records the role. When the permissions
 * differ, the generation is bumped with UpdatePeer's peer_token_revoked
 * (cause permissions_changed) and revocation notice, superseding earlier
 * tokens; otherwise only the role is recorded. Undefined when there is no
 * such peer; ERR_ROLE_NOT_FOUND when the role is gone.
 */
export async function assignRoleIn(
  client: pg.PoolClient,
  environment: Environment,
  roomId: string,
  peerId: string,
  role: { id: string; name: string },
): Promise<PeerRecord | undefined> {
  // The role's lock before the room's, as CreatePeer takes them (see lockRole).
  await lockRole(client, environment, role.name, 'shared');
  if (!(await lockRoom(client, environment, roomId))) return undefined;
  const before = await query<PeerRow>(
    client,
    `SELECT $3::text AS environment, ${PEER_COLUMNS} FROM peers p WHERE p.id = $1 AND p.room_id = $2 FOR UPDATE`,
    [peerId, roomId, environment],
  );
  if (!before.rows[0]) return undefined;
  const found = await query<RoleRow>(client, `SELECT ${ROLE_COLUMNS} FROM roles WHERE id = $1 AND environment = $2`, [
    role.id,
    environment,
  ]);
  if (!found.rows[0]) throw roleNotFound(role.name);
  const current = toRole(found.rows[0]);
  const changed = !samePermissions(toPeer(before.rows[0]).permissions, current.permissions);
  const p = current.permissions;
  const { rows } = await query<PeerRow>(
    client,
    `UPDATE peers p SET can_publish = $3, can_subscribe = $4, can_update_metadata = $5, can_update_room = $6,
       can_remove_participants = $7, role_id = $8, role_name = $9,
       generation = p.generation + $10::int, updated_at = now()
     WHERE p.id = $2 AND p.room_id = $1
     RETURNING $11::text AS environment, ${PEER_COLUMNS}`,
    [
      roomId, peerId, p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants,
      current.id, current.name, changed ? 1 : 0, environment,
    ],
  );
  const peer = toPeer(rows[0] as PeerRow);
  auditChange(environment, { type: 'room', id: roomId }, { type: 'peer', id: peerId }, roleTarget(current.name));
  if (changed) await announceSuperseded(client, peer);
  return peer;
}
