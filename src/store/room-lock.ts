import type pg from 'pg';
import type { Environment } from '../domain/principal.js';
import { query } from './pool.js';

/**
 * Locks the room row first, as CreatePeer's conditional increment does, so
 * every peer write takes locks in one order (room, then peer) and cannot
 * deadlock; it also serializes the room's event sequence.
 */
export async function lockRoom(client: pg.PoolClient, environment: Environment, roomId: string): Promise<boolean> {
  const { rowCount } = await query(client, 'SELECT 1 FROM rooms WHERE id = $1 AND environment = $2 FOR UPDATE', [
    roomId,
    environment,
  ]);
  return rowCount === 1;
}

/** Whether the room exists in the environment, without locking it. */
export async function roomExists(client: pg.PoolClient, environment: Environment, roomId: string): Promise<boolean> {
  const { rowCount } = await query(client, 'SELECT 1 FROM rooms WHERE id = $1 AND environment = $2', [roomId, environment]);
  return rowCount === 1;
}
