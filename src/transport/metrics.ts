import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the unary adapter reports about each call. */
export interface RpcObserver {
  /** Called when a call starts; the returned function when it ends, with its status code. */
  start(method: string): (code: number) => void;
}

/** Prometheus metrics of one server, in a registry of its own (no global state). */
export class RoomgateMetrics implements RpcObserver {
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

  constructor(pool: pg.Pool) {
    collectDefaultMetrics({ register: this.registry });
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
