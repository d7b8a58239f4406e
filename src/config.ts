import { z } from 'zod';
import { DEFAULT_JOIN_RATE_LIMITS, type JoinRateLimitSettings } from './domain/join-rate-limits.js';
import { DEFAULT_LIMITS, type Limits } from './domain/limits.js';
import { parseTrustedProxies } from './http/trusted-proxies.js';
import { DEFAULT_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT } from './domain/webhook-validation.js';
import { DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT } from './relay/fair-share.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const kek = z
  .string()
  .transform((s) => Buffer.from(s, 'base64'))
  .refine((b) => b.length === 32, 'must be 32 random bytes in base64 (for example: openssl rand -base64 32)');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** An origin as browsers send it: scheme, host and a non-default port, lower case, no path. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** An absolute http(s) URL without query or fragment: where the public HTTP listener is reached from outside. */
function isPublicBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '' && !value.includes('#');
  } catch {
    return false;
  }
}

const origins = z
  .string()
  .transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o !== ''))
  .refine((list) => list.every(isOrigin), {
    message: 'must be a comma-separated list of exact origins such as https://console.example.com (scheme and host, lower case, no path, no trailing slash, no *)',
  });

const proxies = z.string().transform((s, ctx) => {
  try {
    return parseTrustedProxies(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `${(err as Error).message}; list proxies as comma-separated IP addresses and CIDR blocks` });
    return z.NEVER;
  }
});

