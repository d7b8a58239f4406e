import type pg from 'pg';
import type { ClaimedDelivery, ClaimLimits, DeliveryOutcome, WebhookDeliveryQueue } from '../domain/ports/index.js';
import { toRoomEvent, type EventRow } from './event-store.js';
import { query, withTransaction } from './pool.js';
import { failPending } from './webhook-store.js';

interface ClaimRow extends EventRow {
  endpoint_id: string;
  attempts: number;
  lease_until: Date;
  url: string;
  secret_encrypted: Buffer;
  previous_secret_encrypted: Buffer | null;
  previous_secret_expires_at: Date | null;
}

// One statement, so the row locks last only as long as the claim itself.
// - busy: attempts in flight per endpoint, from the leases of every relay.
// - candidates: per enabled endpoint, its oldest due deliveries, up to what
//   the endpoint may still have in flight (endpoint_turn <= $3 - busy).
//   Only the head of each (endpoint, room) qualifies, which keeps them in
//   order: a delivery waits while an earlier event of its room is pending for
//   that endpoint, leased or not. Deliveries of environment-wide events (no
//   room) form one more such sequence per endpoint, ordered by the event's
//   position (their room_seq); the second subquery runs only for them, as
//   the first is never NULL for a delivery with a room. The head test is "room_seq <= the smallest
//   pending room_seq" (equal, in effect) rather than NOT EXISTS or "=": the
//   planner turns NOT EXISTS into a join over all the endpoint's rows, and
//   guesses "=" so selective that it reads them all before the LIMIT.
// - ranked: within each environment, every endpoint's first turn comes
//   before any endpoint's second, so 2,000 endpoints of one token each get a
//   turn instead of the oldest backlog filling the claim; environment_turn
//   caps what each environment gets ($4, from the relay's fair share).
// - due: the environments' turns interleaved, FOR UPDATE OF d SKIP LOCKED so
//   two relays never claim the same row at once; the row is checked again
//   after the lock, as another relay may have claimed it meanwhile.
// - Moving next_attempt_at past the send's timeout is the lease: the row is
//   no longer due, and if this relay dies it becomes due again by itself.
//   The lease is truncated to milliseconds so it survives the trip through a
//   JS Date and can fence the result (see record).
// Relays claiming at the same instant cannot see each other's uncommitted
// leases, so each may take an endpoint's full bound: the worst case is the
// bound times the relays claiming at once. It is a bound on harm, not an
// exact count.
const CLAIM = `
WITH busy AS (
  SELECT endpoint_id, count(*)::integer AS n
  FROM webhook_deliveries
  WHERE state = 'pending' AND lease_until IS NOT NULL AND lease_until > now()
  GROUP BY endpoint_id
), candidates AS (
  SELECT c.event_id, c.endpoint_id, w.environment, c.next_attempt_at, COALESCE(b.n, 0) AS busy,
    row_number() OVER (PARTITION BY w.id ORDER BY c.next_attempt_at, c.event_id) AS endpoint_turn
  FROM webhook_endpoints w
  LEFT JOIN busy b ON b.endpoint_id = w.id
  CROSS JOIN LATERAL (
    SELECT d.event_id, d.endpoint_id, d.next_attempt_at
    FROM webhook_deliveries d
    WHERE d.endpoint_id = w.id AND d.state = 'pending' AND d.next_attempt_at <= now()
      AND d.room_seq <= COALESCE(
        (SELECT min(p.room_seq) FROM webhook_deliveries p
         WHERE p.endpoint_id = d.endpoint_id AND p.room_id = d.room_id AND p.state = 'pending'),
        (SELECT min(p.room_seq) FROM webhook_deliveries p
         WHERE p.endpoint_id = d.endpoint_id AND p.room_id IS NULL AND d.room_id IS NULL AND p.state = 'pending'))
    -- endpoint_id first, though it is fixed here: only the index on
    -- (endpoint_id, next_attempt_at) yields this order, which keeps the
    -- planner from walking the global due index once per endpoint.
    ORDER BY d.endpoint_id, d.next_attempt_at
    LIMIT $3
  ) c
  WHERE w.enabled AND COALESCE(b.n, 0) < $3
), ranked AS (
  SELECT event_id, endpoint_id, environment, next_attempt_at,
    row_number() OVER (PARTITION BY environment ORDER BY endpoint_turn, next_attempt_at, event_id) AS environment_turn
  FROM candidates
  WHERE endpoint_turn <= $3 - busy
), due AS (
  SELECT d.event_id, d.endpoint_id
  FROM ranked r JOIN webhook_deliveries d ON d.event_id = r.event_id AND d.endpoint_id = r.endpoint_id
  WHERE r.environment_turn <= COALESCE(($4::jsonb ->> r.environment)::integer, 0)
    AND d.state = 'pending' AND d.next_attempt_at <= now()
  ORDER BY r.environment_turn, r.next_attempt_at, r.event_id
  LIMIT $1
  FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d SET
  attempts = d.attempts + 1,
  last_attempt_at = now(),
  next_attempt_at = date_trunc('milliseconds', now() + $2::integer * interval '1 millisecond'),
  lease_until = date_trunc('milliseconds', now() + $2::integer * interval '1 millisecond')
FROM due, webhook_endpoints w, events e
WHERE d.event_id = due.event_id AND d.endpoint_id = due.endpoint_id AND w.id = d.endpoint_id AND e.id = d.event_id
RETURNING d.endpoint_id, d.attempts, d.next_attempt_at AS lease_until,
  w.url, w.secret_encrypted, w.previous_secret_encrypted, w.previous_secret_expires_at,
  e.id, e.txid::text AS txid, e.position, e.environment, e.room_id, e.room_seq, e.payload, e.created_at`;

