import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { RevocationCause } from '../domain/events.js';
import type { Environment } from '../domain/principal.js';
import { notifyRevocation } from './notify.js';
import { appendEvent } from './outbox.js';
import { PEER_COLUMNS, toPeer, type PeerRow } from './peer-rows.js';
import { query } from './pool.js';
import { lockRoom } from './room-lock.js';

/**
 * Deletes a peer inside the caller's transaction, with its peer_deleted and
 * peer_token_revoked events; false when there is no such peer. Shared by
 * DeletePeer, the disconnected-peer purge and bans (cause `banned`).
 */
export async function deletePeerIn(
  client: pg.PoolClient,
  environment: Environment,
  roomId: string,
  peerId: string,
  cause: RevocationCause = 'peer_deleted',
): Promise<boolean> {
  if (!(await lockRoom(client, environment, roomId))) return false;
  const deleted = await query<PeerRow>(
    client,
    `DELETE FROM peers p WHERE p.id = $1 AND p.room_id = $2 RETURNING $3::text AS environment, ${PEER_COLUMNS}`,
    [peerId, roomId, environment],
  );
  const row = deleted.rows[0];
  if (!row) return false;
  auditChange(environment, { type: 'room', id: roomId }, { type: 'peer', id: peerId });
  const wasConnected = row.status === 'connected';
  const { rows } = await query<{ event_seq: string }>(
    client,
    `UPDATE rooms SET peer_count = peer_count - 1,
       connected_count = connected_count - $2::int,
       peerless_since = CASE WHEN $2::int = 1 AND connected_count = 1 THEN now() ELSE peerless_since END,
       event_seq = event_seq + 2
     WHERE id = $1 RETURNING event_seq`,
    [roomId, wasConnected ? 1 : 0],
  );
  const last = BigInt(rows[0]!.event_seq);
  const peer = toPeer(row);
  await appendEvent(client, { environment, roomId, roomSeq: (last - 1n).toString(), payload: { type: 'peer_deleted', peer } });
  await appendEvent(client, {
    environment,
    roomId,
    roomSeq: last.toString(),
    payload: { type: 'peer_token_revoked', peerId, identity: peer.identity, cause, generation: peer.generation + 1 },
  });
  await notifyRevocation(client, { kind: 'peer', peerId });
  return true;
}
