import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import { identityBanned } from '../domain/bans.js';
import { roleNotFound } from '../domain/roles.js';
import { DomainError } from '../domain/errors.js';
import type { Environment, PeerPermissions } from '../domain/principal.js';
import type { IdempotencyKey, PeerRecord, PeerStatus, TokenStamp } from '../domain/records.js';
import type { BanOutcome, NewPeer, PeerLiveness, PeerStore } from '../domain/ports/index.js';
import type { BanTerms } from '../domain/bans.js';
import { activeBanOf, lockIdentity } from './ban-rows.js';
import { makeBan } from './ban-writes.js';
import { claimIdempotencyKey } from './idempotency-keys.js';
import { appendEvent, nextRoomSeq } from './outbox.js';
import { announceSuperseded } from './peer-supersede.js';
import { PEER_COLUMNS, toPeer, type PeerRow } from './peer-rows.js';
import { deletePeerIn } from './peer-deletes.js';
import { prepared, query, withTransaction } from './pool.js';
import { assignRoleIn } from './role-assign.js';
import { lockRole } from './role-lock.js';
import { roleIdExists, roleTarget } from './role-rows.js';
import { lockRoom, roomExists } from './room-lock.js';

// The reads and writes of every CreatePeer and VerifyPeerToken, planned once per connection.
/**
 * CreatePeer's seat: the room is locked by a FOR UPDATE subquery, which takes
 * its transaction id only once it holds the row (a plain UPDATE takes one
 * before it waits), and max_peers is checked and taken in the same statement.
 */
const RESERVE_SEAT = prepared(
  'reserve_seat',
  `UPDATE rooms SET peer_count = peer_count + 1, event_seq = event_seq + 1
   WHERE id = (SELECT id FROM rooms WHERE id = $1 AND environment = $2 FOR UPDATE)
     AND (max_peers = 0 OR peer_count < max_peers)
   RETURNING event_seq`,
);
/**
 * Inserts the peer unless an active ban keeps its identity out of the room;
 * no row then. The identity's lock is held (see lockIdentity), and this
 * statement's snapshot is taken after it, so a ban that committed while
 * CreatePeer waited for the lock is seen. A peer with a role ($12) takes the
 * role's permissions as they are now, under the role's lock (see lockRole),
 * not as the caller read them: no row when the role is gone.
 */
const INSERT_PEER = prepared(
  'insert_peer',
  `INSERT INTO peers AS p (id, room_id, identity, name, metadata, can_publish, can_subscribe,
     can_update_metadata, can_update_room, can_remove_participants, role_id, role_name)
   SELECT $1::uuid, $2::uuid, $3::text, $4::text, $5::text,
     COALESCE(ro.can_publish, $6::boolean), COALESCE(ro.can_subscribe, $7::boolean),
     COALESCE(ro.can_update_metadata, $8::boolean), COALESCE(ro.can_update_room, $9::boolean),
     COALESCE(ro.can_remove_participants, $10::boolean), $12::uuid, $13::text
   FROM (VALUES (1)) one LEFT JOIN roles ro ON ro.id = $12::uuid AND ro.environment = $11::text
   WHERE ($12::uuid IS NULL OR ro.id IS NOT NULL) AND NOT EXISTS (
     SELECT 1 FROM bans b WHERE b.environment = $11::text AND b.identity = $3::text
       AND (b.room_id IS NULL OR b.room_id = $2::uuid) AND (b.expires_at IS NULL OR b.expires_at > now()))
   RETURNING $11::text AS environment, ${PEER_COLUMNS}`,
);
const PEER_LIVENESS = prepared(
  'peer_liveness',
  `SELECT p.generation, p.created_at FROM peers p JOIN rooms r ON r.id = p.room_id
   WHERE p.id = $3 AND p.room_id = $1 AND r.environment = $2`,
);
const GET_PEER = prepared(
  'get_peer',
  `SELECT r.environment, ${PEER_COLUMNS} FROM peers p JOIN rooms r ON r.id = p.room_id
   WHERE p.id = $3 AND p.room_id = $1 AND r.environment = $2`,
);

