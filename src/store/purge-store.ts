import type pg from 'pg';
import type { Environment } from '../domain/principal.js';
import type { EventPosition } from '../domain/event-cursor.js';
import type { EventRetentionStore, PurgeStore, PurgeVictim } from '../domain/ports/index.js';
import { expireBans } from './ban-writes.js';
import { deletePeerIn } from './peer-deletes.js';
import { query, withTransaction } from './pool.js';
import { deleteRoomIn } from './room-store.js';

// The timeouts, in the database's time: now() is the start of the purging
// transaction, the same for every instance.
const PEER_EXPIRED = `p.status = 'disconnected' AND r.peer_disconnected_timeout_seconds > 0
  AND p.status_changed_at + make_interval(secs => r.peer_disconnected_timeout_seconds) <= now()`;
const ROOM_EXPIRED = `r.peerless_purge_timeout_seconds > 0 AND r.connected_count = 0
  AND r.peerless_since + make_interval(secs => r.peerless_purge_timeout_seconds) <= now()`;

// One batch of event retention, in one statement. events_created_at_idx finds
// the oldest rows; the pending check is a probe of webhook_deliveries' primary
// key (event_id, endpoint_id). SKIP LOCKED lets instances prune at once, and
// skips an event whose delivery a redelivery is inserting (it holds KEY SHARE
// on the event). The cascade deletes the event's other deliveries. The newest
// deleted position per environment is recorded with the delete, so a reader
// sees either both or neither; environments are upserted in one order, so two
// instances cannot deadlock on event_retention. Only events the stream could
// already return (txid below xmin, as in READ_AFTER) are deleted, so none goes
// before a reader could see it, and a watch starting at the head is never
// behind the mark.
const PRUNE_EVENTS = `
WITH victims AS (
  SELECT e.id FROM events e
  WHERE e.created_at < now() - make_interval(secs => $1)
    AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
    AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.state = 'pending')
  ORDER BY e.created_at
  LIMIT $2
  FOR UPDATE OF e SKIP LOCKED
), deleted AS (
  DELETE FROM events e USING victims v WHERE e.id = v.id
  RETURNING e.environment, e.txid, e.position
), newest AS (
  SELECT DISTINCT ON (environment) environment, txid, position FROM deleted
  ORDER BY environment, txid DESC, position DESC
), marked AS (
  INSERT INTO event_retention AS r (environment, pruned_txid, pruned_position)
  SELECT environment, txid, position FROM newest ORDER BY environment
  ON CONFLICT (environment) DO UPDATE
    SET pruned_txid = EXCLUDED.pruned_txid, pruned_position = EXCLUDED.pruned_position, pruned_at = now()
    WHERE (r.pruned_txid, r.pruned_position) < (EXCLUDED.pruned_txid, EXCLUDED.pruned_position)
)
SELECT count(*)::int AS deleted FROM deleted`;

/**
 * {@link PurgeStore} and {@link EventRetentionStore} on Postgres. A victim is claimed by locking its room row
 * with SKIP LOCKED, so instances running at once take different victims and
 * never queue behind each other; the delete is the stores' own, in the same
 * transaction, so it emits the same events as DeletePeer and DeleteRoom.
 */
export class PgPurgeStore implements PurgeStore, EventRetentionStore {
  constructor(private readonly pool: pg.Pool) {}

  purgeDisconnectedPeer(): Promise<PurgeVictim | undefined> {
    return withTransaction(this.pool, async (client) => {
      // A claim can be stale: its peer comes from the statement's snapshot,
      // while the room lock is taken on the latest row, so another instance
      // may have deleted (or a report reconnected) the peer in between. Such a
      // claim is re-made, now under the lock, rather than ending the run as
      // if there were no more work.
      for (let attempt = 0; attempt < 5; attempt++) {
        const claimed = await query<{ environment: Environment; room_id: string; peer_id: string }>(
          client,
          `SELECT r.environment, r.id AS room_id, p.id AS peer_id
           FROM peers p JOIN rooms r ON r.id = p.room_id
           WHERE ${PEER_EXPIRED}
           ORDER BY p.status_changed_at
           LIMIT 1
           FOR UPDATE OF r SKIP LOCKED`,
        );
        const victim = claimed.rows[0];
        if (!victim) return undefined;
        // The room row is the lock every peer write (ReportPeerStatus
        // included) takes first, so taking it first here cannot deadlock.
        const still = await query(
          client,
          `SELECT 1 FROM peers p JOIN rooms r ON r.id = p.room_id WHERE p.id = $1 AND ${PEER_EXPIRED}`,
          [victim.peer_id],
        );
        if (still.rowCount !== 1) continue;
        if (!(await deletePeerIn(client, victim.environment, victim.room_id, victim.peer_id))) continue;
        return { kind: 'peer', environment: victim.environment, roomId: victim.room_id, peerId: victim.peer_id };
      }
      return undefined;
    });
  }

  expireBans(limit: number): Promise<number> {
    return expireBans(this.pool, limit);
  }

  async expireIdempotencyKeys(maxAgeSeconds: number, limit: number): Promise<number> {
    // A key that a retry reads at the same moment is either still there (the
    // retry replays) or gone (the retry acts anew): both are what an expired
    // key may do.
    const { rowCount } = await query(
      this.pool,
      `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1) LIMIT $2))`,
      [maxAgeSeconds, limit],
    );
    return rowCount ?? 0;
  }

  async pruneEvents(retentionSeconds: number, limit: number): Promise<number> {
    const { rows } = await query<{ deleted: number }>(this.pool, PRUNE_EVENTS, [retentionSeconds, limit]);
    return rows[0]?.deleted ?? 0;
  }

  async prunedThrough(environment: Environment): Promise<EventPosition | null> {
    const { rows } = await query<EventPosition>(
      this.pool,
      'SELECT pruned_txid::text AS txid, pruned_position::text AS position FROM event_retention WHERE environment = $1',
      [environment],
    );
    return rows[0] ?? null;
  }

  purgePeerlessRoom(): Promise<PurgeVictim | undefined> {
    return withTransaction(this.pool, async (client) => {
      // FOR UPDATE re-evaluates the condition on the row's latest version, so
      // a room that a peer connected to since the scan is not claimed.
      const claimed = await query<{ environment: Environment; id: string }>(
        client,
        `SELECT r.environment, r.id FROM rooms r
         WHERE ${ROOM_EXPIRED}
         ORDER BY r.peerless_since
         LIMIT 1
         FOR UPDATE SKIP LOCKED`,
      );
      const victim = claimed.rows[0];
      if (!victim) return undefined;
      if (!(await deleteRoomIn(client, victim.environment, victim.id, { purged: true }))) return undefined;
      return { kind: 'room', environment: victim.environment, roomId: victim.id };
    });
  }
}
