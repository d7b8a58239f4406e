import type pg from 'pg';
import { auditChange } from '../context/audit-scope.js';
import type { EventType } from '../domain/events.js';
import type { Environment } from '../domain/principal.js';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../domain/webhook-records.js';
import type { NewWebhookEndpoint, TestEventLimit, TestEventOutcome, WebhookEndpointPatch, WebhookEndpointStore } from '../domain/ports/index.js';
import { endpointQuotaExceeded, eventNotSubscribed, testEventOfAnotherEndpoint } from '../domain/webhook-validation.js';
import { query, withTransaction } from './pool.js';
import { DELIVERY_COLUMNS, toDelivery, type DeliveryRow } from './webhook-delivery-rows.js';
import { sendTestEvent } from './webhook-test-event.js';

interface EndpointRow {
  id: string;
  seq: string;
  environment: Environment;
  url: string;
  event_types: EventType[];
  room_id: string | null;
  description: string;
  enabled: boolean;
  disabled_reason: string;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const ENDPOINT_COLUMNS =
  'id, seq, environment, url, event_types, room_id, description, enabled, disabled_reason, previous_secret_expires_at, created_at, updated_at';

function toEndpoint(r: EndpointRow): WebhookEndpointRecord {
  return {
    id: r.id,
    seq: r.seq,
    environment: r.environment,
    url: r.url,
    eventTypes: r.event_types,
    roomId: r.room_id,
    description: r.description,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    previousSecretExpiresAt: r.previous_secret_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const ENDPOINT_DISABLED = 'endpoint disabled';

/** {@link WebhookEndpointStore} on Postgres. */
export class PgWebhookStore implements WebhookEndpointStore {
  constructor(private readonly pool: pg.Pool) {}

  async insert(e: NewWebhookEndpoint, quota: number): Promise<WebhookEndpointRecord> {
    return withTransaction(this.pool, async (client) => {
      // A conditional increment, as for rooms: concurrent creates queue on the
      // environment's counter row, so the quota holds without counting rows.
      const counted = await query(
        client,
        `INSERT INTO environment_usage AS u (environment, webhook_endpoint_count) VALUES ($1, 1)
         ON CONFLICT (environment) DO UPDATE SET webhook_endpoint_count = u.webhook_endpoint_count + 1
         WHERE u.webhook_endpoint_count < $2`,
        [e.environment, quota],
      );
      if (counted.rowCount !== 1) throw endpointQuotaExceeded(quota);
      const { rows } = await query<EndpointRow>(
        client,
        `INSERT INTO webhook_endpoints (id, environment, url, event_types, room_id, description, secret_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${ENDPOINT_COLUMNS}`,
        [e.id, e.environment, e.url, e.eventTypes, e.roomId, e.description, e.secretEncrypted],
      );
      auditChange(e.environment, { type: 'webhook_endpoint', id: e.id });
      return toEndpoint(rows[0] as EndpointRow);
    });
  }

  async get(environment: Environment, id: string): Promise<WebhookEndpointRecord | undefined> {
    const { rows } = await query<EndpointRow>(
      this.pool,
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND environment = $2`,
      [id, environment],
    );
    return rows[0] && toEndpoint(rows[0]);
  }

  async list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<WebhookEndpointRecord[]> {
    const { rows } = await query<EndpointRow>(
      this.pool,
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE environment = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [environment, afterSeq ?? '0', limit],
    );
    return rows.map(toEndpoint);
  }

  async update(environment: Environment, id: string, patch: WebhookEndpointPatch): Promise<WebhookEndpointRecord | undefined> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await query<EndpointRow>(
        client,
        `UPDATE webhook_endpoints SET
           url = COALESCE($3, url),
           description = COALESCE($4, description),
           enabled = COALESCE($5, enabled),
           disabled_reason = CASE WHEN $5 THEN '' ELSE disabled_reason END,
           event_types = COALESCE($6, event_types),
           updated_at = now()
         WHERE id = $1 AND environment = $2 RETURNING ${ENDPOINT_COLUMNS}`,
        [id, environment, patch.url ?? null, patch.description ?? null, patch.enabled ?? null, patch.eventTypes ?? null],
      );
      // Pending deliveries of a disabled endpoint are given up, as the
      // contract's FAILED state says, rather than sent when it is re-enabled.
      if (rows[0]) auditChange(environment, { type: 'webhook_endpoint', id });
      if (rows[0] && patch.enabled === false) await failPending(client, id, ENDPOINT_DISABLED);
      return rows[0] && toEndpoint(rows[0]);
    });
  }

  async delete(environment: Environment, id: string): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await query(client, 'DELETE FROM webhook_endpoints WHERE id = $1 AND environment = $2', [
        id,
        environment,
      ]);
      if (rowCount !== 1) return false;
      auditChange(environment, { type: 'webhook_endpoint', id });
      await query(
        client,
        'UPDATE environment_usage SET webhook_endpoint_count = webhook_endpoint_count - 1 WHERE environment = $1',
        [environment],
      );
      return true;
    });
  }

  async rotateSecret(
    environment: Environment,
    id: string,
    secretEncrypted: Buffer,
    previousExpiresAt: Date | null,
  ): Promise<WebhookEndpointRecord | undefined> {
    // Same additional data (the endpoint id) for both columns, so the current
    // ciphertext moves to previous_secret_encrypted as it is.
    return withTransaction(this.pool, async (client) => {
      const { rows } = await query<EndpointRow>(
        client,
        `UPDATE webhook_endpoints SET
           previous_secret_encrypted = CASE WHEN $4::timestamptz IS NULL THEN NULL ELSE secret_encrypted END,
           previous_secret_expires_at = $4,
           secret_encrypted = $3,
           updated_at = now()
         WHERE id = $1 AND environment = $2 RETURNING ${ENDPOINT_COLUMNS}`,
        [id, environment, secretEncrypted, previousExpiresAt],
      );
      if (rows[0]) auditChange(environment, { type: 'webhook_endpoint', id });
      return rows[0] && toEndpoint(rows[0]);
    });
  }

  async listDeliveries(endpointId: string, after: string | undefined, limit: number): Promise<WebhookDeliveryRecord[]> {
    const [afterUs, afterEvent] = after ? after.split('.') : [null, null];
    const { rows } = await query<DeliveryRow>(
      this.pool,
      `SELECT ${DELIVERY_COLUMNS}
       FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.endpoint_id = $1
         AND ($2::bigint IS NULL OR (d.created_at, d.event_id) < (to_timestamp(0) + $2::bigint * interval '1 microsecond', $3::uuid))
       ORDER BY d.created_at DESC, d.event_id DESC LIMIT $4`,
      [endpointId, afterUs, afterEvent, limit],
    );
    return rows.map(toDelivery);
  }

  async redeliver(environment: Environment, eventId: string, endpointId: string): Promise<WebhookDeliveryRecord | undefined> {
    // One row always: wanted is null when the event or endpoint is missing,
    // false when the endpoint's filter (room_id, event_types) excludes the
    // event, which then gets no delivery, as at append time (outbox.ts).
    const { rows } = await withTransaction(this.pool, async (client) => {
      const result = await query<DeliveryRow & { wanted: boolean | null; test: boolean | null }>(
        client,
        `WITH target AS (
           -- As in outbox.ts: an environment-wide event (no room) is for
           -- endpoints without a room filter, ordered by its position.
           -- A test event goes only to the endpoint it was sent to, whatever
           -- its filter, in an ordering group of its own (webhook-test-event.ts).
           SELECT e.id, w.id AS endpoint_id, CASE WHEN e.type = 'webhook_test' THEN e.id ELSE e.room_id END AS room_id,
                  COALESCE(e.room_seq, e.position) AS room_seq, e.type = 'webhook_test' AS test,
                  CASE WHEN e.type = 'webhook_test' THEN e.payload ->> 'endpointId' = w.id::text
                  ELSE (w.room_id IS NULL OR COALESCE(w.room_id = e.room_id, false))
                    AND (cardinality(w.event_types) = 0 OR e.type = ANY (w.event_types)) END AS wanted
           FROM events e JOIN webhook_endpoints w ON w.environment = e.environment
           WHERE e.id = $1 AND w.id = $2 AND e.environment = $3
           -- An endpoint deleted meanwhile would fail the foreign key.
           FOR KEY SHARE OF w
         ), d AS (
           INSERT INTO webhook_deliveries AS d (event_id, endpoint_id, room_id, room_seq)
           SELECT id, endpoint_id, room_id, room_seq FROM target WHERE wanted
           ON CONFLICT (event_id, endpoint_id) DO UPDATE SET
             state = 'pending', attempts = 0, next_attempt_at = now(), created_at = now(),
             last_attempt_at = NULL, last_status_code = 0, last_error = '', lease_until = NULL
           RETURNING d.*
         )
         SELECT (SELECT wanted FROM target) AS wanted, (SELECT test FROM target) AS test, x.*
         FROM (SELECT 1) one LEFT JOIN (SELECT ${DELIVERY_COLUMNS} FROM d JOIN events e ON e.id = d.event_id) x ON true`,
        [eventId, endpointId, environment],
      );
      if (result.rows[0]?.wanted) {
        auditChange(environment, { type: 'event', id: eventId }, { type: 'webhook_endpoint', id: endpointId });
      }
      return result;
    });
    const row = rows[0];
    if (row?.wanted === false) {
      throw row.test ? testEventOfAnotherEndpoint() : eventNotSubscribed();
    }
    return row?.wanted ? toDelivery(row) : undefined;
  }

  async sendTest(environment: Environment, endpointId: string, limit: TestEventLimit): Promise<TestEventOutcome> {
    return sendTestEvent(this.pool, environment, endpointId, limit);
  }
}

/** Gives up an endpoint's pending deliveries. */
export async function failPending(client: pg.PoolClient, endpointId: string, reason: string): Promise<void> {
  await query(
    client,
    `UPDATE webhook_deliveries SET state = 'failed', last_error = $2 WHERE endpoint_id = $1 AND state = 'pending'`,
    [endpointId, reason],
  );
}
