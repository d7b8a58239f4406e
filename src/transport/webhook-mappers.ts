import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../domain/webhook-records.js';
import { DeliveryState, type WebhookDelivery, type WebhookEndpoint } from '../gen/roomgate/v1/events.js';
import { EVENT_TYPE_TO_WIRE } from './event-mapper.js';

const DELIVERY_STATES: Record<WebhookDeliveryRecord['state'], DeliveryState> = {
  pending: DeliveryState.DELIVERY_STATE_PENDING,
  delivered: DeliveryState.DELIVERY_STATE_DELIVERED,
  failed: DeliveryState.DELIVERY_STATE_FAILED,
};

/** Maps a stored endpoint (never its secret) to the wire message. */
export function toWebhookEndpoint(e: WebhookEndpointRecord): WebhookEndpoint {
  return {
    id: e.id,
    url: e.url,
    eventTypes: e.eventTypes.map((t) => EVENT_TYPE_TO_WIRE[t]),
    roomId: e.roomId ?? '',
    description: e.description,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    createTime: e.createdAt,
    previousSecretExpireTime: e.previousSecretExpiresAt ?? undefined,
  };
}

/** Maps a stored delivery to the wire message; the next attempt only while pending. */
export function toWebhookDelivery(d: WebhookDeliveryRecord): WebhookDelivery {
  return {
    eventId: d.eventId,
    endpointId: d.endpointId,
    eventType: EVENT_TYPE_TO_WIRE[d.eventType],
    state: DELIVERY_STATES[d.state],
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    lastAttemptTime: d.lastAttemptAt ?? undefined,
    nextAttemptTime: d.state === 'pending' ? d.nextAttemptAt : undefined,
    createTime: d.createdAt,
  };
}
