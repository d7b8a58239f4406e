import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { RoomEvent } from '../domain/events.js';
import { ENVIRONMENTS, type Environment } from '../domain/principal.js';
import type { KeyEncryptor } from '../domain/key-encryption.js';
import { NOT_AN_ALLOWED_DESTINATION, type UrlGuard } from '../domain/url-guard.js';
import { webhookSignatureHeaders } from '../domain/webhook-signature.js';
import type { ClaimedDelivery, DeliveryOutcome, WebhookDeliveryQueue } from '../domain/ports/index.js';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffPolicy } from '../domain/backoff.js';
import { attemptDeadline } from './attempt-deadline.js';
import { DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT, environmentShare } from './fair-share.js';
import { parseRetryAfter } from './retry-after.js';
import { postWebhook, WebhookTimeoutError, type WebhookResponse, type WebhookSender } from './http-post.js';
import type { WebhookAttemptResult, WebhookRelayObserver } from '../domain/webhook-relay-observer.js';

/** Settings of a {@link WebhookRelay}. */
export interface WebhookRelayOptions {
  /** Deliveries sent at once. */
  concurrency: number;
  /** Budget of one attempt: resolving, connecting and the response headers. */
  timeoutMs: number;
  /** Retries stop this long after the attempt series started. */
  retryHorizonSeconds: number;
  backoff?: BackoffPolicy;
  /** Poll interval while there is nothing to do; wake() cuts it short. Default 250 ms. */
  idlePollMs?: number;
  /** Added to timeoutMs for the claim's lease, to cover recording the result. Default 5 s. */
  leaseMarginMs?: number;
  /** Source of jitter, in [0, 1). */
  random?: () => number;
  /** Attempts in flight per endpoint, over all relays on the database. Default 2 ({@link DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT}). */
  maxInFlightPerEndpoint?: number;
}

/** What a relay works with. */
export interface WebhookRelayDeps {
  queue: WebhookDeliveryQueue;
  guard: UrlGuard;
  encryptor: KeyEncryptor;
  clock: Clock;
  logger: Logger;
  send?: WebhookSender;
  /** The request body of an event: the wire format is the transport's, so it is passed in. */
  body: (event: RoomEvent) => Buffer;
  /** Told how each attempt ended (metrics). */
  observer?: WebhookRelayObserver;
}

/** An attempt's outcome for the queue, and its result for the observer. */
interface Attempt {
  outcome: DeliveryOutcome;
  result: WebhookAttemptResult;
}

/** last_error of an attempt the SSRF guard stopped before any request. */
export const REFUSED_PRIVATE_ADDRESS = `refused: ${NOT_AN_ALLOWED_DESTINATION}`;

/**
 * Sends pending webhook deliveries. Any number of relays, in any number of
 * processes, may share one database: each claims due rows with SKIP LOCKED
 * and a lease, sends outside the claiming statement, and records the result.
 */
export class WebhookRelay {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Sends in flight per environment, for the fair share (see environmentShare). */
  private readonly inFlightByEnvironment = new Map<Environment, number>();
  private stopping = new AbortController();

  constructor(
    private readonly deps: WebhookRelayDeps,
    private readonly options: WebhookRelayOptions,
  ) {}

  /** Starts polling. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    this.schedule(0);
  }

  /** Looks for due deliveries now; call it when events are committed (NOTIFY roomgate_events). */
  wake(): void {
    if (!this.running) return;
    if (this.polling) this.pollAgain = true;
    else this.schedule(0);
  }

