// A webhook delivery as the delivery log reads it: shared by the endpoint
// store and the test-event write.
import type { EventType } from '../domain/events.js';
import type { DeliveryState, WebhookDeliveryRecord } from '../domain/webhook-records.js';

/** A delivery row joined with its event's type, as DELIVERY_COLUMNS selects it. */
export interface DeliveryRow {
  event_id: string;
  endpoint_id: string;
  event_type: EventType;
  state: DeliveryState;
  attempts: number;
  last_status_code: number;
  last_error: string;
  last_attempt_at: Date | null;
  next_attempt_at: Date;
  created_at: Date;
  created_us: string;
}

// created_us is the exact creation time in microseconds: a JS Date keeps only
// milliseconds, which would make the keyset skip or repeat rows.
/** The columns of a {@link DeliveryRow}, from webhook_deliveries d joined with events e. */
export const DELIVERY_COLUMNS = `d.event_id, d.endpoint_id, e.type AS event_type, d.state, d.attempts, d.last_status_code,
  d.last_error, d.last_attempt_at, d.next_attempt_at, d.created_at,
  (extract(epoch FROM d.created_at) * 1000000)::bigint::text AS created_us`;

/** Maps a {@link DeliveryRow}. */
export function toDelivery(r: DeliveryRow): WebhookDeliveryRecord {
  return {
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    eventType: r.event_type,
    state: r.state,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastAttemptAt: r.last_attempt_at,
    nextAttemptAt: r.next_attempt_at,
    createdAt: r.created_at,
    position: `${r.created_us}.${r.event_id}`,
  };
}