const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ROOMGATE_GRPC_ADDRESS: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port, for example 0.0.0.0:50051')
    .default('127.0.0.1:50051'),
  ROOMGATE_DATA_DIR: z.string().min(1).default('./.roomgate'),
  ROOMGATE_ISSUER: z.string().min(1).max(256).default('roomgate'),
  ROOMGATE_KEY_ENCRYPTION_KEY: kek.optional(),
  ROOMGATE_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  ROOMGATE_DB_POOL_SIZE: int(1, 1000).default(10),
  ROOMGATE_DB_STATEMENT_TIMEOUT_MS: int(0, 86_400_000).default(30_000),
  ROOMGATE_DB_CONNECT_TIMEOUT_SECONDS: int(0, 86_400).default(60),
  ROOMGATE_CLOCK_TOLERANCE_SECONDS: int(0, 300).default(5),
  ROOMGATE_MAX_METADATA_BYTES: int(2, 1_048_576).default(DEFAULT_LIMITS.maxMetadataBytes),
  ROOMGATE_MAX_CLIENT_METADATA_BYTES: int(2, 1_048_576).default(DEFAULT_LIMITS.maxClientMetadataBytes),
  ROOMGATE_MAX_IDENTITY_LENGTH: int(1, 1024).default(DEFAULT_LIMITS.maxIdentityLength),
  ROOMGATE_MAX_AUTHORIZATION_BYTES: int(256, 65_536).default(DEFAULT_LIMITS.maxAuthorizationBytes),
  ROOMGATE_MAX_PAGE_SIZE: int(1, 1000).default(DEFAULT_LIMITS.maxPageSize),
  ROOMGATE_MAX_ROOMS_PER_ENVIRONMENT: int(1, 2_147_483_647).default(DEFAULT_LIMITS.maxRoomsPerEnvironment),
  ROOMGATE_MAX_BANS_PER_ENVIRONMENT: int(1, 10_000_000).default(DEFAULT_LIMITS.maxBansPerEnvironment),
  ROOMGATE_MAX_ROLES_PER_ENVIRONMENT: int(1, 100_000).default(DEFAULT_LIMITS.maxRolesPerEnvironment),
  ROOMGATE_MAX_PEER_SESSION_SECONDS: int(60, 365 * 86_400).default(DEFAULT_LIMITS.maxPeerSessionSeconds),
  ROOMGATE_KEY_PREPUBLISH_SECONDS: int(0, 30 * 86_400).default(3600),
  ROOMGATE_RELAY_ENABLED: z.enum(['true', 'false']).default('true'),
  ROOMGATE_RELAY_CONCURRENCY: int(1, 256).default(8),
  ROOMGATE_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  ROOMGATE_WEBHOOK_RETRY_HORIZON_SECONDS: int(1, 30 * 86_400).default(86_400),
  ROOMGATE_WEBHOOK_ALLOW_HTTP: z.enum(['true', 'false']).default('false'),
  ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS: z.enum(['true', 'false']).default('false'),
  ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT: int(1, 100_000).default(DEFAULT_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT),
  ROOMGATE_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: int(1, 256).default(DEFAULT_MAX_IN_FLIGHT_PER_ENDPOINT),
  ROOMGATE_PURGE_INTERVAL_MS: int(100, 3_600_000).default(5_000),
  ROOMGATE_IDEMPOTENCY_KEY_TTL_HOURS: int(1, 24 * 365).default(24),
  ROOMGATE_EVENT_RETENTION_SECONDS: int(1, 10 * 365 * 86_400).default(7 * 86_400),
  ROOMGATE_AUDIT_RETENTION_DAYS: int(1, 100 * 365).default(365),
  ROOMGATE_WATCH_MAX_BACKLOG: int(10, 1_000_000).default(1_000),
  ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN: int(1, 1_000_000).default(100),
  ROOMGATE_WATCH_MAX_STREAMS_PER_ENVIRONMENT: int(1, 1_000_000).default(1_000),
  ROOMGATE_GRPC_MAX_MESSAGE_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  ROOMGATE_GRPC_MAX_CONCURRENT_STREAMS: int(1, 1_000_000).default(1_000),
  ROOMGATE_GRPC_KEEPALIVE_TIME_MS: int(1_000, 24 * 3_600_000).default(7_200_000),
  ROOMGATE_GRPC_KEEPALIVE_TIMEOUT_MS: int(1_000, 3_600_000).default(20_000),
  ROOMGATE_TLS_CERT_FILE: z.string().min(1).optional(),
  ROOMGATE_TLS_KEY_FILE: z.string().min(1).optional(),
  ROOMGATE_TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
  ROOMGATE_HEALTH_CA_FILE: z.string().min(1).optional(),
  ROOMGATE_HEALTH_CERT_FILE: z.string().min(1).optional(),
  ROOMGATE_HEALTH_KEY_FILE: z.string().min(1).optional(),
  ROOMGATE_HEALTH_SERVER_NAME: z.string().min(1).optional(),
  ROOMGATE_METRICS_ADDRESS: z
    .string()
    .regex(/^(off|(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5})$/, "must be host:port, or 'off'")
    .default('127.0.0.1:9464'),
  ROOMGATE_HTTP_ADDRESS: z
    .string()
    .regex(/^(off|(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5})$/, "must be host:port, or 'off'")
    .default('127.0.0.1:8080'),
  ROOMGATE_HTTP_RATE_LIMIT_PER_SECOND: int(0, 1_000_000).default(20),
  ROOMGATE_HTTP_RATE_LIMIT_BURST: int(1, 1_000_000).default(100),
  ROOMGATE_HTTP_MAX_CONNECTIONS: int(1, 1_000_000).default(1_024),
  ROOMGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS: int(1, 1_000_000).default(64),
  ROOMGATE_HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  ROOMGATE_HTTP_MAX_HEADER_BYTES: int(1024, 1_048_576).default(8_192),
  ROOMGATE_HTTP_CORS_ORIGINS: origins.default([]),
  ROOMGATE_HTTP_GRPC_WEB_MAX_STREAMS_PER_ADDRESS: int(1, 100_000).default(16),
  ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS: int(1, 1_000_000).default(DEFAULT_JOIN_RATE_LIMITS.perAddress),
  ROOMGATE_JOIN_RATE_LIMIT_PER_CODE: int(1, 1_000_000).default(DEFAULT_JOIN_RATE_LIMITS.perCode),
  ROOMGATE_JOIN_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(DEFAULT_JOIN_RATE_LIMITS.windowSeconds),
  ROOMGATE_TRUSTED_PROXIES: proxies.default([]),
  ROOMGATE_SHUTDOWN_GRACE_SECONDS: int(0, 3600).default(10),
  ROOMGATE_EMBEDDED_POSTGRES: z.enum(['auto', 'false']).default('auto'),
  ROOMGATE_MIGRATE_ON_START: z.enum(['true', 'false']).default('true'),
  ROOMGATE_DIRECT_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ROOMGATE_DB_TRANSACTION_POOLING: z.enum(['true', 'false']).default('false'),
  ROOMGATE_PUBLIC_URL: z
    .string()
    .max(2048)
    .refine(isPublicBaseUrl, 'must be an absolute http:// or https:// URL without query or fragment, for example https://rooms.example.com')
    .optional(),
  ROOMGATE_JOIN_CODE_MAX_TTL_SECONDS: int(60, 365 * 86_400).default(30 * 86_400),
  ROOMGATE_SHORT_JOIN_CODE_MAX_TTL_SECONDS: int(60, 30 * 86_400).default(86_400),
  ROOMGATE_MAX_JOIN_CODES_PER_ENVIRONMENT: int(1, 10_000_000).default(10_000),
  ROOMGATE_MAX_SHORT_JOIN_CODES_PER_ENVIRONMENT: int(1, 10_000_000).default(1_000),
  ROOMGATE_JOIN_CODE_RETENTION_DAYS: int(1, 10 * 365).default(30),
});

