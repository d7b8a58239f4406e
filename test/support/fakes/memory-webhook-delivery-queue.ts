// An in-memory WebhookDeliveryQueue for unit tests, over MemoryOutbox (see
// there for how tests are isolated). It follows
// src/store/webhook-delivery-queue.ts: a claim first gives up pending
// deliveries of disabled endpoints, then takes due deliveries of enabled
// endpoints, skipping any whose room has an earlier event still pending for
// the same endpoint; it bounds each endpoint's leased deliveries and takes
// endpoints' and environments' turns as the SQL does; and leases each by moving
// next_attempt_at to the lease's end (truncated to milliseconds). A result is
// recorded only while that lease still fences the row; a retry past the
// horizon fails the delivery, and 410 Gone disables the endpoint whatever the
// fence says. Every record call is logged in `records`, applied or not.
import type { ClaimedDelivery, ClaimLimits, DeliveryOutcome, WebhookDeliveryQueue } from '../../../src/domain/ports/index.js';
import type { Environment } from '../../../src/domain/principal.js';
import { compareSeq } from './memory-room-store.js';
import { deliveryKey, ENDPOINT_DISABLED, MemoryOutbox, toRoomEvent, type DeliveryRow, type EventRow } from './memory-outbox.js';

/** One call of {@link MemoryWebhookDeliveryQueue.record}. */
export interface RecordCall {
  claim: ClaimedDelivery;
  outcome: DeliveryOutcome;
  /** False when the claim no longer fenced the row (a redelivery, a newer claim, a disabled endpoint). */
  applied: boolean;
}

/** {@link WebhookDeliveryQueue} in memory. */
export class MemoryWebhookDeliveryQueue implements WebhookDeliveryQueue {
  readonly records: RecordCall[] = [];

  constructor(readonly outbox: MemoryOutbox = new MemoryOutbox()) {}

  /** The lease each claimed delivery got, by deliveryKey: the fake's lease_until. */
  private readonly leases = new Map<string, Date>();

  async claimDue({ limit, leaseMs, perEndpoint, perEnvironment }: ClaimLimits): Promise<ClaimedDelivery[]> {
    const { outbox } = this;
    for (const w of outbox.endpoints.values()) if (!w.enabled) outbox.failPending(w.id, ENDPOINT_DISABLED);
    const now = outbox.clock.now();
    const pending = [...outbox.deliveries.values()].filter((d) => d.state === 'pending');
    // In flight: still pending under the lease this queue gave it (a record or
    // a redelivery moves next_attempt_at and so ends it), and not yet lapsed.
    const leased = (d: DeliveryRow) => {
      const lease = this.leases.get(deliveryKey(d.eventId, d.endpointId));
      return lease !== undefined && lease > now && d.nextAttemptAt.getTime() === lease.getTime();
    };
    const busy = new Map<string, number>();
    for (const d of pending.filter(leased)) busy.set(d.endpointId, (busy.get(d.endpointId) ?? 0) + 1);
    const waitsForEarlier = (d: DeliveryRow) =>
      pending.some((p) => p.endpointId === d.endpointId && p.roomId === d.roomId && compareSeq(p.roomSeq, d.roomSeq) < 0);
    const byDue = (a: DeliveryRow, b: DeliveryRow) =>
      a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || a.eventId.localeCompare(b.eventId);
    // Each endpoint's turns, then each environment's turns, as in the SQL.
    const turns: { d: DeliveryRow; environment: Environment; endpointTurn: number }[] = [];
    for (const w of outbox.endpoints.values()) {
      if (!w.enabled) continue;
      const room = Math.max(0, perEndpoint - (busy.get(w.id) ?? 0));
      pending
        .filter((d) => d.endpointId === w.id && d.nextAttemptAt <= now && !waitsForEarlier(d))
        .sort(byDue)
        .slice(0, room)
        .forEach((d, i) => turns.push({ d, environment: w.environment, endpointTurn: i + 1 }));
    }
    const ranked: { d: DeliveryRow; environmentTurn: number }[] = [];
    for (const environment of new Set(turns.map((t) => t.environment))) {
      turns
        .filter((t) => t.environment === environment)
        .sort((a, b) => a.endpointTurn - b.endpointTurn || byDue(a.d, b.d))
        .slice(0, perEnvironment[environment] ?? 0)
        .forEach((t, i) => ranked.push({ d: t.d, environmentTurn: i + 1 }));
    }
    const due = ranked
      .sort((a, b) => a.environmentTurn - b.environmentTurn || byDue(a.d, b.d))
      .slice(0, limit)
      .map((r) => r.d);
    // Date has millisecond precision already, which is what the real lease is truncated to.
    const leaseUntil = new Date(now.getTime() + leaseMs);
    return due.map((d) => {
      Object.assign(d, { attempts: d.attempts + 1, lastAttemptAt: now, nextAttemptAt: leaseUntil });
      this.leases.set(deliveryKey(d.eventId, d.endpointId), leaseUntil);
      const w = outbox.endpoints.get(d.endpointId)!;
      const event = outbox.events.find((e) => e.id === d.eventId) as EventRow;
      return {
        eventId: d.eventId,
        endpointId: d.endpointId,
        attempts: d.attempts,
        leaseUntil: new Date(leaseUntil),
        url: w.url,
        secretEncrypted: Buffer.from(w.secretEncrypted),
        previousSecretEncrypted: w.previousSecretEncrypted && Buffer.from(w.previousSecretEncrypted),
        previousSecretExpiresAt: w.previousSecretExpiresAt && new Date(w.previousSecretExpiresAt),
        event: toRoomEvent(event),
      };
    });
  }

  async record(claim: ClaimedDelivery, outcome: DeliveryOutcome, retryHorizonSeconds: number): Promise<void> {
    const { outbox } = this;
    const now = outbox.clock.now();
    const row = outbox.deliveries.get(deliveryKey(claim.eventId, claim.endpointId));
    const fenced = row?.state === 'pending' && row.nextAttemptAt.getTime() === claim.leaseUntil.getTime() ? row : undefined;
    this.records.push({ claim, outcome, applied: fenced !== undefined });
    switch (outcome.kind) {
      case 'delivered':
        if (fenced) Object.assign(fenced, { state: 'delivered', lastStatusCode: outcome.statusCode, lastError: '' });
        return;
      case 'retry': {
        if (!fenced) return;
        // The horizon counts from the start of the attempt series; the last retry is pulled in to it.
        const horizon = fenced.createdAt.getTime() + retryHorizonSeconds * 1000;
        Object.assign(fenced, {
          state: now.getTime() >= horizon ? 'failed' : 'pending',
          nextAttemptAt: new Date(Math.min(now.getTime() + Math.round(outcome.delayMs), horizon)),
          lastStatusCode: outcome.statusCode,
          lastError: outcome.error,
        });
        return;
      }
      case 'gone': {
        if (fenced) Object.assign(fenced, { state: 'failed', lastStatusCode: outcome.statusCode, lastError: outcome.error });
        const endpoint = outbox.endpoints.get(claim.endpointId);
        if (endpoint) {
          Object.assign(endpoint, {
            enabled: false,
            disabledReason: `the endpoint answered ${outcome.statusCode} Gone`,
            updatedAt: now,
          });
        }
        outbox.failPending(claim.endpointId, `endpoint disabled: it answered ${outcome.statusCode} Gone`);
        return;
      }
    }
  }
}
