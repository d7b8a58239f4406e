import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpConfig } from '../config.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { clientKey, requestClientAddress } from './client-address.js';
import { RateLimiter } from './rate-limiter.js';
import { TrustedProxies } from './trusted-proxies.js';
import { sendText } from './responses.js';
import type { HttpRouter } from './router.js';

/** The listener's limits: {@link HttpConfig} without the address. */
export type HttpLimits = Omit<HttpConfig, 'address'>;

/** Options of {@link startHttpListener}. */
export interface HttpListenerOptions {
  limits: HttpLimits;
  /** PEM certificate chain and key: HTTPS instead of HTTP. */
  tls?: { cert: Buffer; key: Buffer };
  /** Told about a server error after listening (the listener keeps going). */
  onError?: (err: unknown) => void;
  clock?: Clock;
  /** Proxies whose X-Forwarded-For names the client the request rate is counted for; none when unset. */
  trustedProxies?: TrustedProxies;
}

/** A listening public HTTP(S) server. */
export interface HttpListener {
  port: number;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then closes every connection. */
  close(graceMs: number): Promise<void>;
}

/** How often Node checks connections against the headers timeout; its default (30 s) would let a slow client stay 30 s past it. */
const TIMEOUT_CHECK_INTERVAL_MS = 500;

const REFUSED_BODY = 'bad request: request target must be a path\n';
const RAW_BAD_REQUEST =
  'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
  `Content-Length: ${REFUSED_BODY.length}\r\nX-Content-Type-Options: nosniff\r\n\r\n${REFUSED_BODY}`;

/**
 * Starts the public listener on `address` (host:port; port 0 picks one) with
 * `router` behind the limits an internet-facing port needs, all in
 * node:http: a headers timeout that also bounds the TLS handshake (slowloris
 * gets 408 or a closed socket), a header size limit (431), a cap on open
 * connections overall and per client address (more are closed at once), and
 * a request rate per client address (429 with Retry-After).
 */
export async function startHttpListener(router: HttpRouter, address: string, options: HttpListenerOptions): Promise<HttpListener> {
  const { limits } = options;
  const limiter = new RateLimiter(options.clock ?? systemClock, { perSecond: limits.rateLimitPerSecond, burst: limits.rateLimitBurst });
  const serverOptions: http.ServerOptions = {
    headersTimeout: limits.headersTimeoutMs,
    // Only gRPC-Web reads a body, one bounded message: the whole request is due when its headers are.
    requestTimeout: limits.headersTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    keepAliveTimeout: 5_000,
  };
  const proxies = options.trustedProxies ?? new TrustedProxies();
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const retryAfter = limiter.take(clientKey(requestClientAddress(req, proxies)));
    if (retryAfter !== undefined) return sendText(res, 429, 'too many requests', { 'retry-after': String(retryAfter) });
    router.handle(req, res).catch((err: unknown) => {
      options.onError?.(err);
      res.destroy();
    });
  };
  const server = options.tls
    ? https.createServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key, handshakeTimeout: limits.headersTimeoutMs }, onRequest)
    : http.createServer(serverOptions, onRequest);
  server.maxConnections = limits.maxConnections;
  // Without a listener Node drops a CONNECT with no answer at all (an Upgrade is served as a plain request).
  const refuse = (_req: http.IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    socket.end(RAW_BAD_REQUEST);
  };
  server.on('connect', refuse);
  const open = new Map<string, number>();
  // First among the connection listeners, so a socket over the limit is gone
  // before HTTP or TLS starts on it. Counted by the socket's own peer, as no
  // header has arrived yet: behind a proxy, that is the proxy.
  server.prependListener('connection', (socket: Socket) => {
    const key = clientKey(socket.remoteAddress);
    const count = open.get(key) ?? 0;
    if (count >= limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    open.set(key, count + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(colon + 1)), host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => options.onError?.(err));
  // A TLS client that fails its handshake is not an error of the server.
  server.on('tlsClientError', () => undefined);
  return {
    port: (server.address() as AddressInfo).port,
    close: (graceMs) =>
      new Promise((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
