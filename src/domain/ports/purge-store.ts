import type { EventPosition } from '../event-cursor.js';
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
  /**
   * Deletes up to `limit` bans past their expiry (in the database's time),
   * each with its ban_expired event; returns how many. Safe to call from
   * every instance at once: each ban expires once.
   */
  expireBans(limit: number): Promise<number>;
  /** Deletes up to `limit` request_id keys older than `maxAgeSeconds`; returns how many. */
  expireIdempotencyKeys(maxAgeSeconds: number, limit: number): Promise<number>;
  /**
   * Deletes up to `limit` events older than `retentionSeconds`, oldest first,
   * with their delivered and failed webhook deliveries; an event with a
   * pending delivery is kept. Records the newest position deleted per
   * environment (see {@link EventRetentionStore}) in the same transaction.
   * Returns how many events were deleted.
   */
  pruneEvents(retentionSeconds: number, limit: number): Promise<number>;
}

/** What a reader of the event stream needs to know about retention. */
export interface EventRetentionStore {
  /**
   * The newest stream position that retention has deleted in `environment`;
   * null when none was. A reader whose position is below it may have missed
   * events; one at or above it has missed none.
   */
  prunedThrough(environment: Environment): Promise<EventPosition | null>;
}
