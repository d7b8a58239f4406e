import { readFileSync } from 'node:fs';

/** The adapter's settings, all from the environment (see the README's table). */
export interface AdapterConfig {
  /** host:port of roomgate's gRPC listener, for the feed and ReportPeerStatus. */
  grpcAddress: string;
  /** PEM CA to verify roomgate's TLS certificate; plaintext when unset. */
  grpcCaFile: string | undefined;
  jwksUrl: string;
  issuer: string;
  environment: 'sandbox' | 'production';
  /** Management token with scope verify; never logged. */
  verifyToken: string;
  /** Heartbeat interval asked of the feed; the library's default when unset. */
  feedHeartbeatSeconds: number | undefined;
  /** Fail closed after this many seconds without a feed event or heartbeat; undefined means fail open. */
  failClosedAfterSeconds: number | undefined;
  listenHost: string;
  listenPort: number;
  maxConnections: number;
  /** How often to ping each socket; one missed pong drops it as dead. */
  pingIntervalSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback?: T): T {
  const raw = env[name] ?? fallback;
  if (raw === undefined) throw new Error(`${name} is required (${allowed.join(' or ')})`);
  if (!allowed.includes(raw as T)) throw new Error(`${name} must be ${allowed.join(' or ')}`);
  return raw as T;
}

function verifyToken(env: NodeJS.ProcessEnv): string {
  const file = env.ROOMGATE_VERIFY_TOKEN_FILE;
  if (file && env.ROOMGATE_VERIFY_TOKEN) throw new Error('set ROOMGATE_VERIFY_TOKEN or ROOMGATE_VERIFY_TOKEN_FILE, not both');
  const token = file ? readFileSync(file, 'utf8').trim() : env.ROOMGATE_VERIFY_TOKEN;
  if (!token) throw new Error('ROOMGATE_VERIFY_TOKEN or ROOMGATE_VERIFY_TOKEN_FILE is required (a management token with scope verify)');
  return token;
}

/** Reads and checks the settings; throws a message naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): AdapterConfig {
  const [listenHost, port] = splitHostPort(env.MEDIA_SERVER_ADDRESS ?? '127.0.0.1:7880');
  const jwksUrl = required(env, 'ROOMGATE_JWKS_URL');
  if (!/^https?:\/\//.test(jwksUrl)) throw new Error('ROOMGATE_JWKS_URL must be an http or https URL');
  const stale = env.MEDIA_SERVER_STALE_POLICY ?? 'fail-closed';
  if (stale !== 'fail-closed' && stale !== 'fail-open') throw new Error('MEDIA_SERVER_STALE_POLICY must be fail-closed or fail-open');
  return {
    grpcAddress: required(env, 'ROOMGATE_GRPC_ADDRESS'),
    grpcCaFile: env.ROOMGATE_TLS_CA_FILE || undefined,
    jwksUrl,
    issuer: env.ROOMGATE_ISSUER || 'roomgate',
    environment: oneOf(env, 'ROOMGATE_ENVIRONMENT', ['sandbox', 'production'] as const),
    verifyToken: verifyToken(env),
    feedHeartbeatSeconds: env.ROOMGATE_FEED_HEARTBEAT_SECONDS ? integer(env, 'ROOMGATE_FEED_HEARTBEAT_SECONDS', 10, 1, 60) : undefined,
    failClosedAfterSeconds: stale === 'fail-open' ? undefined : integer(env, 'MEDIA_SERVER_FAIL_CLOSED_AFTER_SECONDS', 30, 1, 86_400),
    listenHost,
    listenPort: port,
    maxConnections: integer(env, 'MEDIA_SERVER_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    pingIntervalSeconds: integer(env, 'MEDIA_SERVER_PING_INTERVAL_SECONDS', 15, 1, 3600),
    logLevel: oneOf(env, 'MEDIA_SERVER_LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
  };
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error('MEDIA_SERVER_ADDRESS must be host:port (port 0 picks a free one)');
  }
  return [address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port];
}
