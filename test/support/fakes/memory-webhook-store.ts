// An in-memory WebhookEndpointStore for unit tests, over MemoryOutbox (see
// there for how tests are isolated). It follows src/store/webhook-store.ts:
// endpoint reads and writes filter by environment; list pages by seq;
// update changes only the fields set, clears disabled_reason when it enables,
// and gives up pending deliveries when it disables; delete takes the
// deliveries with it; listDeliveries pages newest first by (created_at,
// event_id); redeliver restarts or creates the attempt series of an event of
// the endpoint's environment that the endpoint's filter takes (else
// ERR_EVENT_NOT_SUBSCRIBED). Secrets are kept as given, still encrypted.
// Test events (sendTest) are not modelled: integration tests cover them on
// Postgres (webhook-test-event.test.ts), and a unit test calling it fails.
import type { Environment } from '../../../src/domain/principal.js';
import type { NewWebhookEndpoint, TestEventOutcome, WebhookEndpointPatch, WebhookEndpointStore } from '../../../src/domain/ports/index.js';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../../../src/domain/webhook-records.js';
import { pageBySeq } from './memory-room-store.js';
import {
  deliveryKey,
  deliveryPosition,
  ENDPOINT_DISABLED,
  MemoryOutbox,
  newDelivery,
  type EndpointRow,
  wants,
} from './memory-outbox.js';
import { endpointQuotaExceeded, eventNotSubscribed } from '../../../src/domain/webhook-validation.js';

/** {@link WebhookEndpointStore} in memory. */
export class MemoryWebhookStore implements WebhookEndpointStore {
  constructor(readonly outbox: MemoryOutbox = new MemoryOutbox()) {}

  async insert(e: NewWebhookEndpoint, quota: number): Promise<WebhookEndpointRecord> {
    // The primary key: pg's 23505 has no domain code here, so the real store fails with a plain error too.
    if (this.outbox.endpoints.has(e.id)) throw new Error('duplicate key value violates unique constraint on webhook_endpoints');
    // The real store's counter row; JS runs this check and the insert below without interleaving.
    const count = [...this.outbox.endpoints.values()].filter((w) => w.environment === e.environment).length;
    if (count >= quota) throw endpointQuotaExceeded(quota);
    const now = this.outbox.clock.now();
    const row: EndpointRow = {
      id: e.id,
      environment: e.environment,
      url: e.url,
      eventTypes: [...e.eventTypes],
      roomId: e.roomId,
      description: e.description,
      enabled: true,
      disabledReason: '',
      previousSecretExpiresAt: null,
      createdAt: now,
      updatedAt: now,
      seq: this.outbox.nextEndpointSeq(),
      secretEncrypted: Buffer.from(e.secretEncrypted),
      previousSecretEncrypted: null,
    };
    this.outbox.endpoints.set(row.id, row);
    return toRecord(row);
  }

  async get(environment: Environment, id: string): Promise<WebhookEndpointRecord | undefined> {
    const row = this.outbox.endpoint(environment, id);
    return row && toRecord(row);
  }

  async list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<WebhookEndpointRecord[]> {
    return pageBySeq(this.outbox.endpoints.values(), environment, afterSeq, limit).map(toRecord);
  }

  async update(environment: Environment, id: string, patch: WebhookEndpointPatch): Promise<WebhookEndpointRecord | undefined> {
    const row = this.outbox.endpoint(environment, id);
    if (!row) return undefined;
    if (patch.url !== undefined) row.url = patch.url;
    if (patch.description !== undefined) row.description = patch.description;
    if (patch.eventTypes !== undefined) row.eventTypes = [...patch.eventTypes];
    if (patch.enabled === true) Object.assign(row, { enabled: true, disabledReason: '' });
    if (patch.enabled === false) row.enabled = false;
    row.updatedAt = this.outbox.clock.now();
    if (patch.enabled === false) this.outbox.failPending(id, ENDPOINT_DISABLED);
    return toRecord(row);
  }

