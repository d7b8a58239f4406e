import type { EventType, RoomEvent } from './events.js';
import type { Environment } from './principal.js';

// The persistence webhooks need, implemented by src/store/webhook-store.ts.
// Secrets cross this boundary only encrypted (AES-256-GCM under the KEK, the
// endpoint id as additional data); the domain encrypts and decrypts them.

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

/** Input for WebhookEndpointStore.insert. */
export type NewWebhookEndpoint = Pick<
  WebhookEndpointRecord,
  'id' | 'environment' | 'url' | 'eventTypes' | 'roomId' | 'description'
> & { secretEncrypted: Buffer };

/** What UpdateWebhookEndpoint changes; absent fields stay. */
export interface WebhookEndpointPatch {
  url?: string;
  description?: string;
  /** Enabling clears disabled_reason; disabling fails the pending deliveries. */
  enabled?: boolean;
  eventTypes?: EventType[];
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

/** Endpoints and their delivery log; every method filters by environment. */
export interface WebhookEndpointStore {
  insert(endpoint: NewWebhookEndpoint): Promise<WebhookEndpointRecord>;
  get(environment: Environment, id: string): Promise<WebhookEndpointRecord | undefined>;
  /** Endpoints after `afterSeq` in insertion order, at most `limit`. */
  list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<WebhookEndpointRecord[]>;
  update(environment: Environment, id: string, patch: WebhookEndpointPatch): Promise<WebhookEndpointRecord | undefined>;
  /** Deletes the endpoint with its deliveries; false when there was none. */
  delete(environment: Environment, id: string): Promise<boolean>;
  /**
   * Stores a new current secret. With `previousExpiresAt` the current one
   * becomes the previous secret until then; with null, it is dropped.
   */
  rotateSecret(
    environment: Environment,
    id: string,
    secretEncrypted: Buffer,
    previousExpiresAt: Date | null,
  ): Promise<WebhookEndpointRecord | undefined>;
  /** Deliveries to an endpoint, newest first, after the position `after`. */
  listDeliveries(endpointId: string, after: string | undefined, limit: number): Promise<WebhookDeliveryRecord[]>;
  /**
   * Makes the (event, endpoint) delivery pending again as a new attempt
   * series (attempts 0, due now), creating it if the event had none. Undefined
   * when the event is not in `environment`.
   */
  redeliver(environment: Environment, eventId: string, endpointId: string): Promise<WebhookDeliveryRecord | undefined>;
}

/** A delivery claimed by a relay, with what it needs to send it. */
export interface ClaimedDelivery {
  eventId: string;
  endpointId: string;
  /** Attempts including this one. */
  attempts: number;
  /**
   * When the claim lapses and another relay may retry; also the fencing value
   * that keeps a late result from overwriting a newer claim or a redelivery.
   */
  leaseUntil: Date;
  url: string;
  secretEncrypted: Buffer;
  previousSecretEncrypted: Buffer | null;
  previousSecretExpiresAt: Date | null;
  event: RoomEvent;
}

/** How an attempt ended. */
export type DeliveryOutcome =
  | { kind: 'delivered'; statusCode: number }
  /** Retry after `delayMs`, unless the retry horizon has passed (then failed). */
  | { kind: 'retry'; statusCode: number; error: string; delayMs: number }
  /** 410 Gone: the endpoint is disabled and its pending deliveries fail. */
  | { kind: 'gone'; statusCode: number; error: string };

/** The delivery queue the relays share; safe for several relays on one database. */
export interface WebhookDeliveryQueue {
  /**
   * Claims up to `limit` due deliveries that no other relay holds, each only
   * if no earlier pending delivery of its room waits for the same endpoint,
   * and leases them for `leaseMs`.
   */
  claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Records an attempt's outcome, unless the claim was superseded meanwhile. */
  record(claim: ClaimedDelivery, outcome: DeliveryOutcome, retryHorizonSeconds: number): Promise<void>;
}
