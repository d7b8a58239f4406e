import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { DomainError, invalidArgument, throwIt } from './errors.js';
import type { EventType } from './events.js';
import type { KeyEncryptor } from './key-encryption.js';
import type { Limits } from './limits.js';
import type { Page, PageTokens } from './pagination.js';
import { ensureCan } from './permissions.js';
import type { Principal } from './principal.js';
import type { RoomStore } from './ports/index.js';
import { notAnAllowedDestination, type UrlGuard } from './url-guard.js';
import * as v from './validation.js';
import { generateWebhookSecret } from './webhook-signature.js';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from './webhook-records.js';
import type { WebhookEndpointPatch, WebhookEndpointStore } from './ports/index.js';
import {
  decodeDeliveryPageToken,
  encodeDeliveryPageToken,
  eventTypeFilter,
  secretGraceSeconds,
  webhookDescription,
  webhookUrl,
} from './webhook-validation.js';

/** Input of CreateWebhookEndpoint; event types as decoded (undefined for an invalid wire value). */
export interface CreateWebhookEndpointInput {
  url: string;
  eventTypes: readonly (EventType | undefined)[];
  roomId: string;
  description: string;
}

/** Input of UpdateWebhookEndpoint: only fields that are set change. */
export interface UpdateWebhookEndpointInput {
  endpointId: string;
  url?: string;
  description?: string;
  enabled?: boolean;
  /** Replaces the filter when set (empty means all). */
  eventTypes?: readonly (EventType | undefined)[];
}

/** Settings of {@link WebhookManager}. */
export interface WebhookManagerOptions {
  /** Accept http:// URLs besides https://. */
  allowHttp: boolean;
  /** Endpoints one environment may have; more are refused with ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED. */
  maxEndpointsPerEnvironment: number;
}

/**
 * Test events one endpoint may be sent per minute. Each is an outbound HTTP
 * request that a caller triggers at will, so it is limited per endpoint (and
 * the endpoints per environment are), in the database, for all instances.
 */
export const WEBHOOK_TEST_LIMIT = { max: 5, windowSeconds: 60 } as const;

const endpointNotFound = () => new DomainError('ERR_WEBHOOK_ENDPOINT_NOT_FOUND', 'webhook endpoint not found');

/** Webhook endpoint use cases: validation, authorization, the SSRF guard, then the store. */
export class WebhookManager {
  constructor(
    private readonly endpoints: WebhookEndpointStore,
    private readonly rooms: Pick<RoomStore, 'get'>,
    private readonly guard: UrlGuard,
    private readonly encryptor: KeyEncryptor,
    private readonly clock: Clock,
    private readonly limits: Limits,
    private readonly options: WebhookManagerOptions,
    private readonly pages: PageTokens,
  ) {}

