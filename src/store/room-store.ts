import type pg from 'pg';
import { DomainError } from '../domain/errors.js';
import type { Environment } from '../domain/principal.js';
import type { IdempotencyKey, RoomRecord } from '../domain/records.js';
import type { NewRoom, RoomStore } from '../domain/stores.js';
import { claimIdempotencyKey, saveIdempotencyResult } from './idempotency-keys.js';
import { notifyRevocation } from './notify.js';
import { query, withTransaction } from './pool.js';

/** A rooms row as pg returns it. */
interface RoomRow {
  id: string;
  seq: string;
  environment: Environment;
  name: string | null;
  max_peers: number;
  peer_count: number;
  metadata: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, seq, environment, name, max_peers, peer_count, metadata, created_at, updated_at';

function toRoom(r: RoomRow): RoomRecord {
  return {
    id: r.id,
    seq: r.seq,
    environment: r.environment,
    name: r.name,
    maxPeers: r.max_peers,
    peerCount: r.peer_count,
    metadata: r.metadata,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** {@link RoomStore} on Postgres. */
export class PgRoomStore implements RoomStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(room: NewRoom, key: IdempotencyKey | null, quota: number): Promise<{ room: RoomRecord; replayed: boolean }> {
    return withTransaction(this.pool, async (client) => {
      if (key) {
        const claim = await claimIdempotencyKey<{ roomId: string }>(client, room.environment, 'CreateRoom', key);
        if (!claim.fresh) {
          const { rows } = await query<RoomRow>(client, `SELECT ${COLUMNS} FROM rooms WHERE id = $1`, [claim.result.roomId]);
          const first = rows[0];
          if (!first) {
            throw new DomainError('ERR_IDEMPOTENT_TARGET_GONE', 'the room this request_id created has since been deleted');
          }
          return { room: toRoom(first), replayed: true };
        }
      }
      // The quota check is a conditional increment, like max_peers: concurrent
      // creates queue on the environment's counter row.
      const counted = await query(
        client,
        `INSERT INTO environment_usage AS u (environment, room_count) VALUES ($1, 1)
         ON CONFLICT (environment) DO UPDATE SET room_count = u.room_count + 1 WHERE u.room_count < $2`,
        [room.environment, quota],
      );
      if (counted.rowCount !== 1) {
        throw new DomainError(
          'ERR_ROOM_QUOTA_EXCEEDED',
          `the environment already has ${quota} rooms, its limit (ROOMGATE_MAX_ROOMS_PER_ENVIRONMENT); delete rooms first`,
        );
      }
      const { rows } = await query<RoomRow>(
        client,
        `INSERT INTO rooms (id, environment, name, max_peers, metadata)
         VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [room.id, room.environment, room.name, room.maxPeers, room.metadata],
      );
      if (key) await saveIdempotencyResult(client, room.environment, 'CreateRoom', key, { roomId: room.id });
      return { room: toRoom(rows[0] as RoomRow), replayed: false };
    });
  }

  async get(environment: Environment, roomId: string): Promise<RoomRecord | undefined> {
    const { rows } = await query<RoomRow>(this.pool, `SELECT ${COLUMNS} FROM rooms WHERE id = $1 AND environment = $2`, [
      roomId,
      environment,
    ]);
    return rows[0] && toRoom(rows[0]);
  }

  async list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<RoomRecord[]> {
    const { rows } = await query<RoomRow>(
      this.pool,
      `SELECT ${COLUMNS} FROM rooms WHERE environment = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [environment, afterSeq ?? '0', limit],
    );
    return rows.map(toRoom);
  }

  async update(
    environment: Environment,
    roomId: string,
    patch: { metadata?: string; maxPeers?: number },
  ): Promise<RoomRecord | undefined> {
    const { rows } = await query<RoomRow>(
      this.pool,
      `UPDATE rooms SET metadata = COALESCE($3, metadata), max_peers = COALESCE($4, max_peers), updated_at = now()
       WHERE id = $1 AND environment = $2 RETURNING ${COLUMNS}`,
      [roomId, environment, patch.metadata ?? null, patch.maxPeers ?? null],
    );
    return rows[0] && toRoom(rows[0]);
  }

  async delete(environment: Environment, roomId: string): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await query(client, 'DELETE FROM rooms WHERE id = $1 AND environment = $2', [roomId, environment]);
      if (rowCount !== 1) return false;
      await query(client, 'UPDATE environment_usage SET room_count = room_count - 1 WHERE environment = $1', [environment]);
      await notifyRevocation(client, 'room', roomId);
      return true;
    });
  }
}
