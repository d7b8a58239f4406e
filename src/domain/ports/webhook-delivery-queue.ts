import type { RoomEvent } from '../events.js';
import type { Environment } from '../principal.js';

// Secrets cross this boundary only encrypted (AES-256-GCM under the KEK, the
// endpoint id as additional data); the domain encrypts and decrypts them.

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

/** What one claim may take. */
export interface ClaimLimits {
  /** Deliveries at most, in all. */
  limit: number;
  /** How long each claimed delivery is leased. */
  leaseMs: number;
  /**
   * Attempts in flight per endpoint at most, counting the leases every relay
   * on the database holds: a slow or dead endpoint ties up this many slots and
   * no more.
   */
  perEndpoint: number;
  /** Deliveries at most per environment in this claim (absent: none). */
  perEnvironment: Partial<Record<Environment, number>>;
}

/** The delivery queue the relays share; safe for several relays on one database. */
export interface WebhookDeliveryQueue {
  /**
   * Claims due deliveries that no other relay holds, each only if no earlier
   * pending delivery of its room waits for the same endpoint and its endpoint
   * has fewer than `perEndpoint` attempts in flight, and leases them for
   * `leaseMs`. Endpoints take turns: each endpoint's oldest due delivery comes
   * before any endpoint's second one, so one endpoint's backlog cannot fill a
   * claim.
   */
  claimDue(limits: ClaimLimits): Promise<ClaimedDelivery[]>;
  /** Records an attempt's outcome, unless the claim was superseded meanwhile; ends its lease. */
  record(claim: ClaimedDelivery, outcome: DeliveryOutcome, retryHorizonSeconds: number): Promise<void>;
}
