import type { EventType } from './events.js';
import type { Environment } from './principal.js';

/** A webhook endpoint as stored, without its secrets. */
export interface WebhookEndpointRecord {
  id: string;
  environment: Environment;
  url: string;
  /** Types delivered; empty means all. */
  eventTypes: EventType[];
  /** When set, only this room's events are delivered. */
  roomId: string | null;
  description: string;
  enabled: boolean;
  disabledReason: string;
  /** When the previous secret stops signing; null when no rotation is in its grace period. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Insertion sequence, the pagination key. */
  seq: string;
}

/** Where a delivery stands. */
export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One event's delivery to one endpoint. */
export interface WebhookDeliveryRecord {
  eventId: string;
  endpointId: string;
  eventType: EventType;
  state: DeliveryState;
  attempts: number;
  /** HTTP status of the last attempt; 0 when it got no response. */
  lastStatusCode: number;
  lastError: string;
  lastAttemptAt: Date | null;
  /** Meaningful only while pending. */
  nextAttemptAt: Date;
  /** When the current attempt series started: the event, or the last RedeliverEvent. */
  createdAt: Date;
  /** Opaque keyset position for pagination (newest first). */
  position: string;
}
