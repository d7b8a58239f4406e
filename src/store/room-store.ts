import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import { DomainError } from '../domain/errors.js';
import type { Environment } from '../domain/principal.js';
import type { IdempotencyKey, RoomRecord } from '../domain/records.js';
import type { NewRoom, RoomPatch, RoomStore } from '../domain/ports/index.js';
import { claimIdempotencyKey } from './idempotency-keys.js';
import { notifyRevocation } from './notify.js';
import { lockRoom } from './room-lock.js';
import { appendEvent } from './outbox.js';
import { prepared, query, withTransaction } from './pool.js';

/** A rooms row as pg returns it. */
interface RoomRow {
  id: string;
  seq: string;
  environment: Environment;
  name: string | null;
  max_peers: number;
  peer_count: number;
  metadata: string;
  peerless_purge_timeout_seconds: number;
  peer_disconnected_timeout_seconds: number;
  created_at: Date;
  updated_at: Date;
  event_seq: string;
}

const COLUMNS = `id, seq, environment, name, max_peers, peer_count, metadata, peerless_purge_timeout_seconds,
  peer_disconnected_timeout_seconds, created_at, updated_at, event_seq`;

/** Maps a rooms row; shared with the peer store's joins. */
export function toRoom(r: RoomRow): RoomRecord {
  return {
    id: r.id,
    seq: r.seq,
    environment: r.environment,
    name: r.name,
    maxPeers: r.max_peers,
    peerCount: r.peer_count,
    metadata: r.metadata,
    peerlessPurgeTimeoutSeconds: r.peerless_purge_timeout_seconds,
    peerDisconnectedTimeoutSeconds: r.peer_disconnected_timeout_seconds,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const GET_ROOM = prepared('get_room', `SELECT ${COLUMNS} FROM rooms WHERE id = $1 AND environment = $2`);

/** {@link RoomStore} on Postgres. Every change writes its event in the same transaction. */
export class PgRoomStore implements RoomStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(room: NewRoom, key: IdempotencyKey | null, quota: number): Promise<{ room: RoomRecord; replayed: boolean }> {
    return withTransaction(this.pool, async (client) => {
      if (key) {
        const claim = await claimIdempotencyKey(client, room.environment, 'CreateRoom', key, { roomId: room.id });
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
        `INSERT INTO rooms (id, environment, name, max_peers, metadata, peerless_purge_timeout_seconds,
           peer_disconnected_timeout_seconds, event_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1) RETURNING ${COLUMNS}`,
        [
          room.id, room.environment, room.name, room.maxPeers, room.metadata,
          room.peerlessPurgeTimeoutSeconds, room.peerDisconnectedTimeoutSeconds,
        ],
      );
      const created = toRoom(rows[0] as RoomRow);
      auditChange(room.environment, { type: 'room', id: room.id });
      await appendEvent(client, { environment: room.environment, roomId: room.id, roomSeq: '1', payload: { type: 'room_created', room: created } });
      return { room: created, replayed: false };
    });
  }

  async get(environment: Environment, roomId: string): Promise<RoomRecord | undefined> {
    const { rows } = await query<RoomRow>(this.pool, GET_ROOM, [roomId, environment]);
    return rows[0] && toRoom(rows[0]);
  }

  async list(environment: Environment, afterSeq: string | undefined, limit: number, nameContains = ''): Promise<RoomRecord[]> {
    if (nameContains === '') {
      const { rows } = await query<RoomRow>(
        this.pool,
        `SELECT ${COLUMNS} FROM rooms WHERE environment = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [environment, afterSeq ?? '0', limit],
      );
      return rows.map(toRoom);
    }
    // ILIKE with the pattern's metacharacters escaped, so that "a_b" does not
    // match "axb". rooms_name_trgm_idx (0009) serves it where pg_trgm exists.
    const { rows } = await query<RoomRow>(
      this.pool,
      `SELECT ${COLUMNS} FROM rooms WHERE environment = $1 AND seq > $2 AND name ILIKE $4 ESCAPE '\\' ORDER BY seq LIMIT $3`,
      [environment, afterSeq ?? '0', limit, `%${escapeLike(nameContains)}%`],
    );
    return rows.map(toRoom);
  }

  async update(environment: Environment, roomId: string, patch: RoomPatch): Promise<RoomRecord | undefined> {
    return withTransaction(this.pool, async (client) => {
      // Lock before writing: a plain UPDATE takes its transaction id before
      // it waits for the row, and the event stream is ordered by that id.
      if (!(await lockRoom(client, environment, roomId))) return undefined;
      const { rows } = await query<RoomRow>(
        client,
        `UPDATE rooms SET metadata = COALESCE($3, metadata), max_peers = COALESCE($4, max_peers),
           peerless_purge_timeout_seconds = COALESCE($5, peerless_purge_timeout_seconds),
           peer_disconnected_timeout_seconds = COALESCE($6, peer_disconnected_timeout_seconds),
           event_seq = event_seq + 1, updated_at = now()
         WHERE id = $1 AND environment = $2 RETURNING ${COLUMNS}`,
        [
          roomId, environment, patch.metadata ?? null, patch.maxPeers ?? null,
          patch.peerlessPurgeTimeoutSeconds ?? null, patch.peerDisconnectedTimeoutSeconds ?? null,
        ],
      );
      const row = rows[0];
      if (!row) return undefined;
      const room = toRoom(row);
      auditChange(environment, { type: 'room', id: roomId });
      await appendEvent(client, { environment, roomId, roomSeq: row.event_seq, payload: { type: 'room_updated', room } });
      return room;
    });
  }

  async delete(environment: Environment, roomId: string, options: { purged?: boolean } = {}): Promise<boolean> {
    return withTransaction(this.pool, (client) => deleteRoomIn(client, environment, roomId, options));
  }
}

/**
 * Deletes a room and its peers inside the caller's transaction, with a
 * peer_token_revoked event per peer and then room_deleted (or room_purged);
 * false when there is no such room. Shared by DeleteRoom and the peerless purge.
 */
export async function deleteRoomIn(
  client: pg.PoolClient,
  environment: Environment,
  roomId: string,
  options: { purged?: boolean } = {},
): Promise<boolean> {
  const locked = await query<RoomRow>(
    client,
    `SELECT ${COLUMNS} FROM rooms WHERE id = $1 AND environment = $2 FOR UPDATE`,
    [roomId, environment],
  );
  const row = locked.rows[0];
  if (!row) return false;
  auditChange(environment, { type: 'room', id: roomId });
  const peers = await query<{ id: string; identity: string; generation: number }>(
    client,
    'DELETE FROM peers WHERE room_id = $1 RETURNING id, identity, generation',
    [roomId],
  );
  await query(client, 'DELETE FROM rooms WHERE id = $1', [roomId]);
  await query(client, 'UPDATE environment_usage SET room_count = room_count - 1 WHERE environment = $1', [environment]);
  // The room row is gone, so its sequence continues here: one revocation
  // per peer, then the room's own event last.
  let seq = BigInt(row.event_seq);
  for (const p of peers.rows) {
    seq += 1n;
    await appendEvent(client, {
      environment,
      roomId,
      roomSeq: seq.toString(),
      payload: { type: 'peer_token_revoked', peerId: p.id, identity: p.identity, cause: 'room_deleted', generation: p.generation + 1 },
    });
  }
  const room = { ...toRoom(row), peerCount: 0 };
  await appendEvent(client, {
    environment,
    roomId,
    roomSeq: (seq + 1n).toString(),
    payload: { type: options.purged ? 'room_purged' : 'room_deleted', room },
  });
  await notifyRevocation(client, { kind: 'room', roomId });
  return true;
}

/** Escapes LIKE's metacharacters (percent, underscore and the backslash escape) so that each matches itself. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
