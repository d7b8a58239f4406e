import type pg from 'pg';
import { DomainError } from '../domain/errors.js';
import type { Environment } from '../domain/principal.js';
import type { PeerPermissions } from '../domain/principal.js';
import type { IdempotencyKey, PeerRecord, TokenStamp } from '../domain/records.js';
import type { NewPeer, PeerLiveness, PeerStore } from '../domain/stores.js';
import { claimIdempotencyKey, saveIdempotencyResult } from './idempotency-keys.js';
import { notifyRevocation } from './notify.js';
import { query, withTransaction } from './pool.js';

/** A peers row joined with its room's environment. */
interface PeerRow {
  id: string;
  seq: string;
  room_id: string;
  environment: Environment;
  identity: string;
  name: string;
  metadata: string;
  client_metadata: string;
  can_publish: boolean;
  can_subscribe: boolean;
  can_update_metadata: boolean;
  can_update_room: boolean;
  can_remove_participants: boolean;
  generation: number;
  created_at: Date;
  updated_at: Date;
}

const PEER_COLUMNS = `p.id, p.seq, p.room_id, p.identity, p.name, p.metadata, p.client_metadata, p.can_publish,
  p.can_subscribe, p.can_update_metadata, p.can_update_room, p.can_remove_participants, p.generation, p.created_at,
  p.updated_at`;

function toPeer(r: PeerRow): PeerRecord {
  return {
    id: r.id,
    seq: r.seq,
    roomId: r.room_id,
    environment: r.environment,
    identity: r.identity,
    name: r.name,
    metadata: r.metadata,
    clientMetadata: r.client_metadata,
    permissions: {
      canPublish: r.can_publish,
      canSubscribe: r.can_subscribe,
      canUpdateMetadata: r.can_update_metadata,
      canUpdateRoom: r.can_update_room,
      canRemoveParticipants: r.can_remove_participants,
    },
    generation: r.generation,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const roomNotFound = () => new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');

/** {@link PeerStore} on Postgres. */
export class PgPeerStore implements PeerStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(
    peer: NewPeer,
    key: IdempotencyKey | null,
  ): Promise<{ peer: PeerRecord; stamp: TokenStamp; replayed: boolean }> {
    return withTransaction(this.pool, async (client) => {
      if (key) {
        const claim = await claimIdempotencyKey<{ peerId: string; stamp: TokenStamp }>(
          client,
          peer.environment,
          'CreatePeer',
          key,
        );
        if (!claim.fresh) {
          const first = await this.getWith(client, peer.environment, peer.roomId, claim.result.peerId);
          if (!first) {
            throw new DomainError('ERR_IDEMPOTENT_TARGET_GONE', 'the peer this request_id created has since been deleted');
          }
          return { peer: first, stamp: claim.result.stamp, replayed: true };
        }
      }
      // The conditional increment is the max_peers check: it locks the room
      // row, so concurrent joins queue here and each sees the count the
      // previous one committed. Never count-then-insert.
      const reserved = await query(
        client,
        `UPDATE rooms SET peer_count = peer_count + 1
         WHERE id = $1 AND environment = $2 AND (max_peers = 0 OR peer_count < max_peers)`,
        [peer.roomId, peer.environment],
      );
      if (reserved.rowCount !== 1) {
        const exists = await query(client, 'SELECT 1 FROM rooms WHERE id = $1 AND environment = $2', [
          peer.roomId,
          peer.environment,
        ]);
        if (exists.rowCount === 0) throw roomNotFound();
        throw new DomainError('ERR_ROOM_FULL', 'the room is full: it already has max_peers peers');
      }
      const p = peer.permissions;
      await query(
        client,
        `INSERT INTO peers (id, room_id, identity, name, metadata, can_publish, can_subscribe,
           can_update_metadata, can_update_room, can_remove_participants)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          peer.id, peer.roomId, peer.identity, peer.name, peer.metadata,
          p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants,
        ],
      );
      if (key) {
        await saveIdempotencyResult(client, peer.environment, 'CreatePeer', key, { peerId: peer.id, stamp: peer.stamp });
      }
      const created = await this.getWith(client, peer.environment, peer.roomId, peer.id);
      return { peer: created as PeerRecord, stamp: peer.stamp, replayed: false };
    });
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
    return withTransaction(this.pool, async (client) => {
      // Lock the room first, in the same order CreatePeer does, so a delete
      // racing a join of the same identity cannot deadlock.
      const room = await query(client, 'SELECT 1 FROM rooms WHERE id = $1 AND environment = $2 FOR UPDATE', [
        roomId,
        environment,
      ]);
      if (room.rowCount === 0) return false;
      const deleted = await query(client, 'DELETE FROM peers WHERE id = $1 AND room_id = $2', [peerId, roomId]);
      if (deleted.rowCount !== 1) return false;
      await query(client, 'UPDATE rooms SET peer_count = peer_count - 1 WHERE id = $1', [roomId]);
      await notifyRevocation(client, 'peer', peerId);
      return true;
    });
  }

  async updateClientMetadata(
    environment: Environment,
    roomId: string,
    peerId: string,
    clientMetadata: string,
  ): Promise<PeerRecord | undefined> {
    const { rows } = await query<PeerRow>(
      this.pool,
      `UPDATE peers p SET client_metadata = $4, updated_at = now()
       FROM rooms r
       WHERE p.id = $3 AND p.room_id = $1 AND r.id = p.room_id AND r.environment = $2
       RETURNING r.environment, ${PEER_COLUMNS}`,
      [roomId, environment, peerId, clientMetadata],
    );
    return rows[0] && toPeer(rows[0]);
  }

  async liveness(environment: Environment, roomId: string, peerId: string): Promise<PeerLiveness | undefined> {
    const { rows } = await query<{ generation: number; created_at: Date }>(
      this.pool,
      `SELECT p.generation, p.created_at FROM peers p JOIN rooms r ON r.id = p.room_id
       WHERE p.id = $3 AND p.room_id = $1 AND r.environment = $2`,
      [roomId, environment, peerId],
    );
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
      const p = permissions;
      const { rows } = await query<PeerRow>(
        client,
        `UPDATE peers p SET can_publish = $4, can_subscribe = $5, can_update_metadata = $6, can_update_room = $7,
           can_remove_participants = $8, generation = p.generation + 1, updated_at = now()
         FROM rooms r
         WHERE p.id = $3 AND p.room_id = $1 AND r.id = p.room_id AND r.environment = $2
         RETURNING r.environment, ${PEER_COLUMNS}`,
        [roomId, environment, peerId, p.canPublish, p.canSubscribe, p.canUpdateMetadata, p.canUpdateRoom, p.canRemoveParticipants],
      );
      if (rows[0]) await notifyRevocation(client, 'peer', peerId);
      return rows[0] && toPeer(rows[0]);
    });
  }

  private async getWith(
    db: pg.Pool | pg.PoolClient,
    environment: Environment,
    roomId: string,
    peerId: string,
  ): Promise<PeerRecord | undefined> {
    const { rows } = await query<PeerRow>(
      db,
      `SELECT r.environment, ${PEER_COLUMNS} FROM peers p JOIN rooms r ON r.id = p.room_id
       WHERE p.id = $3 AND p.room_id = $1 AND r.environment = $2`,
      [roomId, environment, peerId],
    );
    return rows[0] && toPeer(rows[0]);
  }
}
