import type pg from 'pg';
import type { PeerRecord } from '../domain/records.js';
import { notifyRevocation } from './notify.js';
import { appendEvent, nextRoomSeq } from './outbox.js';

/**
 * Tells everyone that `peer`'s tokens of earlier generations are superseded
 * (its permissions just changed, in `client`'s transaction): the
 * PEER_TOKEN_REVOKED event that offline verifiers read, and the notice that
 * drops the peer from every instance's liveness cache.
 */
export async function announceSuperseded(client: pg.PoolClient, peer: PeerRecord): Promise<void> {
  const roomSeq = await nextRoomSeq(client, peer.roomId);
  await appendEvent(client, {
    environment: peer.environment,
    roomId: peer.roomId,
    roomSeq,
    payload: { type: 'peer_token_revoked', peerId: peer.id, identity: peer.identity, cause: 'permissions_changed', generation: peer.generation },
  });
  await notifyRevocation(client, { kind: 'peer', peerId: peer.id });
}