  async delete(environment: Environment, id: string): Promise<boolean> {
    if (!this.outbox.endpoint(environment, id)) return false;
    // ON DELETE CASCADE: the endpoint's deliveries go with it.
    for (const [key, d] of this.outbox.deliveries) if (d.endpointId === id) this.outbox.deliveries.delete(key);
    this.outbox.endpoints.delete(id);
    return true;
  }

  async rotateSecret(
    environment: Environment,
    id: string,
    secretEncrypted: Buffer,
    previousExpiresAt: Date | null,
  ): Promise<WebhookEndpointRecord | undefined> {
    const row = this.outbox.endpoint(environment, id);
    if (!row) return undefined;
    row.previousSecretEncrypted = previousExpiresAt === null ? null : row.secretEncrypted;
    row.previousSecretExpiresAt = previousExpiresAt && new Date(previousExpiresAt);
    row.secretEncrypted = Buffer.from(secretEncrypted);
    row.updatedAt = this.outbox.clock.now();
    return toRecord(row);
  }

  async listDeliveries(endpointId: string, after: string | undefined, limit: number): Promise<WebhookDeliveryRecord[]> {
    const key = (position: string) => {
      const [us, eventId] = position.split('.') as [string, string];
      return { us: BigInt(us), eventId };
    };
    // Newest first: descending (created_at, event_id), strictly below `after`.
    const newerFirst = (a: { us: bigint; eventId: string }, b: { us: bigint; eventId: string }) =>
      a.us !== b.us ? (a.us > b.us ? -1 : 1) : a.eventId > b.eventId ? -1 : a.eventId < b.eventId ? 1 : 0;
    const from = after === undefined ? undefined : key(after);
    return [...this.outbox.deliveries.values()]
      .filter((d) => d.endpointId === endpointId && (!from || newerFirst(key(deliveryPosition(d)), from) > 0))
      .sort((a, b) => newerFirst(key(deliveryPosition(a)), key(deliveryPosition(b))))
      .slice(0, limit)
      .map((d) => this.outbox.deliveryRecord(d));
  }

  async redeliver(environment: Environment, eventId: string, endpointId: string): Promise<WebhookDeliveryRecord | undefined> {
    const event = this.outbox.event(environment, eventId);
    // The endpoint is joined on the event's environment; it need not be enabled (the manager checks that).
    const endpoint = this.outbox.endpoint(environment, endpointId);
    if (!event || !endpoint) return undefined;
    if (!wants(endpoint, event)) throw eventNotSubscribed();
    const fresh = newDelivery(event, endpointId, this.outbox.clock.now());
    this.outbox.deliveries.set(deliveryKey(eventId, endpointId), fresh);
    return this.outbox.deliveryRecord(fresh);
  }

  async sendTest(): Promise<TestEventOutcome> {
    throw new Error('MemoryWebhookStore does not model test events; test SendTestWebhookEvent on Postgres');
  }
}

function toRecord({ secretEncrypted: _s, previousSecretEncrypted: _p, ...r }: EndpointRow): WebhookEndpointRecord {
  return {
    ...r,
    eventTypes: [...r.eventTypes],
    previousSecretExpiresAt: r.previousSecretExpiresAt && new Date(r.previousSecretExpiresAt),
    createdAt: new Date(r.createdAt),
    updatedAt: new Date(r.updatedAt),
  };
}

/** An insert input for a sandbox endpoint at https://hooks.example/in that takes every event, unless `fields` says otherwise. */
export function endpointInput(id: string, secretEncrypted: Buffer, fields: Partial<NewWebhookEndpoint> = {}): NewWebhookEndpoint {
  return {
    id,
    environment: 'sandbox',
    url: 'https://hooks.example/in',
    eventTypes: [],
    roomId: null,
    description: '',
    secretEncrypted,
    ...fields,
  };
}
