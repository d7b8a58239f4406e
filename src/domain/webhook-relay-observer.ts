/**
 * How a webhook attempt can end, as the relay tells them apart:
 * - `delivered`: a 2xx response;
 * - `http_error`: any other response, except 410;
 * - `gone`: 410 Gone, which disables the endpoint;
 * - `timeout`: no response within the attempt's budget;
 * - `network_error`: the request failed without a response (refused, reset, TLS);
 * - `dns_error`: the host did not resolve;
 * - `refused`: the SSRF guard refused the address the host resolves to;
 * - `relay_stopped`: the relay shut down during the attempt;
 * - `internal_error`: roomgate failed before sending (a bug or an undecryptable secret).
 */
export const WEBHOOK_ATTEMPT_RESULTS = [
  'delivered',
  'http_error',
  'gone',
  'timeout',
  'network_error',
  'dns_error',
  'refused',
  'relay_stopped',
  'internal_error',
] as const;

/** One of {@link WEBHOOK_ATTEMPT_RESULTS}. */
export type WebhookAttemptResult = (typeof WEBHOOK_ATTEMPT_RESULTS)[number];

/** What a relay reports about its attempts; the metrics implement it, so the relay needs no Prometheus. */
export interface WebhookRelayObserver {
  /** Called once per attempt, with how it ended. */
  attempted(result: WebhookAttemptResult): void;
  /** Called when an attempt delivered, with the seconds since its event was created. */
  delivered(lagSeconds: number): void;
}
