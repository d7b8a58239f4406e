import { DomainError, invalidArgument } from './errors.js';
import { EVENT_TYPES, WEBHOOK_TEST, type EventType } from './events.js';

/**
 * The setting (src/config.ts) that lets endpoint URLs use plain http, named in
 * the refusal so that a developer with a local receiver knows what to set.
 */
export const ALLOW_HTTP_SETTING = 'ROOMGATE_WEBHOOK_ALLOW_HTTP';

/** The setting (src/config.ts) that bounds each environment's webhook endpoints, named in the refusal. */
export const MAX_WEBHOOK_ENDPOINTS_SETTING = 'ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT';

/**
 * Endpoints an environment may register by default. Every event fans out to
 * one delivery per matching endpoint, so this bounds what one event costs the
 * relay: 20 covers a service, its staging copy, a few per-room receivers and
 * a log sink (other providers cap accounts at 10 to 40), while one sandbox
 * token can no longer turn 20 events into 40,000 deliveries.
 */
export const DEFAULT_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT = 20;

/** The refusal of an endpoint beyond the environment's quota (RESOURCE_EXHAUSTED). */
export function endpointQuotaExceeded(quota: number): DomainError {
  return new DomainError(
    'ERR_WEBHOOK_ENDPOINT_QUOTA_EXCEEDED',
    `the environment already has ${quota} webhook endpoints, its limit (${MAX_WEBHOOK_ENDPOINTS_SETTING}); delete endpoints first`,
    { metadata: { limit: String(quota), setting: MAX_WEBHOOK_ENDPOINTS_SETTING } },
  );
}

/** RedeliverEvent of a test event to another endpoint than it was sent to (FAILED_PRECONDITION). */
export function testEventOfAnotherEndpoint(): DomainError {
  return new DomainError(
    'ERR_EVENT_NOT_SUBSCRIBED',
    'this test event was sent to another endpoint and goes only there; SendTestWebhookEvent sends one to this endpoint',
  );
}

/** RedeliverEvent of an event the endpoint's filter (room_id, event_types) excludes (FAILED_PRECONDITION). */
export function eventNotSubscribed(): DomainError {
  return new DomainError(
    'ERR_EVENT_NOT_SUBSCRIBED',
    "the endpoint's filter (room_id or event_types) excludes this event, so it was never delivered there; widen the filter with UpdateWebhookEndpoint to send such events",
  );
}

/** Longest accepted endpoint URL. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;
/** Longest endpoint description, in characters. */
export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 256;
/** Longest secret rotation grace period: a week to deploy the new secret. */
export const MAX_SECRET_GRACE_SECONDS = 7 * 86_400;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Parses an endpoint URL: https (or http when allowed), a host, no credentials, at most 2048 characters. */
export function webhookUrl(value: string, { allowHttp }: { allowHttp: boolean }): URL {
  if (value === '') throw invalidArgument('url', 'is required');
  if (value.length > MAX_WEBHOOK_URL_LENGTH) throw invalidArgument('url', `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidArgument('url', 'must be an absolute URL such as https://example.com/webhooks');
  }
  const schemes = allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    if (allowHttp) throw invalidArgument('url', 'must use https or http');
    throw invalidArgument('url', `must use https (${ALLOW_HTTP_SETTING}=true allows http for local development)`, {
      setting: ALLOW_HTTP_SETTING,
    });
  }
  if (url.hostname === '') throw invalidArgument('url', 'must name a host');
  // Credentials in the URL would be stored and listed in clear; receivers
  // authenticate roomgate by the signature instead.
  if (url.username !== '' || url.password !== '') throw invalidArgument('url', 'must not contain credentials');
  return url;
}

/**
 * Validates an event type filter as the transport decoded it (undefined for an
 * unspecified or unknown wire value); duplicates are dropped, empty means all.
 */
export function eventTypeFilter(field: string, types: readonly (EventType | undefined)[]): EventType[] {
  if (types.some((t) => t === undefined || !EVENT_TYPES.includes(t))) {
    throw invalidArgument(field, 'contains an unspecified or unknown event type');
  }
  if (types.includes(WEBHOOK_TEST)) {
    throw invalidArgument(field, 'EVENT_TYPE_WEBHOOK_TEST cannot be subscribed to: SendTestWebhookEvent sends it to the endpoint it names, whatever its filter');
  }
  return EVENT_TYPES.filter((t) => types.includes(t));
}

/** Validates an endpoint description. */
export function webhookDescription(value: string): string {
  if ([...value].length > MAX_WEBHOOK_DESCRIPTION_LENGTH) {
    throw invalidArgument('description', `must be at most ${MAX_WEBHOOK_DESCRIPTION_LENGTH} characters`);
  }
  if (CONTROL.test(value) || !value.isWellFormed()) {
    throw invalidArgument('description', 'must not contain control characters or invalid Unicode');
  }
  return value;
}

/** Validates a rotation's grace period. */
export function secretGraceSeconds(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_SECRET_GRACE_SECONDS) {
    throw invalidArgument('grace_seconds', `must be between 0 and ${MAX_SECRET_GRACE_SECONDS} (7 days)`);
  }
  return value;
}

const DELIVERY_TOKEN_PREFIX = 'd1.';
const DELIVERY_POSITION = /^[0-9]{1,18}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Page token of ListWebhookDeliveries, after the delivery at `position`. */
export function encodeDeliveryPageToken(position: string): string {
  return Buffer.from(DELIVERY_TOKEN_PREFIX + position, 'utf8').toString('base64url');
}

/** Decodes a ListWebhookDeliveries page token; empty means the first page. */
export function decodeDeliveryPageToken(token: string): string | undefined {
  if (token === '') return undefined;
  const decoded = /^[A-Za-z0-9_-]{1,128}$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  const position = decoded.startsWith(DELIVERY_TOKEN_PREFIX) ? decoded.slice(DELIVERY_TOKEN_PREFIX.length) : '';
  if (!DELIVERY_POSITION.test(position)) throw invalidArgument('page_token', 'is not a token returned by this list call');
  return position;
}