const roomNotFound = () => new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');

/** Thrown inside CreatePeer's transaction to roll it back when the request_id was already used. */
const REPLAY = new Error('idempotent replay');

/**
 * Takes a new peer's first locks, before any row lock: its identity's, as
 * every ban of the identity takes it; then its role's, shared, so that
 * UpdateRole's apply_to_existing_peers waits for this peer, or this peer
 * reads the role it wrote (see lockRole).
 */
export async function lockNewPeer(client: pg.PoolClient, peer: NewPeer): Promise<void> {
  await lockIdentity(client, peer.environment, peer.identity);
  if (peer.roleId !== null) await lockRole(client, peer.environment, peer.role, 'shared');
}

/**
 * Takes a seat in the room for `peer` (see RESERVE_SEAT), locking the room:
 * the room's next event sequence number, or undefined when the room is full
 * or not in the environment. lockNewPeer's locks come first.
 */
export async function reserveSeat(client: pg.PoolClient, peer: Pick<NewPeer, 'roomId' | 'environment'>): Promise<string | undefined> {
  const reserved = await query<{ event_seq: string }>(client, RESERVE_SEAT, [peer.roomId, peer.environment]);
  return reserved.rows[0]?.event_seq;
}

/**
 * Inserts `peer` into its reserved seat (`roomSeq`, from reserveSeat) with
 * its audit targets and peer_created event, or fails with ERR_IDENTITY_BANNED,
 * ERR_ROLE_NOT_FOUND (its role was deleted) or ERR_PEER_IDENTITY_TAKEN (from
 * the unique key): the one insert of CreatePeer and RedeemJoinCode.
 */
export async function insertPeerIn(client: pg.PoolClient, peer: NewPeer, roomSeq: string): Promise<PeerRecord> {
  const p = peer.permissions;
  const { rows } = await query<PeerRow>(
    client,
    INSERT_PEER,
    [
      peer.id, peer.roomId, peer.identity, peer.name, peer.metadata,
      p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants,
      peer.environment, peer.roleId, peer.role,
    ],
  );
  if (!rows[0]) {
    const ban = await activeBanOf(client, peer.environment, peer.identity, peer.roomId);
    if (ban) throw identityBanned(ban);
    if (peer.roleId !== null && !(await roleIdExists(client, peer.environment, peer.roleId))) throw roleNotFound(peer.role);
    // The ban was lifted between the two statements (a lift takes no identity lock).
    throw new DomainError('ERR_DB_CONFLICT', "the identity's ban was lifted during the request; retry it");
  }
  const record = toPeer(rows[0]);
  auditChange(peer.environment, { type: 'room', id: peer.roomId }, { type: 'peer', id: peer.id }, ...(peer.roleId === null ? [] : [roleTarget(peer.role)]));
  await appendEvent(client, { environment: peer.environment, roomId: peer.roomId, roomSeq, payload: { type: 'peer_created', peer: record } });
  return record;
}