const GIVE_UP_STRAYS = `
UPDATE webhook_deliveries d SET state = 'failed', last_error = 'endpoint disabled'
FROM webhook_endpoints w
WHERE w.id = d.endpoint_id AND NOT w.enabled AND d.state = 'pending'`;

// Reads only pending rows, through the partial index webhook_deliveries_due_idx,
// so it costs what the backlog is, not what the delivery history is.
const BACKLOG = `
SELECT count(*)::integer AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest_seconds
FROM webhook_deliveries WHERE state = 'pending'`;

/** Pending deliveries: the outbox depth, and how long the oldest has waited. */
export interface WebhookBacklog {
  pending: number;
  /** Seconds since the oldest pending delivery's attempt series started; 0 when none is pending. */
  oldestPendingSeconds: number;
}

// Matches only the claim this relay holds: a redelivery, a newer claim after
// the lease lapsed, or a disabled endpoint has changed the row since.
const FENCE = `event_id = $1 AND endpoint_id = $2 AND state = 'pending' AND next_attempt_at = $3`;

/** {@link WebhookDeliveryQueue} on Postgres, shared by every relay on the database. */
export class PgWebhookDeliveryQueue implements WebhookDeliveryQueue {
  constructor(private readonly pool: pg.Pool) {}

  async claimDue({ limit, leaseMs, perEndpoint, perEnvironment }: ClaimLimits): Promise<ClaimedDelivery[]> {
    // An event written while its endpoint was being disabled can commit a
    // pending delivery just after the disable gave the others up (its
    // fan-out read the endpoint as enabled). Such strays are given up here.
    await query(this.pool, GIVE_UP_STRAYS);
    const { rows } = await query<ClaimRow>(this.pool, CLAIM, [limit, leaseMs, perEndpoint, JSON.stringify(perEnvironment)]);
    return rows.map((r) => ({
      eventId: r.id,
      endpointId: r.endpoint_id,
      attempts: r.attempts,
      leaseUntil: r.lease_until,
      url: r.url,
      secretEncrypted: r.secret_encrypted,
      previousSecretEncrypted: r.previous_secret_encrypted,
      previousSecretExpiresAt: r.previous_secret_expires_at,
      event: toRoomEvent(r),
    }));
  }

  /** Reads the backlog; gives up after `timeoutMs`, so a scrape never hangs on the database. */
  async backlog(timeoutMs: number): Promise<WebhookBacklog> {
    const { rows } = await this.pool.query<{ pending: number; oldest_seconds: number | null }>({
      text: BACKLOG,
      query_timeout: timeoutMs,
    } as pg.QueryConfig);
    const row = rows[0]!;
    return { pending: row.pending, oldestPendingSeconds: Math.max(0, row.oldest_seconds ?? 0) };
  }

  async record(claim: ClaimedDelivery, outcome: DeliveryOutcome, retryHorizonSeconds: number): Promise<void> {
    const fence = [claim.eventId, claim.endpointId, claim.leaseUntil];
    switch (outcome.kind) {
      case 'delivered':
        await query(
          this.pool,
          `UPDATE webhook_deliveries SET state = 'delivered', last_status_code = $4, last_error = '', lease_until = NULL WHERE ${FENCE}`,
          [...fence, outcome.statusCode],
        );
        return;
      case 'retry':
        // The horizon counts from the start of the attempt series; the last
        // retry is pulled in to the horizon rather than dropped.
        await query(
          this.pool,
          `UPDATE webhook_deliveries SET
             state = CASE WHEN now() >= created_at + $6::integer * interval '1 second' THEN 'failed' ELSE 'pending' END,
             next_attempt_at = LEAST(now() + $5::bigint * interval '1 millisecond', created_at + $6::integer * interval '1 second'),
             last_status_code = $4, last_error = $7, lease_until = NULL
           WHERE ${FENCE}`,
          [...fence, outcome.statusCode, Math.round(outcome.delayMs), retryHorizonSeconds, outcome.error],
        );
        return;
      case 'gone':
        await withTransaction(this.pool, async (client) => {
          await query(
            client,
            `UPDATE webhook_deliveries SET state = 'failed', last_status_code = $4, last_error = $5, lease_until = NULL WHERE ${FENCE}`,
            [...fence, outcome.statusCode, outcome.error],
          );
          await query(
            client,
            `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1`,
            [claim.endpointId, `the endpoint answered ${outcome.statusCode} Gone`],
          );
          await failPending(client, claim.endpointId, `endpoint disabled: it answered ${outcome.statusCode} Gone`);
        });
        return;
    }
  }
}
