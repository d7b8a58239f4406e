import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  WEBHOOK_ATTEMPT_RESULTS,
  type WebhookAttemptResult,
  type WebhookRelayObserver,
} from '../domain/webhook-relay-observer.js';
import { JoinRateLimitMetrics } from './join-rate-metrics.js';

/** What the unary adapter reports about each call. */
export interface RpcObserver {
  /** Called when a call starts; the returned function when it ends, with its status code. */
  start(method: string): (code: number) => void;
}

/** The connection pool's counts, as pg.Pool reports them; read at each scrape. */
export interface PoolStats {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/** Reads the webhook outbox's backlog at scrape time; rejects after `timeoutMs`. */
export interface WebhookBacklogSource {
  backlog(timeoutMs: number): Promise<{ pending: number; oldestPendingSeconds: number }>;
}

/** Budget of the backlog query, well inside Prometheus's default 10 s scrape timeout. */
const BACKLOG_TIMEOUT_MS = 2_000;

/** Prometheus metrics of one server, in a registry of its own (no global state). */
export class RoomgateMetrics implements RpcObserver, WebhookRelayObserver {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'roomgate_rpc_requests_total',
    help: 'RPCs handled, by method and gRPC status code.',
    labelNames: ['method', 'code'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'roomgate_rpc_duration_seconds',
    help: 'RPC latency, by method.',
    labelNames: ['method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly inFlight = new Gauge({
    name: 'roomgate_rpc_in_flight',
    help: 'RPCs being handled now.',
    registers: [this.registry],
  });
  /** Peer tokens issued (CreatePeer, RefreshPeerToken, IssuePeerToken). */
  readonly tokensIssued = new Counter({
    name: 'roomgate_peer_tokens_issued_total',
    help: 'Peer tokens issued, by RPC.',
    labelNames: ['method'] as const,
    registers: [this.registry],
  });
  /** VerifyPeerToken answers, by result ("valid" or the rejection reason). */
  readonly tokensVerified = new Counter({
    name: 'roomgate_peer_token_verifications_total',
    help: 'VerifyPeerToken answers, by result: valid or the reason it was rejected.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  /** RedeemJoinCode answers, by outcome (see redemptionOutcome in join-code-service.ts): a bounded set. */
  readonly joinCodeRedemptions = new Counter({
    name: 'roomgate_join_code_redemptions_total',
    help: 'RedeemJoinCode answers, by outcome: ok, invalid_code, rate_limited, room_full, identity_banned, identity_taken, no_app_url, app_url_not_allowed, invalid_argument or error.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly webhookAttempts = new Counter({
    name: 'roomgate_webhook_attempts_total',
    help: 'Webhook attempts sent by this instance, by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  private readonly webhookLag = new Histogram({
    name: 'roomgate_webhook_delivery_lag_seconds',
    help: 'Time from an event to its successful webhook delivery.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400],
    registers: [this.registry],
  });

  /** RedeemJoinCode's rate limits: refusals and the per-instance memo. */
  readonly joinRateLimits = new JoinRateLimitMetrics(this.registry);

  /** `webhookBacklog` feeds the outbox gauges; without it they are not registered. */
  constructor(pool: PoolStats, webhookBacklog?: WebhookBacklogSource) {
    collectDefaultMetrics({ register: this.registry });
    for (const result of WEBHOOK_ATTEMPT_RESULTS) this.webhookAttempts.inc({ result }, 0);
    if (webhookBacklog) this.registerBacklog(webhookBacklog);
    new Gauge({
      name: 'roomgate_db_pool_connections',
      help: 'Postgres pool connections, by state: total, idle, or callers waiting for one.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }

  attempted(result: WebhookAttemptResult): void {
    this.webhookAttempts.inc({ result });
  }

  delivered(lagSeconds: number): void {
    this.webhookLag.observe(lagSeconds);
  }

  private registerBacklog(source: WebhookBacklogSource): void {
    // The registry collects every metric at once, so both gauges share one
    // query per scrape. A failed query must not fail the scrape (prom-client
    // rejects the whole registry when a collect rejects): the gauges read NaN,
    // which no threshold alert mistakes for an empty outbox.
    let reading: Promise<Awaited<ReturnType<WebhookBacklogSource['backlog']>> | undefined> | undefined;
    const read = () =>
      (reading ??= source
        .backlog(BACKLOG_TIMEOUT_MS)
        .catch(() => undefined)
        .finally(() => (reading = undefined)));
    new Gauge({
      name: 'roomgate_webhook_deliveries_pending',
      help: 'Webhook deliveries not yet delivered or given up, on the whole database (NaN when it does not answer).',
      registers: [this.registry],
      async collect() {
        this.set((await read())?.pending ?? NaN);
      },
    });
    new Gauge({
      name: 'roomgate_webhook_oldest_pending_seconds',
      help: 'Age of the oldest pending webhook delivery, 0 when none (NaN when the database does not answer).',
      registers: [this.registry],
      async collect() {
        this.set((await read())?.oldestPendingSeconds ?? NaN);
      },
    });
  }

  start(method: string): (code: number) => void {
    this.inFlight.inc();
    const end = this.duration.startTimer({ method });
    return (code) => {
      end();
      this.inFlight.dec();
      this.requests.inc({ method, code: String(code) });
    };
  }
}

/** Serves `GET /metrics` on its own HTTP port; returns the bound port and a close function. */
export async function serveMetrics(metrics: RoomgateMetrics, address: string): Promise<{ port: number; close(): Promise<void> }> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(colon + 1)), host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