  /**
   * Stops claiming and waits up to `graceMs` for sends in flight; the rest are
   * aborted, and their leases let another relay retry them.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.polling;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled(this.inFlight), grace]);
    clearTimeout(timer);
    this.stopping.abort();
    await Promise.allSettled(this.inFlight);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => (this.polling = undefined));
    }, ms);
  }

  private async poll(): Promise<void> {
    const free = this.options.concurrency - this.inFlight.size;
    const perEnvironment = this.environmentLimits(free);
    const wanted = Object.values(perEnvironment).reduce((a, b) => a + b, 0);
    let claimed = 0;
    if (free > 0 && wanted > 0) {
      try {
        const leaseMs = this.options.timeoutMs + (this.options.leaseMarginMs ?? 5_000);
        const claims = await this.deps.queue.claimDue({
          limit: free,
          leaseMs,
          perEndpoint: this.options.maxInFlightPerEndpoint ?? DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT,
          perEnvironment,
        });
        claimed = claims.length;
        for (const claim of claims) this.track(claim.event.environment, this.deliver(claim));
      } catch (err) {
        this.deps.logger.warn({ err }, 'webhook relay could not claim deliveries');
      }
    }
    if (!this.running) return;
    // A full batch means more may be due; a finished send also wakes the relay
    // (see track), which lets the next event of the same room go at once.
    const again = this.pollAgain || (claimed === Math.min(free, wanted) && claimed > 0);
    this.pollAgain = false;
    this.schedule(again ? 0 : (this.options.idlePollMs ?? 250));
  }

  /** What each environment may claim now: its share, less what it has in flight, within the free slots. */
  private environmentLimits(free: number): Record<Environment, number> {
    const share = environmentShare(this.options.concurrency);
    const limits = {} as Record<Environment, number>;
    for (const env of ENVIRONMENTS) {
      limits[env] = Math.max(0, Math.min(free, share - (this.inFlightByEnvironment.get(env) ?? 0)));
    }
    return limits;
  }

  private track(environment: Environment, send: Promise<void>): void {
    this.inFlight.add(send);
    this.inFlightByEnvironment.set(environment, (this.inFlightByEnvironment.get(environment) ?? 0) + 1);
    void send.finally(() => {
      this.inFlight.delete(send);
      this.inFlightByEnvironment.set(environment, (this.inFlightByEnvironment.get(environment) ?? 1) - 1);
      this.wake();
    });
  }

  private async deliver(claim: ClaimedDelivery): Promise<void> {
    let attempt: Attempt;
    try {
      attempt = await this.attempt(claim);
    } catch (err) {
      this.deps.logger.error({ err, eventId: claim.eventId, endpointId: claim.endpointId }, 'webhook attempt failed inside roomgate');
      attempt = { result: 'internal_error', outcome: this.retry(claim, 0, 'internal error') };
    }
    const { outcome } = attempt;
    this.observe(claim, attempt);
    const log = { eventId: claim.eventId, endpointId: claim.endpointId, attempt: claim.attempts, outcome: outcome.kind };
    if (outcome.kind === 'delivered') this.deps.logger.debug(log, 'webhook delivered');
    else this.deps.logger.info({ ...log, statusCode: outcome.statusCode, error: outcome.error }, 'webhook attempt failed');
    try {
      await this.deps.queue.record(claim, outcome, this.options.retryHorizonSeconds);
    } catch (err) {
      // The lease lapses and another attempt follows; delivery stays at least once.
      this.deps.logger.warn({ err, eventId: claim.eventId, endpointId: claim.endpointId }, 'could not record a webhook attempt');
    }
  }

  private observe(claim: ClaimedDelivery, attempt: Attempt): void {
    const { observer, clock } = this.deps;
    if (!observer) return;
    observer.attempted(attempt.result);
    // The event's time comes from Postgres and now() from this process; a
    // clock skew between them must not make a negative lag.
    if (attempt.result === 'delivered') {
      observer.delivered(Math.max(0, (clock.now().getTime() - claim.event.createdAt.getTime()) / 1000));
    }
  }