/** Validated configuration; the only thing in roomgate that reads process.env. */
export interface Config {
  /** Postgres to use; undefined means embedded Postgres in {@link dataDir}. */
  databaseUrl: string | undefined;
  grpcAddress: string;
  dataDir: string;
  issuer: string;
  /** 32-byte key that encrypts signing keys at rest; required with databaseUrl. */
  keyEncryptionKey: Buffer | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  poolSize: number;
  /** The longest a database statement may run, in milliseconds (0: no limit); a call's deadline tightens it. */
  dbStatementTimeoutMs: number;
  /** How long `serve` keeps retrying a database it cannot reach at start (DATABASE_URL only); 0 tries once. */
  dbConnectTimeoutSeconds: number;
  clockToleranceSeconds: number;
  shutdownGraceSeconds: number;
  /** Whether `serve` applies pending migrations at start; when false it refuses to start on a schema that is behind. */
  migrateOnStart: boolean;
  /**
   * A session on the same database that bypasses any pooler, for what needs
   * one (LISTEN, the migration lock); undefined uses {@link databaseUrl}.
   */
  directDatabaseUrl: string | undefined;
  /**
   * Whether {@link databaseUrl} goes through a transaction-mode pooler
   * (PgBouncer pool_mode=transaction): no named statements and no session
   * settings on the serving pool. docs/scaling.md.
   */
  dbTransactionPooling: boolean;
  /** Default seconds a new signing key is published before it signs. */
  keyPrepublishSeconds: number;
  /** Webhook delivery settings. */
  webhooks: WebhookConfig;
  /** How often this instance looks for peers and rooms past their timeouts. */
  purgeIntervalMs: number;
  /** How long a request_id is remembered. */
  idempotencyKeyTtlSeconds: number;
  /** How long events (and their delivered or failed webhook deliveries) are kept; WatchEvents cursors older than that are refused. */
  eventRetentionSeconds: number;
  /** How long audit records are kept (ROOMGATE_AUDIT_RETENTION_DAYS); pruning moves the chain's anchor. */
  auditRetentionSeconds: number;
  /** Events a WatchEvents stream may have queued before the consumer is cut off. */
  watchMaxBacklog: number;
  /** WatchEvents streams one token, and one environment, may hold open on one instance. */
  watchMaxStreams: { perToken: number; perEnvironment: number };
  /** host:port of the Prometheus /metrics endpoint; undefined when off. */
  metricsAddress: string | undefined;
  /** The public HTTP listener (JWKS, health); docs/configuration.md. */
  http: HttpConfig;
  /** grpc-js server options. */
  grpc: { maxMessageBytes: number; maxConcurrentStreams: number; keepaliveTimeMs: number; keepaliveTimeoutMs: number };
  /** Server TLS; undefined serves plaintext. With clientCaFile, clients must present a certificate it signed (mTLS). */
  tls: { certFile: string; keyFile: string; clientCaFile: string | undefined } | undefined;
  /** TLS client settings of `roomgate health`, each overridden by its flag; see its --help. */
  health: HealthTlsConfig;
  limits: Limits;
  /** RedeemJoinCode's limits per client address and per code (docs/join-codes.md). */
  joinRateLimits: JoinRateLimitSettings;
  /**
   * Reverse proxies (IP addresses and CIDR blocks) whose X-Forwarded-For, or
   * `x-forwarded-for` metadata on gRPC, names the client; none by default.
   */
  trustedProxies: string[];
  /** The public HTTP listener's externally visible base URL (ROOMGATE_PUBLIC_URL), without a trailing slash; undefined when unset. */
  publicUrl: string | undefined;
  /** Join code limits; docs/join-codes.md. */
  joinCodes: JoinCodeConfig;
}

