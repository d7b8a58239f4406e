import type { Environment } from '../principal.js';

/** A peer or room deleted by its room's timeout. */
export type PurgeVictim =
  | { kind: 'peer'; environment: Environment; roomId: string; peerId: string }
  | { kind: 'room'; environment: Environment; roomId: string };

/**
 * Finds and deletes what the room timeouts have expired, judged in the
 * database's time so that every instance agrees. Each call deletes at most
 * one victim, with the same events as DeletePeer and DeleteRoom, in one
 * transaction that re-checks the timeout under the victim's lock: however
 * many instances call at once, each victim is deleted once, and a peer that
 * reconnected (or a room that a peer joined) in the meantime survives.
 */
export interface PurgeStore {
  /** Deletes one peer disconnected for longer than its room's peer_disconnected_timeout_seconds; undefined when none was deleted. */
  purgeDisconnectedPeer(): Promise<PurgeVictim | undefined>;
  /** Purges one room without a connected peer for longer than its peerless_purge_timeout_seconds; undefined when none was purged. */
  purgePeerlessRoom(): Promise<PurgeVictim | undefined>;
  /** Deletes up to `limit` request_id keys older than `maxAgeSeconds`; returns how many. */
  expireIdempotencyKeys(maxAgeSeconds: number, limit: number): Promise<number>;
}