  private async attempt(claim: ClaimedDelivery): Promise<Attempt> {
    const { clock, encryptor } = this.deps;
    const secrets = [encryptor.decrypt(claim.secretEncrypted, claim.endpointId).toString('utf8')];
    if (claim.previousSecretEncrypted && claim.previousSecretExpiresAt && claim.previousSecretExpiresAt > clock.now()) {
      secrets.push(encryptor.decrypt(claim.previousSecretEncrypted, claim.endpointId).toString('utf8'));
    }
    const url = new URL(claim.url);
    const deadline = attemptDeadline(this.stopping.signal, this.options.timeoutMs);
    try {
      return await this.send(claim, url, secrets, deadline.signal);
    } finally {
      deadline.release();
    }
  }

  private async send(claim: ClaimedDelivery, url: URL, secrets: string[], signal: AbortSignal): Promise<Attempt> {
    const { clock, guard } = this.deps;
    // DNS can change after the endpoint was vetted, so every attempt is vetted again.
    const vetted = await abortable(guard.vet(url.hostname), signal);
    if (vetted === undefined) return this.aborted(claim);
    if (!vetted.ok) {
      // One text for both, as for CreateWebhookEndpoint: last_error is read by
      // the tenant, and must not tell a name that does not resolve from one
      // that resolves to a private address (a DNS oracle). The metric keeps
      // them apart for operators.
      return { result: vetted.reason === 'refused' ? 'refused' : 'dns_error', outcome: this.retry(claim, 0, REFUSED_PRIVATE_ADDRESS) };
    }
    const body = this.deps.body(claim.event);
    const timestamp = Math.floor(clock.now().getTime() / 1000);
    const headers = {
      ...webhookSignatureHeaders(secrets, claim.eventId, timestamp, body),
      'content-type': 'application/json',
      'user-agent': 'roomgate',
    };
    let response: WebhookResponse;
    try {
      const request = { url, addresses: vetted.addresses, headers, body, signal, timeoutMs: this.options.timeoutMs };
      response = await (this.deps.send ?? postWebhook)(request);
    } catch (err) {
      if (signal.aborted) return this.aborted(claim);
      if (err instanceof WebhookTimeoutError) return this.aborted(claim);
      return { result: 'network_error', outcome: this.retry(claim, 0, describeError(err)) };
    }
    return this.classify(claim, response);
  }

  private classify(claim: ClaimedDelivery, res: WebhookResponse): Attempt {
    const code = res.statusCode;
    if (code >= 200 && code < 300) return { result: 'delivered', outcome: { kind: 'delivered', statusCode: code } };
    if (code === 410) return { result: 'gone', outcome: { kind: 'gone', statusCode: code, error: 'HTTP 410' } };
    if (code === 429 || code === 503) {
      // The store also pulls the retry in to the horizon; this bound only keeps
      // an absurd header from overflowing the interval arithmetic.
      const asked = parseRetryAfter(res.retryAfter, this.deps.clock.now());
      const delayMs = asked === undefined ? undefined : Math.min(asked, this.options.retryHorizonSeconds * 1000);
      if (delayMs !== undefined) {
        return { result: 'http_error', outcome: { kind: 'retry', statusCode: code, error: `HTTP ${code}`, delayMs } };
      }
    }
    return { result: 'http_error', outcome: this.retry(claim, code, `HTTP ${code}`) };
  }

  private retry(claim: ClaimedDelivery, statusCode: number, error: string): DeliveryOutcome {
    const delayMs = retryDelayMs(claim.attempts, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random);
    return { kind: 'retry', statusCode, error, delayMs };
  }

  private aborted(claim: ClaimedDelivery): Attempt {
    return this.stopping.signal.aborted
      ? { result: 'relay_stopped', outcome: this.retry(claim, 0, 'relay stopped') }
      : { result: 'timeout', outcome: this.retry(claim, 0, `timed out after ${this.options.timeoutMs} ms`) };
  }
}

/** Resolves with `promise`'s value, or undefined once `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * last_error of a request that failed without a response: the error code
 * only. Node's messages name the address it connected to (`connect
 * ECONNREFUSED 10.0.0.5:443`), which the tenant must not learn.
 */
function describeError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? `request failed (${code})` : 'request failed';
}