/** Join code limits. */
export interface JoinCodeConfig {
  /** Longest a link code may live, in seconds. */
  maxTtlSeconds: number;
  /** Longest a short code may live, in seconds. */
  shortMaxTtlSeconds: number;
  /** Codes that can still be redeemed one environment may hold. */
  maxPerEnvironment: number;
  /** Of those, short codes (docs/join-codes.md: their count is what a guesser's odds scale with). */
  maxShortPerEnvironment: number;
  /** How long a dead code (expired, revoked or used up) is kept before the purge deletes it. */
  retentionSeconds: number;
}

/** The public HTTP listener and its limits. */
export interface HttpConfig {
  /** host:port to listen on; undefined when off. */
  address: string | undefined;
  /** Requests one client address (an IPv6 /64) may make per second, sustained; 0 turns the limit off. */
  rateLimitPerSecond: number;
  /** Requests one client address may make at once before the per-second rate applies. */
  rateLimitBurst: number;
  /** Open connections, over all clients. */
  maxConnections: number;
  /** Open connections from one client address (an IPv6 /64). */
  maxConnectionsPerAddress: number;
  /** How long a client has to send a request's headers (and the TLS handshake), in milliseconds. */
  headersTimeoutMs: number;
  /** The most bytes a request line and headers may take; more is refused with 431. */
  maxHeaderBytes: number;
  /** Origins whose pages may call gRPC-Web across origins (CORS); none by default. docs/grpc-web.md. */
  corsOrigins: string[];
  /** gRPC-Web server streams (WatchEvents) one client address (an IPv6 /64) may hold open. */
  grpcWebMaxStreamsPerAddress: number;
}

/** What `roomgate health` trusts and presents when it dials over TLS. */
export interface HealthTlsConfig {
  /** PEM CA to trust; undefined trusts the system roots. */
  caFile: string | undefined;
  /** PEM client certificate and key, for a server that requires mutual TLS. */
  certFile: string | undefined;
  keyFile: string | undefined;
  /** Name the server certificate must carry, instead of the dialed host. */
  serverName: string | undefined;
}

/** Webhook delivery settings. */
export interface WebhookConfig {
  /** Whether this instance runs a relay worker (several instances may). */
  relayEnabled: boolean;
  /** Deliveries one relay sends at once. */
  concurrency: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Retries stop this long after the event. */
  retryHorizonSeconds: number;
  /** Allow http:// endpoint URLs (default: https only). */
  allowHttp: boolean;
  /** Allow URLs that resolve to loopback, private, link-local or metadata addresses. */
  allowPrivateNetworks: boolean;
  /** Endpoints one environment may register. */
  maxEndpointsPerEnvironment: number;
  /** Attempts one endpoint may have in flight, over all relays. */
  maxInFlightPerEndpoint: number;
}

