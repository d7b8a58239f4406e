import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import { DomainError } from '../domain/errors.js';
import type { Environment, PeerPermissions } from '../domain/principal.js';
import type { RoleUpdate } from '../domain/ports/index.js';
import type { RoleTerms } from '../domain/roles.js';
import { notifyRevocations } from './notify.js';
import { appendEvents } from './outbox.js';
import { query, withTransaction } from './pool.js';
import { lockRole } from './role-lock.js';
import { ROLE_COLUMNS, roleTarget, toRole, type RoleRow } from './role-rows.js';

/** Thrown inside the transaction when a room moved on while this one waited for it (see lockRooms in ban-writes.ts). */
const ROOMS_MOVED = new Error("a room took events while UpdateRole waited for its lock");
const MAX_ATTEMPTS = 5;

// The peers of role $1 whose permissions differ from $2..$6.
const DIFFERING = `p.role_id = $1::uuid AND (p.can_publish, p.can_subscribe, p.can_update_metadata, p.can_update_room,
  p.can_remove_participants) IS DISTINCT FROM ($2::boolean, $3::boolean, $4::boolean, $5::boolean, $6::boolean)`;

/** UpdateRole, in one transaction: see RoleStore.update. */
export async function updateRole(
  pool: pg.Pool,
  environment: Environment,
  name: string,
  terms: RoleTerms,
  applyToPeers: boolean,
): Promise<RoleUpdate | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, (client) => updateIn(client, environment, name, terms, applyToPeers));
    } catch (err) {
      if (err !== ROOMS_MOVED) throw err;
      if (attempt === MAX_ATTEMPTS) {
        throw new DomainError('ERR_DB_CONFLICT', "the role's rooms kept changing while UpdateRole waited for them; retry it", {
          cause: err,
        });
      }
    }
  }
}

async function updateIn(
  client: pg.PoolClient,
  environment: Environment,
  name: string,
  terms: RoleTerms,
  applyToPeers: boolean,
): Promise<RoleUpdate | undefined> {
  // No peer gets the role, and no other write changes it, while this is
  // held (lockRole): the peers found below are all of them.
  await lockRole(client, environment, name, 'exclusive');
  const found = await query<{ id: string }>(client, 'SELECT id FROM roles WHERE environment = $1 AND name = $2', [environment, name]);
  const roleId = found.rows[0]?.id;
  if (roleId === undefined) return undefined;
  const rooms = applyToPeers ? await lockRooms(client, roleId, terms.permissions) : [];
  const p = terms.permissions;
  const updated = await query<RoleRow>(
    client,
    `UPDATE roles SET can_publish = $3, can_subscribe = $4, can_update_metadata = $5, can_update_room = $6,
       can_remove_participants = $7, token_ttl_seconds = $8, metadata = $9, description = $10, updated_at = now()
     WHERE environment = $1 AND name = $2 RETURNING ${ROLE_COLUMNS}`,
    [
      environment, name, p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants,
      terms.tokenTtlSeconds, terms.metadata, terms.description,
    ],
  );
  if (!updated.rows[0]) return undefined;
  const role = toRole(updated.rows[0]);
  auditChange(environment, roleTarget(name));
  const updatedPeerIds = rooms.length === 0 ? [] : await supersedePeers(client, environment, roleId, p, rooms);
  return { role, updatedPeerIds };
}

/**
 * Locks, in id order, the rooms of the role's peers whose permissions
 * differ: each gets a peer_token_revoked event. As for an environment-wide
 * ban, a room that took events while this transaction (which may have its
 * id by then) waited for it would get this transaction's events after them
 * with an earlier id, so the rooms' event_seq are read before the locks,
 * while the transaction has no id yet, and compared after, and the
 * transaction is retried if one moved. Every room is compared, the first
 * too: a waiter behind two others takes its id while it waits.
 */
async function lockRooms(client: pg.PoolClient, roleId: string, p: PeerPermissions): Promise<string[]> {
  const seen = await query<{ id: string; event_seq: string }>(
    client,
    `SELECT id, event_seq FROM rooms WHERE id IN (SELECT p.room_id FROM peers p WHERE ${DIFFERING}) ORDER BY id`,
    [roleId, p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants],
  );
  if (seen.rows.length === 0) return [];
  const locked = await query<{ id: string; event_seq: string }>(
    client,
    'SELECT id, event_seq FROM rooms WHERE id = ANY ($1::uuid[]) ORDER BY id FOR UPDATE',
    [seen.rows.map((r) => r.id)],
  );
  const before = new Map(seen.rows.map((r) => [r.id, r.event_seq]));
  if (locked.rows.some((r) => before.get(r.id) !== r.event_seq)) throw ROOMS_MOVED;
  return locked.rows.map((r) => r.id);
}

/**
 * Gives the role's peers in `rooms` whose permissions differ the new ones,
 * as UpdatePeer does each (generation bump, peer_token_revoked with cause
 * permissions_changed, revocation notice), set-based: one statement updates
 * the peers and takes their rooms' sequence numbers, one writes the events,
 * one sends the notices, however many peers there are.
 */
async function supersedePeers(
  client: pg.PoolClient,
  environment: Environment,
  roleId: string,
  p: PeerPermissions,
  rooms: string[],
): Promise<string[]> {
  const { rows } = await query<{ id: string; room_id: string; identity: string; generation: number; room_seq: string }>(
    client,
    `WITH changed AS (
       UPDATE peers p SET can_publish = $2, can_subscribe = $3, can_update_metadata = $4, can_update_room = $5,
         can_remove_participants = $6, generation = p.generation + 1, updated_at = now()
       WHERE ${DIFFERING} AND p.room_id = ANY ($7::uuid[])
       RETURNING p.id, p.room_id, p.identity, p.generation, p.seq
     ), counts AS (
       SELECT room_id, count(*) AS k FROM changed GROUP BY room_id
     ), bumped AS (
       UPDATE rooms r SET event_seq = r.event_seq + c.k FROM counts c WHERE r.id = c.room_id
       RETURNING r.id, r.event_seq - c.k AS base
     )
     SELECT c.id, c.room_id, c.identity, c.generation,
       (b.base + row_number() OVER (PARTITION BY c.room_id ORDER BY c.seq))::text AS room_seq
     FROM changed c JOIN bumped b ON b.id = c.room_id
     ORDER BY c.room_id, c.seq`,
    [roleId, p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants, rooms],
  );
  await appendEvents(
    client,
    environment,
    rows.map((r) => ({
      roomId: r.room_id,
      roomSeq: r.room_seq,
      payload: { type: 'peer_token_revoked', peerId: r.id, identity: r.identity, cause: 'permissions_changed', generation: r.generation },
    })),
  );
  await notifyRevocations(
    client,
    rows.map((r) => ({ kind: 'peer', peerId: r.id })),
  );
  return rows.map((r) => r.id);
}