/** {@link PeerStore} on Postgres. */
export class PgPeerStore implements PeerStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(
    peer: NewPeer,
    key: IdempotencyKey | null,
  ): Promise<{ peer: PeerRecord; stamp: TokenStamp; replayed: boolean }> {
    let replayOf: { peerId: string; stamp: TokenStamp } | undefined;
    const created = await withTransaction(this.pool, async (client) => {
      await lockNewPeer(client, peer);
      // The room's lock comes next, before anything takes a transaction id:
      // the event stream is ordered by transaction id, so whoever holds the
      // room's next sequence number must also get the later id (see
      // RESERVE_SEAT). The lock serializes joins: max_peers is never counted
      // and then inserted.
      const roomSeq = await reserveSeat(client, peer);
      if (key) {
        // A full room must still answer a retry of the request that filled it.
        if (roomSeq === undefined && !(await lockRoom(client, peer.environment, peer.roomId))) throw roomNotFound();
        const claim = await claimIdempotencyKey(client, peer.environment, 'CreatePeer', key, { peerId: peer.id, stamp: peer.stamp });
        if (!claim.fresh) {
          // Roll back the increment; the first request's peer is read below.
          replayOf = claim.result;
          throw REPLAY;
        }
      }
      if (roomSeq === undefined) {
        if (key || (await roomExists(client, peer.environment, peer.roomId))) {
          throw new DomainError('ERR_ROOM_FULL', 'the room is full: it already has max_peers peers');
        }
        throw roomNotFound();
      }
      return insertPeerIn(client, peer, roomSeq);
    }).catch((err: unknown) => {
      if (err === REPLAY) return undefined;
      throw err;
    });
    if (created) return { peer: created, stamp: peer.stamp, replayed: false };
    const first = replayOf && (await this.get(peer.environment, peer.roomId, replayOf.peerId));
    if (!replayOf || !first) {
      throw new DomainError('ERR_IDEMPOTENT_TARGET_GONE', 'the peer this request_id created has since been deleted');
    }
    return { peer: first, stamp: replayOf.stamp, replayed: true };
  }

  get(environment: Environment, roomId: string, peerId: string): Promise<PeerRecord | undefined> {
    return this.getWith(this.pool, environment, roomId, peerId);
  }

  async list(
    environment: Environment,
    roomId: string,
    afterSeq: string | undefined,
    limit: number,
  ): Promise<PeerRecord[] | undefined> {
    // One statement: the room check and the page come from one snapshot.
    const { rows } = await query<PeerRow & { id: string | null }>(
      this.pool,
      `SELECT r.environment, ${PEER_COLUMNS}
       FROM rooms r LEFT JOIN LATERAL (
         SELECT * FROM peers WHERE room_id = r.id AND seq > $3 ORDER BY seq LIMIT $4
       ) p ON true
       WHERE r.id = $1 AND r.environment = $2
       ORDER BY p.seq`,
      [roomId, environment, afterSeq ?? '0', limit],
    );
    if (rows.length === 0) return undefined;
    return rows.filter((r) => r.id !== null).map(toPeer);
  }

  async delete(environment: Environment, roomId: string, peerId: string): Promise<boolean> {
    return withTransaction(this.pool, (client) => deletePeerIn(client, environment, roomId, peerId));
  }

  async deleteAndBan(
    environment: Environment,
    roomId: string,
    peerId: string,
    ban: Omit<BanTerms, 'identity'> & { id: string },
    maxActiveBans: number,
  ): Promise<BanOutcome | undefined> {
    // The identity is read first, to take its lock before the room's; the
    // ban checks under the locks that the peer (whose identity never
    // changes) still exists.
    const peer = await this.get(environment, roomId, peerId);
    if (!peer) return undefined;
    return makeBan(
      this.pool,
      { ...ban, environment, identity: peer.identity },
      { maxActiveBans, target: { roomId, peerId }, keepExisting: true },
    );
  }

  async updateClientMetadata(
    environment: Environment,
    roomId: string,
    peerId: string,
    clientMetadata: string,
  ): Promise<PeerRecord | undefined> {
    return withTransaction(this.pool, async (client) => {
      if (!(await lockRoom(client, environment, roomId))) return undefined;
      const { rows } = await query<PeerRow>(
        client,
        `UPDATE peers p SET client_metadata = $3, updated_at = now()
         WHERE p.id = $2 AND p.room_id = $1 RETURNING $4::text AS environment, ${PEER_COLUMNS}`,
        [roomId, peerId, clientMetadata, environment],
      );
      if (!rows[0]) return undefined;
      const peer = toPeer(rows[0]);
      auditChange(environment, { type: 'room', id: roomId }, { type: 'peer', id: peerId });
      const roomSeq = await nextRoomSeq(client, roomId);
      await appendEvent(client, { environment, roomId, roomSeq, payload: { type: 'peer_metadata_updated', peer } });
      return peer;
    });
  }

  async reportStatus(
    environment: Environment,
    roomId: string,
    peerId: string,
    status: 'connected' | 'disconnected',
  ): Promise<PeerRecord | undefined> {
    return withTransaction(this.pool, async (client) => {
      if (!(await lockRoom(client, environment, roomId))) return undefined;
      const before = await query<{ status: PeerStatus }>(
        client,
        'SELECT status FROM peers WHERE id = $1 AND room_id = $2 FOR UPDATE',
        [peerId, roomId],
      );
      const previous = before.rows[0]?.status;
      if (previous === undefined) return undefined;
      // A repeated report changes nothing and emits nothing: media servers may retry.
      if (previous === status) return this.getWith(client, environment, roomId, peerId);
      auditChange(environment, { type: 'room', id: roomId }, { type: 'peer', id: peerId });
      const { rows } = await query<PeerRow>(
        client,
        `UPDATE peers p SET status = $3, status_changed_at = now()
         WHERE p.id = $2 AND p.room_id = $1 RETURNING $4::text AS environment, ${PEER_COLUMNS}`,
        [roomId, peerId, status, environment],
      );
      const delta = status === 'connected' ? 1 : previous === 'connected' ? -1 : 0;
      const seq = await query<{ event_seq: string }>(
        client,
        `UPDATE rooms SET connected_count = connected_count + $2::int,
           peerless_since = CASE WHEN connected_count + $2::int = 0 AND $2::int <> 0 THEN now() ELSE peerless_since END,
           event_seq = event_seq + 1
         WHERE id = $1 RETURNING event_seq`,
        [roomId, delta],
      );
      const peer = toPeer(rows[0] as PeerRow);
      await appendEvent(client, {
        environment,
        roomId,
        roomSeq: seq.rows[0]!.event_seq,
        payload: { type: status === 'connected' ? 'peer_connected' : 'peer_disconnected', peer },
      });
      return peer;
    });
  }

  async liveness(environment: Environment, roomId: string, peerId: string): Promise<PeerLiveness | undefined> {
    const { rows } = await query<{ generation: number; created_at: Date }>(this.pool, PEER_LIVENESS, [roomId, environment, peerId]);
    const row = rows[0];
    return row && { generation: row.generation, createdAt: row.created_at };
  }

  async updatePermissions(
    environment: Environment,
    roomId: string,
    peerId: string,
    permissions: PeerPermissions,
  ): Promise<PeerRecord | undefined> {
    return withTransaction(this.pool, async (client) => {
      if (!(await lockRoom(client, environment, roomId))) return undefined;
      const p = permissions;
      const { rows } = await query<PeerRow>(
        client,
        `UPDATE peers p SET can_publish = $3, can_subscribe = $4, can_update_metadata = $5, can_update_room = $6,
           can_remove_participants = $7, generation = p.generation + 1, updated_at = now()
         WHERE p.id = $2 AND p.room_id = $1
         RETURNING $8::text AS environment, ${PEER_COLUMNS}`,
        [roomId, peerId, p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants, environment],
      );
      if (!rows[0]) return undefined;
      const peer = toPeer(rows[0]);
      auditChange(environment, { type: 'room', id: roomId }, { type: 'peer', id: peerId });
      await announceSuperseded(client, peer);
      return peer;
    });
  }

  assignRole(environment: Environment, roomId: string, peerId: string, role: { id: string; name: string }): Promise<PeerRecord | undefined> {
    return withTransaction(this.pool, (client) => assignRoleIn(client, environment, roomId, peerId, role));
  }

  private async getWith(
    db: pg.Pool | pg.PoolClient,
    environment: Environment,
    roomId: string,
    peerId: string,
  ): Promise<PeerRecord | undefined> {
    const { rows } = await query<PeerRow>(db, GET_PEER, [roomId, environment, peerId]);
    return rows[0] && toPeer(rows[0]);
  }
}