/** Thrown for invalid configuration, with one line per problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads and validates the environment. Empty variables count as unset, as
 * container platforms often pass them that way.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, { needKeys = true } = {}): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (Boolean(c.ROOMGATE_TLS_CERT_FILE) !== Boolean(c.ROOMGATE_TLS_KEY_FILE) || (c.ROOMGATE_TLS_CLIENT_CA_FILE && !c.ROOMGATE_TLS_CERT_FILE)) {
    throw new ConfigError(
      'invalid configuration:\n  ROOMGATE_TLS_CERT_FILE, ROOMGATE_TLS_KEY_FILE: set both to serve TLS (ROOMGATE_TLS_CLIENT_CA_FILE needs them too)',
    );
  }
  if (Boolean(c.ROOMGATE_HEALTH_CERT_FILE) !== Boolean(c.ROOMGATE_HEALTH_KEY_FILE)) {
    throw new ConfigError(
      'invalid configuration:\n  ROOMGATE_HEALTH_CERT_FILE, ROOMGATE_HEALTH_KEY_FILE: set both (a client certificate and its key) or neither',
    );
  }
  if (c.ROOMGATE_EMBEDDED_POSTGRES === 'false' && !c.DATABASE_URL) {
    throw new ConfigError(
      'invalid configuration:\n  DATABASE_URL: is required (ROOMGATE_EMBEDDED_POSTGRES=false rules out the embedded database)',
    );
  }
  if (needKeys && c.DATABASE_URL && !c.ROOMGATE_KEY_ENCRYPTION_KEY) {
    throw new ConfigError(
      'invalid configuration:\n  ROOMGATE_KEY_ENCRYPTION_KEY: is required when DATABASE_URL is set ' +
        '(32 random bytes in base64, for example: openssl rand -base64 32); every instance must use the same key',
    );
  }
  if (c.ROOMGATE_DIRECT_DATABASE_URL && !c.DATABASE_URL) {
    throw new ConfigError('invalid configuration:\n  DATABASE_URL: is required with ROOMGATE_DIRECT_DATABASE_URL');
  }
  // Through a transaction pooler, LISTEN would succeed on whichever server
  // connection served it and then hear nothing: refuse rather than go deaf.
  if (c.ROOMGATE_DB_TRANSACTION_POOLING === 'true' && !c.ROOMGATE_DIRECT_DATABASE_URL) {
    throw new ConfigError(
      'invalid configuration:\n  ROOMGATE_DIRECT_DATABASE_URL: is required with ROOMGATE_DB_TRANSACTION_POOLING=true ' +
        '(DATABASE_URL is the pooler; LISTEN and migrations need a direct session, see docs/scaling.md)',
    );
  }
  return {
    databaseUrl: c.DATABASE_URL,
    grpcAddress: c.ROOMGATE_GRPC_ADDRESS,
    dataDir: c.ROOMGATE_DATA_DIR,
    issuer: c.ROOMGATE_ISSUER,
    keyEncryptionKey: c.ROOMGATE_KEY_ENCRYPTION_KEY,
    logLevel: c.ROOMGATE_LOG_LEVEL,
    poolSize: c.ROOMGATE_DB_POOL_SIZE,
    dbStatementTimeoutMs: c.ROOMGATE_DB_STATEMENT_TIMEOUT_MS,
    dbConnectTimeoutSeconds: c.ROOMGATE_DB_CONNECT_TIMEOUT_SECONDS,
    clockToleranceSeconds: c.ROOMGATE_CLOCK_TOLERANCE_SECONDS,
    shutdownGraceSeconds: c.ROOMGATE_SHUTDOWN_GRACE_SECONDS,
    migrateOnStart: c.ROOMGATE_MIGRATE_ON_START === 'true',
    directDatabaseUrl: c.ROOMGATE_DIRECT_DATABASE_URL,
    dbTransactionPooling: c.ROOMGATE_DB_TRANSACTION_POOLING === 'true',
    keyPrepublishSeconds: c.ROOMGATE_KEY_PREPUBLISH_SECONDS,
    webhooks: {
      relayEnabled: c.ROOMGATE_RELAY_ENABLED === 'true',
      concurrency: c.ROOMGATE_RELAY_CONCURRENCY,
      timeoutMs: c.ROOMGATE_WEBHOOK_TIMEOUT_MS,
      retryHorizonSeconds: c.ROOMGATE_WEBHOOK_RETRY_HORIZON_SECONDS,
      allowHttp: c.ROOMGATE_WEBHOOK_ALLOW_HTTP === 'true',
      allowPrivateNetworks: c.ROOMGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS === 'true',
      maxEndpointsPerEnvironment: c.ROOMGATE_MAX_WEBHOOK_ENDPOINTS_PER_ENVIRONMENT,
      maxInFlightPerEndpoint: c.ROOMGATE_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT,
    },
    purgeIntervalMs: c.ROOMGATE_PURGE_INTERVAL_MS,
    idempotencyKeyTtlSeconds: c.ROOMGATE_IDEMPOTENCY_KEY_TTL_HOURS * 3600,
    eventRetentionSeconds: c.ROOMGATE_EVENT_RETENTION_SECONDS,
    auditRetentionSeconds: c.ROOMGATE_AUDIT_RETENTION_DAYS * 86_400,
    watchMaxBacklog: c.ROOMGATE_WATCH_MAX_BACKLOG,
    watchMaxStreams: { perToken: c.ROOMGATE_WATCH_MAX_STREAMS_PER_TOKEN, perEnvironment: c.ROOMGATE_WATCH_MAX_STREAMS_PER_ENVIRONMENT },
    metricsAddress: c.ROOMGATE_METRICS_ADDRESS === 'off' ? undefined : c.ROOMGATE_METRICS_ADDRESS,
    http: {
      address: c.ROOMGATE_HTTP_ADDRESS === 'off' ? undefined : c.ROOMGATE_HTTP_ADDRESS,
      rateLimitPerSecond: c.ROOMGATE_HTTP_RATE_LIMIT_PER_SECOND,
      rateLimitBurst: c.ROOMGATE_HTTP_RATE_LIMIT_BURST,
      maxConnections: c.ROOMGATE_HTTP_MAX_CONNECTIONS,
      maxConnectionsPerAddress: c.ROOMGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS,
      headersTimeoutMs: c.ROOMGATE_HTTP_HEADERS_TIMEOUT_MS,
      maxHeaderBytes: c.ROOMGATE_HTTP_MAX_HEADER_BYTES,
      corsOrigins: c.ROOMGATE_HTTP_CORS_ORIGINS,
      grpcWebMaxStreamsPerAddress: c.ROOMGATE_HTTP_GRPC_WEB_MAX_STREAMS_PER_ADDRESS,
    },
    grpc: {
      maxMessageBytes: c.ROOMGATE_GRPC_MAX_MESSAGE_BYTES,
      maxConcurrentStreams: c.ROOMGATE_GRPC_MAX_CONCURRENT_STREAMS,
      keepaliveTimeMs: c.ROOMGATE_GRPC_KEEPALIVE_TIME_MS,
      keepaliveTimeoutMs: c.ROOMGATE_GRPC_KEEPALIVE_TIMEOUT_MS,
    },
    tls:
      c.ROOMGATE_TLS_CERT_FILE && c.ROOMGATE_TLS_KEY_FILE
        ? { certFile: c.ROOMGATE_TLS_CERT_FILE, keyFile: c.ROOMGATE_TLS_KEY_FILE, clientCaFile: c.ROOMGATE_TLS_CLIENT_CA_FILE }
        : undefined,
    health: {
      caFile: c.ROOMGATE_HEALTH_CA_FILE,
      certFile: c.ROOMGATE_HEALTH_CERT_FILE,
      keyFile: c.ROOMGATE_HEALTH_KEY_FILE,
      serverName: c.ROOMGATE_HEALTH_SERVER_NAME,
    },
    limits: {
      ...DEFAULT_LIMITS,
      maxMetadataBytes: c.ROOMGATE_MAX_METADATA_BYTES,
      maxClientMetadataBytes: c.ROOMGATE_MAX_CLIENT_METADATA_BYTES,
      maxIdentityLength: c.ROOMGATE_MAX_IDENTITY_LENGTH,
      maxAuthorizationBytes: c.ROOMGATE_MAX_AUTHORIZATION_BYTES,
      maxPageSize: c.ROOMGATE_MAX_PAGE_SIZE,
      defaultPageSize: Math.min(DEFAULT_LIMITS.defaultPageSize, c.ROOMGATE_MAX_PAGE_SIZE),
      maxRoomsPerEnvironment: c.ROOMGATE_MAX_ROOMS_PER_ENVIRONMENT,
      maxBansPerEnvironment: c.ROOMGATE_MAX_BANS_PER_ENVIRONMENT,
      maxRolesPerEnvironment: c.ROOMGATE_MAX_ROLES_PER_ENVIRONMENT,
      maxPeerSessionSeconds: c.ROOMGATE_MAX_PEER_SESSION_SECONDS,
    },
    joinRateLimits: {
      ...DEFAULT_JOIN_RATE_LIMITS,
      perAddress: c.ROOMGATE_JOIN_RATE_LIMIT_PER_ADDRESS,
      perCode: c.ROOMGATE_JOIN_RATE_LIMIT_PER_CODE,
      windowSeconds: c.ROOMGATE_JOIN_RATE_LIMIT_WINDOW_SECONDS,
    },
    trustedProxies: c.ROOMGATE_TRUSTED_PROXIES,
    publicUrl: c.ROOMGATE_PUBLIC_URL?.replace(/\/+$/, ''),
    joinCodes: {
      maxTtlSeconds: c.ROOMGATE_JOIN_CODE_MAX_TTL_SECONDS,
      shortMaxTtlSeconds: c.ROOMGATE_SHORT_JOIN_CODE_MAX_TTL_SECONDS,
      maxPerEnvironment: c.ROOMGATE_MAX_JOIN_CODES_PER_ENVIRONMENT,
      maxShortPerEnvironment: c.ROOMGATE_MAX_SHORT_JOIN_CODES_PER_ENVIRONMENT,
      retentionSeconds: c.ROOMGATE_JOIN_CODE_RETENTION_DAYS * 86_400,
    },
  };
}