  /** Registers an endpoint; the secret is returned here and never again. */
  async create(principal: Principal, input: CreateWebhookEndpointInput): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    ensureCan(principal, 'webhook:manage');
    const url = webhookUrl(input.url, this.options);
    const eventTypes = eventTypeFilter('event_types', input.eventTypes);
    const description = webhookDescription(input.description);
    const roomId = input.roomId === '' ? null : v.requireId('room_id', input.roomId);
    if (roomId && !(await this.rooms.get(principal.environment, roomId))) {
      throw new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');
    }
    await this.ensureSafe(url);
    const id = randomUUID();
    const secret = generateWebhookSecret();
    const endpoint = await this.endpoints.insert({
      id,
      environment: principal.environment,
      url: url.href,
      eventTypes,
      roomId,
      description,
      secretEncrypted: this.seal(secret, id),
    }, this.options.maxEndpointsPerEnvironment);
    return { endpoint: this.current(endpoint), secret };
  }

  /** Returns one endpoint of the caller's environment (never its secret). */
  async get(principal: Principal, endpointId: string): Promise<WebhookEndpointRecord> {
    ensureCan(principal, 'webhook:manage');
    return this.current(await this.find(principal, endpointId));
  }

  /** Lists endpoints oldest first. */
  async list(principal: Principal, pageSize: number, pageToken: string): Promise<Page<WebhookEndpointRecord>> {
    ensureCan(principal, 'webhook:manage');
    const size = v.pageSize(pageSize, this.limits);
    const scope = { environment: principal.environment, list: 'webhook-endpoints' } as const;
    const rows = await this.endpoints.list(principal.environment, this.pages.decode(scope, pageToken), size + 1);
    return this.pages.page(scope, rows.map((r) => this.current(r)), size);
  }

  /** Changes URL, description, enabled state or filter. */
  async update(principal: Principal, input: UpdateWebhookEndpointInput): Promise<WebhookEndpointRecord> {
    ensureCan(principal, 'webhook:manage');
    const id = v.requireId('endpoint_id', input.endpointId);
    const url = input.url === undefined ? undefined : webhookUrl(input.url, this.options);
    const patch: WebhookEndpointPatch = {
      ...(url && { url: url.href }),
      ...(input.description !== undefined && { description: webhookDescription(input.description) }),
      ...(input.enabled !== undefined && { enabled: input.enabled }),
      ...(input.eventTypes !== undefined && { eventTypes: eventTypeFilter('event_types', input.eventTypes) }),
    };
    if (Object.keys(patch).length === 0) {
      throw new DomainError(
        'ERR_INVALID_ARGUMENT',
        'nothing to update: set url, description, enabled, or replace_event_types with event_types',
      );
    }
    if (url) await this.ensureSafe(url);
    return this.current((await this.endpoints.update(principal.environment, id, patch)) ?? throwIt(endpointNotFound()));
  }

  /** Deletes an endpoint with its deliveries. */
  async delete(principal: Principal, endpointId: string): Promise<void> {
    ensureCan(principal, 'webhook:manage');
    const id = v.requireId('endpoint_id', endpointId);
    if (!(await this.endpoints.delete(principal.environment, id))) throw endpointNotFound();
  }

  /**
   * Replaces the secret. For `graceSeconds` the old secret keeps signing next
   * to the new one, so receivers can switch without dropping deliveries.
   */
  async rotateSecret(
    principal: Principal,
    endpointId: string,
    graceSeconds: number,
  ): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    ensureCan(principal, 'webhook:manage');
    const id = v.requireId('endpoint_id', endpointId);
    const grace = secretGraceSeconds(graceSeconds);
    const secret = generateWebhookSecret();
    const previousExpiresAt = grace === 0 ? null : new Date(this.clock.now().getTime() + grace * 1000);
    const endpoint = await this.endpoints.rotateSecret(principal.environment, id, this.seal(secret, id), previousExpiresAt);
    return { endpoint: this.current(endpoint ?? throwIt(endpointNotFound())), secret };
  }

  /** Lists an endpoint's deliveries, newest first. */
  async listDeliveries(
    principal: Principal,
    endpointId: string,
    pageSize: number,
    pageToken: string,
  ): Promise<{ items: WebhookDeliveryRecord[]; nextPageToken: string }> {
    ensureCan(principal, 'webhook:manage');
    const endpoint = await this.find(principal, endpointId);
    const size = v.pageSize(pageSize, this.limits);
    const rows = await this.endpoints.listDeliveries(endpoint.id, decodeDeliveryPageToken(pageToken), size + 1);
    const items = rows.slice(0, size);
    const last = items[items.length - 1];
    return { items, nextPageToken: rows.length > size && last ? encodeDeliveryPageToken(last.position) : '' };
  }

  /** Sends an event to an endpoint again, as a new attempt series with the same webhook-id. */
  async redeliver(principal: Principal, eventId: string, endpointId: string): Promise<WebhookDeliveryRecord> {
    ensureCan(principal, 'webhook:manage');
    const event = v.requireId('event_id', eventId);
    const endpoint = await this.find(principal, endpointId);
    if (!endpoint.enabled) {
      throw new DomainError('ERR_WEBHOOK_ENDPOINT_DISABLED', 'the endpoint is disabled; enable it with UpdateWebhookEndpoint first');
    }
    const delivery = await this.endpoints.redeliver(principal.environment, event, endpoint.id);
    return delivery ?? throwIt(new DomainError('ERR_EVENT_NOT_FOUND', 'event not found'));
  }

  /**
   * Sends a test event to one endpoint, whatever its filter: signed, retried
   * and listed like any delivery, and never streamed by WatchEvents.
   */
  async sendTest(principal: Principal, endpointId: string): Promise<WebhookDeliveryRecord> {
    ensureCan(principal, 'webhook:manage');
    const id = v.requireId('endpoint_id', endpointId);
    const outcome = await this.endpoints.sendTest(principal.environment, id, WEBHOOK_TEST_LIMIT);
    switch (outcome.kind) {
      case 'sent':
        return outcome.delivery;
      case 'not-found':
        throw endpointNotFound();
      case 'disabled':
        throw new DomainError('ERR_WEBHOOK_ENDPOINT_DISABLED', 'the endpoint is disabled; enable it with UpdateWebhookEndpoint first');
      case 'limited': {
        const { max, windowSeconds } = WEBHOOK_TEST_LIMIT;
        throw new DomainError(
          'ERR_WEBHOOK_TEST_RATE_LIMITED',
          `the endpoint was sent ${max} test events in the last ${windowSeconds} s, its limit; try again in ${outcome.retryAfterSeconds} s`,
          { metadata: { retryAfterSeconds: String(outcome.retryAfterSeconds), limit: String(max), windowSeconds: String(windowSeconds) } },
        );
      }
    }
  }

  private async find(principal: Principal, endpointId: string): Promise<WebhookEndpointRecord> {
    const id = v.requireId('endpoint_id', endpointId);
    return (await this.endpoints.get(principal.environment, id)) ?? throwIt(endpointNotFound());
  }

  private async ensureSafe(url: URL): Promise<void> {
    if (!(await this.guard.vet(url.hostname)).ok) throw notAnAllowedDestination();
  }

  /** The record as of now: a grace period that has ended is no longer reported. */
  private current(endpoint: WebhookEndpointRecord): WebhookEndpointRecord {
    const expires = endpoint.previousSecretExpiresAt;
    return expires && expires <= this.clock.now() ? { ...endpoint, previousSecretExpiresAt: null } : endpoint;
  }

  private seal(secret: string, endpointId: string): Buffer {
    return this.encryptor.encrypt(Buffer.from(secret, 'utf8'), endpointId);
  }
}
