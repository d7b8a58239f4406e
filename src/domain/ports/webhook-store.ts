import type { EventType } from '../events.js';
import type { Environment } from '../principal.js';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../webhook-records.js';

// Secrets cross this boundary only encrypted (AES-256-GCM under the KEK, the
// endpoint id as additional data); the domain encrypts and decrypts them.

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

/** How many test events one endpoint may be sent within a sliding window. */
export interface TestEventLimit {
  max: number;
  windowSeconds: number;
}

/** What {@link WebhookEndpointStore.sendTest} did. */
export type TestEventOutcome =
  | { kind: 'sent'; delivery: WebhookDeliveryRecord }
  | { kind: 'not-found' }
  | { kind: 'disabled' }
  /** The endpoint had `limit.max` test events within the window; the oldest leaves it in `retryAfterSeconds`. */
  | { kind: 'limited'; retryAfterSeconds: number };

/** Endpoints and their delivery log; every method filters by environment. */
export interface WebhookEndpointStore {
  /**
   * Inserts the endpoint, unless its environment already has `quota`
   * endpoints: then throws ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED. The check
   * holds under concurrent inserts.
   */
  insert(endpoint: NewWebhookEndpoint, quota: number): Promise<WebhookEndpointRecord>;
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
  /**
   * Writes a test event with one pending delivery, to this endpoint only,
   * unless the endpoint is missing, disabled, or already had `limit.max` test
   * events within the window. The limit holds across instances.
   */
  sendTest(environment: Environment, endpointId: string, limit: TestEventLimit): Promise<TestEventOutcome>;
}
