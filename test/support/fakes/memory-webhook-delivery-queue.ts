// An in-memory WebhookDeliveryQueue for unit tests, over MemoryOutbox (see
// there for how tests are isolated). It follows
// src/store/webhook-delivery-queue.ts: a claim first gives up pending
// deliveries of disabled endpoints, then takes due deliveries of enabled
// endpoints, oldest due first, skipping any whose room has an earlier event
// still pending for the same endpoint, and leases each by moving
// next_attempt_at to the lease's end (truncated to milliseconds). A result is
// recorded only while that lease still fences the row; a retry past the
// horizon fails the delivery, and 410 Gone disables the endpoint whatever the
// fence says. Every record call is logged in `records`, applied or not.
import type { ClaimedDelivery, DeliveryOutcome, WebhookDeliveryQueue } from '../../../src/domain/ports/index.js';
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

  async claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const { outbox } = this;
    for (const w of outbox.endpoints.values()) if (!w.enabled) outbox.failPending(w.id, ENDPOINT_DISABLED);
    const now = outbox.clock.now();
    const pending = [...outbox.deliveries.values()].filter((d) => d.state === 'pending');
    const waitsForEarlier = (d: DeliveryRow) =>
      pending.some((p) => p.endpointId === d.endpointId && p.roomId === d.roomId && compareSeq(p.roomSeq, d.roomSeq) < 0);
    const due = pending
      .filter((d) => outbox.endpoints.get(d.endpointId)?.enabled && d.nextAttemptAt <= now && !waitsForEarlier(d))
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime())
      .slice(0, limit);
    // Date has millisecond precision already, which is what the real lease is truncated to.
    const leaseUntil = new Date(now.getTime() + leaseMs);
    return due.map((d) => {
      Object.assign(d, { attempts: d.attempts + 1, lastAttemptAt: now, nextAttemptAt: leaseUntil });
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
