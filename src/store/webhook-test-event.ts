// SendTestWebhookEvent's write. The least invasive place for a test event is
// the outbox itself, as an event of the whole environment (no room, no room
// sequence) of type webhook_test, with exactly one delivery, to the endpoint
// named, written here rather than by appendEvent's fan-out, so no other
// endpoint's filter is consulted. Everything after that is unchanged: the
// relay claims, signs (Standard Webhooks), retries and records it like any
// delivery, ListWebhookDeliveries lists it, and RedeliverEvent restarts it.
// What keeps it apart:
// - WatchEvents: event-store.ts never marks a webhook_test row wanted. The
//   reader moves past it as past any row outside a filter, so cursors stay
//   gap-free and resumable; it takes no room sequence, so no room's 1, 2, 3
//   gets a hole.
// - Ordering: the delivery's room_id is the event's own id (the column has no
//   foreign key; it names the delivery's ordering group). A test delivery is
//   thus a sequence of its own: it never waits behind the endpoint's pending
//   environment-wide events (bans), and a receiver refusing it never holds
//   them back while it is retried.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { Environment } from '../domain/principal.js';
import type { TestEventLimit, TestEventOutcome } from '../domain/ports/index.js';
import { NOTIFY_CHANNELS } from '../domain/revocation-notice.js';
import { query, withTransaction } from './pool.js';
import { DELIVERY_COLUMNS, toDelivery, type DeliveryRow } from './webhook-delivery-rows.js';

// FOR NO KEY UPDATE serializes the test sends of one endpoint across every
// instance, so the count and the insert below cannot interleave with
// another's. It does not conflict with the FOR KEY SHARE that every event's
// fan-out takes on the endpoint, so events keep flowing meanwhile.
const LOCK_ENDPOINT = `SELECT enabled FROM webhook_endpoints WHERE id = $1 AND environment = $2 FOR NO KEY UPDATE`;

// d.created_at >= e.created_at (a redelivery moves only the former), so the
// first condition only narrows the scan to the endpoint's recent deliveries
// (webhook_deliveries_endpoint_idx); the second is the window.
const RECENT_TESTS = `
SELECT count(*)::integer AS n,
  ceil(extract(epoch FROM min(e.created_at) + $2::integer * interval '1 second' - now()))::integer AS retry_after
FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
WHERE d.endpoint_id = $1 AND d.created_at > now() - $2::integer * interval '1 second'
  AND e.type = 'webhook_test' AND e.created_at > now() - $2::integer * interval '1 second'`;

const WRITE_TEST = `
WITH ev AS (
  INSERT INTO events (id, environment, room_id, room_seq, type, payload)
  VALUES ($1, $2, NULL, NULL, 'webhook_test', $3)
  RETURNING id, position, type
), d AS (
  INSERT INTO webhook_deliveries (event_id, endpoint_id, room_id, room_seq)
  SELECT ev.id, $4, ev.id, ev.position FROM ev
  RETURNING *
)
SELECT ${DELIVERY_COLUMNS} FROM d JOIN ev e ON e.id = d.event_id`;

/** {@link WebhookEndpointStore.sendTest} on Postgres. */
export async function sendTestEvent(
  pool: pg.Pool,
  environment: Environment,
  endpointId: string,
  limit: TestEventLimit,
): Promise<TestEventOutcome> {
  return withTransaction(pool, async (client) => {
    const { rows: endpoints } = await query<{ enabled: boolean }>(client, LOCK_ENDPOINT, [endpointId, environment]);
    const endpoint = endpoints[0];
    if (!endpoint) return { kind: 'not-found' };
    if (!endpoint.enabled) return { kind: 'disabled' };
    const { rows: recent } = await query<{ n: number; retry_after: number | null }>(client, RECENT_TESTS, [endpointId, limit.windowSeconds]);
    const { n, retry_after } = recent[0]!;
    if (n >= limit.max) return { kind: 'limited', retryAfterSeconds: Math.max(1, retry_after ?? 1) };
    const id = randomUUID();
    const payload = JSON.stringify({ type: 'webhook_test', endpointId });
    const { rows } = await query<DeliveryRow>(client, WRITE_TEST, [id, environment, payload, endpointId]);
    // Wakes the relays on commit, as appendEvent does; watchers it wakes find nothing for them.
    await query(client, 'SELECT pg_notify($1, $2)', [NOTIFY_CHANNELS.events, environment]);
    auditChange(environment, { type: 'webhook_endpoint', id: endpointId }, { type: 'event', id });
    return { kind: 'sent', delivery: toDelivery(rows[0]!) };
  });
}
