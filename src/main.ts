import path from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { Authenticator } from './domain/authenticator.js';
import { systemClock, type Clock } from './domain/clock.js';
import { KeyEncryptor } from './domain/key-encryption.js';
import { applyRevocationNotice, type CacheInvalidator } from './domain/cache-invalidator.js';
import { LastUsedTracker } from './domain/last-used-tracker.js';
import { ManagementTokenCache } from './domain/management-token-cache.js';
import { ManagementTokenManager } from './domain/management-token-manager.js';
import { PeerLivenessCache } from './domain/peer-liveness-cache.js';
import { rotationTiming, SigningKeyManager } from './domain/signing-key-manager.js';
import { PeerManager } from './domain/peer-manager.js';
import { PeerTokens } from './domain/peer-token.js';
import { RoomManager } from './domain/room-manager.js';
import { SigningKeyRing } from './domain/signing-keys.js';
import { TokenManager } from './domain/token-manager.js';
import { startEmbeddedPostgres } from './store/embedded-postgres.js';
import { PgManagementTokenStore } from './store/management-token-store.js';
import { ensureCurrent, migrate, migrationStatus } from './store/migrate.js';
import { PgPeerStore } from './store/peer-store.js';
import { connectErrorCode, isUnreachable } from './store/pg-errors.js';
import { createPool } from './store/pool.js';
import { PgRoomStore } from './store/room-store.js';
import { readOrCreateSecretFile } from './store/secret-file.js';
import { EventNotifier } from './domain/event-notifier.js';
import { DatabaseProbe } from './store/database-probe.js';
import { EventStream } from './domain/event-stream.js';
import { PurgeScheduler } from './domain/purge-scheduler.js';
import { systemResolver, UrlGuard } from './domain/url-guard.js';
import { WebhookManager } from './domain/webhook-manager.js';
import { retryWithBackoff, type BackoffPolicy } from './relay/backoff.js';
import { WebhookRelay } from './relay/webhook-relay.js';
import { PgEventStore } from './store/event-store.js';
import { NotificationListener } from './store/notification-listener.js';
import { EVENTS_CHANNEL } from './store/outbox.js';
import { PgPurgeStore } from './store/purge-store.js';
import { PgWebhookDeliveryQueue } from './store/webhook-delivery-queue.js';
import { PgWebhookStore } from './store/webhook-store.js';
import { RoomgateMetrics, serveMetrics } from './transport/metrics.js';
import { serverCredentials } from './transport/tls.js';
import { watchEvents } from './transport/watch-events.js';
import { REVOCATIONS_CHANNEL } from './store/notify.js';
import { PgSigningKeyStore, SIGNING_KEYS_CHANNEL } from './store/signing-key-store.js';
import { createRoomgateServer, type RoomgateServer } from './transport/server.js';

/** An open, migrated database and what came with it. */
export interface Database {
  pool: pg.Pool;
  /** Where the pool connects; the notification listener opens its own connection there. */
  connectionString: string;
  /** True when roomgate runs its own Postgres in the data directory. */
  embedded: boolean;
  /** The key-encryption key: from configuration, or the data directory's in embedded mode. */
  keyEncryptionKey: Buffer | undefined;
  close(): Promise<void>;
}

/**
 * What {@link openDatabase} does with the schema: apply pending migrations,
 * only check that none this build needs is missing, or leave it alone.
 */
export type SchemaMode = 'migrate' | 'check' | 'none';

/**
 * Brings the schema to what this build needs, as {@link SchemaMode} says.
 * Migrations a newer build applied are left alone with a warning: during a
 * rolling upgrade, old instances keep serving on the newer schema.
 *
 * Runs on a connection of its own, without the serving pool's statement
 * timeout: a migration may rightly take longer (an index on a big table), and
 * so may the wait for another instance's migration lock.
 */
async function prepareSchema(
  connectionString: string,
  mode: SchemaMode,
  logger: Logger,
  onError: (err: Error) => void,
): Promise<void> {
  if (mode === 'none') return;
  const pool = createPool({ connectionString, max: 1, onError });
  try {
    if (mode === 'check') {
      ensureCurrent(await migrationStatus(pool));
      return;
    }
    const { applied, newer } = await migrate(pool);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    if (newer.length > 0) {
      logger.warn({ newer }, 'the database has migrations newer than this build (a rolling upgrade?); serving on it as it is');
    }
  } finally {
    await pool.end();
  }
}

/** What {@link openDatabase} does about a DATABASE_URL it cannot reach. */
export interface OpenOptions {
  /** Keep retrying the first connection (and the schema step) this long, in milliseconds; 0, the default, tries once. */
  retryForMs?: number;
  /** Ends the retrying at once (SIGTERM while `serve` waits); openDatabase then rejects with an AbortError. */
  signal?: AbortSignal;
}

// About 15 attempts in the first minute; never more than 10 s apart.
const CONNECT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 10_000 };

/** host:port of a postgres:// URL, for messages: never the URL itself, which holds the password. */
function endpointOf(connectionString: string): string {
  const url = new URL(connectionString);
  const host = url.searchParams.get('host') || decodeURIComponent(url.hostname) || 'localhost';
  return `${host}:${url.port || url.searchParams.get('port') || '5432'}`;
}

/** {@link prepareSchema} on DATABASE_URL, retried with backoff while the server cannot be reached. */
async function prepareExternal(
  connectionString: string,
  schema: SchemaMode,
  logger: Logger,
  onError: (err: Error) => void,
  options: OpenOptions,
): Promise<void> {
  const where = endpointOf(connectionString);
  const started = Date.now();
  try {
    await retryWithBackoff(() => prepareSchema(connectionString, schema, logger, onError), {
      forMs: options.retryForMs ?? 0,
      policy: CONNECT_BACKOFF,
      retryable: isUnreachable,
      signal: options.signal,
      onRetry: (err, attempt, delayMs) =>
        logger.warn({ database: where, code: connectErrorCode(err), attempt, retryInMs: delayMs }, 'cannot reach Postgres; retrying'),
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const code = connectErrorCode(err);
    if (isUnreachable(err)) {
      const seconds = Math.round((Date.now() - started) / 1000);
      throw new Error(`cannot reach Postgres at ${where} after ${seconds}s (${code}): check DATABASE_URL and that the server is up`, {
        cause: err,
      });
    }
    // A refused login or a missing database: retrying cannot help.
    if (/^(28|3D)/.test(code)) {
      throw new Error(`Postgres at ${where} refused the connection (${code}: ${(err as Error).message}): check DATABASE_URL`, {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Connects to DATABASE_URL, or starts (or attaches to) embedded Postgres, then
 * prepares the schema. With DATABASE_URL, a server that cannot be reached is
 * retried as `options` says, with one warning per attempt.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  schema: SchemaMode = config.migrateOnStart ? 'migrate' : 'check',
  options: OpenOptions = {},
): Promise<Database> {
  const onError = (err: Error) => logger.warn({ err }, 'idle database client failed');
  const servingPool = (connectionString: string) =>
    createPool({ connectionString, max: config.poolSize, statementTimeoutMs: config.dbStatementTimeoutMs, onError });
  if (config.databaseUrl) {
    await prepareExternal(config.databaseUrl, schema, logger, onError, options);
    const pool = servingPool(config.databaseUrl);
    return {
      pool,
      connectionString: config.databaseUrl,
      embedded: false,
      keyEncryptionKey: config.keyEncryptionKey,
      close: () => pool.end(),
    };
  }
  const dataDir = path.resolve(config.dataDir);
  const pg = await startEmbeddedPostgres({ dataDir, log: (line) => logger.debug({ postgres: line.trim() }) });
  try {
    await prepareSchema(pg.connectionString, schema, logger, onError);
  } catch (err) {
    await pg.stop();
    throw err;
  }
  const pool = servingPool(pg.connectionString);
  const keyEncryptionKey =
    config.keyEncryptionKey ?? (await readOrCreateSecretFile(path.join(dataDir, 'key-encryption-key'), 32));
  return {
    pool,
    connectionString: pg.connectionString,
    embedded: true,
    keyEncryptionKey,
    close: async () => {
      await pool.end();
      await pg.stop();
    },
  };
}

/** A running roomgate. */
export interface Roomgate {
  port: number;
  /** Port of the Prometheus endpoint, when it is on. */
  metricsPort: number | undefined;
  server: RoomgateServer;
  database: Database;
  /** The sandbox token created on the first start of an embedded install, shown once. */
  bootstrapToken: string | undefined;
  close(): Promise<void>;
}

/** Wires pool, stores, caches, managers and server, and starts listening. */
export async function startRoomgate(
  config: Config,
  logger: Logger,
  options: { clock?: Clock; database?: Database } = {},
): Promise<Roomgate> {
  const clock = options.clock ?? systemClock;
  const database = options.database ?? (await openDatabase(config, logger));
  const stops: (() => Promise<void> | void)[] = [];
  let metricsPort: number | undefined;
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
    if (!options.database) await database.close();
  };
  try {
    if (!database.keyEncryptionKey) throw new Error('no key-encryption key configured');
    const { pool } = database;
    const keyStore = new PgSigningKeyStore(pool);
    const encryptor = new KeyEncryptor(database.keyEncryptionKey);
    const keys = new SigningKeyRing(keyStore, encryptor, clock, {
      onReloadError: (err) => logger.warn({ err }, 'signing key reload failed'),
    });
    await keys.init();
    stops.push(() => keys.stop());

    const peerStore = new PgPeerStore(pool);
    const managementTokenStore = new PgManagementTokenStore(pool);
    // Revocations reach every instance by NOTIFY; while the listener is down
    // the caches step aside and every check reads Postgres.
    const listener = new NotificationListener({
      connectionString: database.connectionString,
      channels: [REVOCATIONS_CHANNEL, SIGNING_KEYS_CHANNEL, EVENTS_CHANNEL],
      logger: logger.child({ component: 'notification-listener' }),
      // A listener connection that dies silently is found within about 2 s,
      // and from then on the caches step aside until it is back.
      heartbeatIntervalMs: 1_000,
      heartbeatTimeoutMs: 1_000,
    });
    const isLive = () => listener.connected;
    const peerLiveness = new PeerLivenessCache(peerStore, { maxEntries: 100_000, isLive });
    const managementTokens = new ManagementTokenCache(managementTokenStore, { maxEntries: 10_000, isLive });
    const invalidate: CacheInvalidator = {
      peer: (id) => peerLiveness.invalidatePeer(id),
      room: (id) => peerLiveness.invalidateRoom(id),
      managementToken: (id) => managementTokens.invalidateToken(id),
      all: () => {
        peerLiveness.flush();
        managementTokens.flush();
      },
    };
    const reloadKeys = () => void keys.reload().catch((err: unknown) => logger.warn({ err }, 'signing key reload failed'));
    listener.on(REVOCATIONS_CHANNEL, (payload) => applyRevocationNotice(payload, invalidate));
    listener.on(SIGNING_KEYS_CHANNEL, reloadKeys);
    const eventNotifier = new EventNotifier();
    listener.on(EVENTS_CHANNEL, (environment) => eventNotifier.wake(environment));
    listener.onReconnect(() => {
      invalidate.all();
      reloadKeys();
      eventNotifier.wake();
    });
    const guard = new UrlGuard(systemResolver, { allowPrivateNetworks: config.webhooks.allowPrivateNetworks });
    const deliveryQueue = new PgWebhookDeliveryQueue(pool);
    const metrics = new RoomgateMetrics(pool, deliveryQueue);
    if (config.webhooks.relayEnabled) {
      const relay = new WebhookRelay(
        { queue: deliveryQueue, guard, encryptor, clock, logger: logger.child({ component: 'webhook-relay' }), observer: metrics },
        {
          concurrency: config.webhooks.concurrency,
          timeoutMs: config.webhooks.timeoutMs,
          retryHorizonSeconds: config.webhooks.retryHorizonSeconds,
        },
      );
      listener.on(EVENTS_CHANNEL, () => relay.wake());
      relay.start();
      stops.push(() => relay.stop(config.shutdownGraceSeconds * 1000));
    }
    const purge = new PurgeScheduler(new PgPurgeStore(pool), invalidate, {
      intervalMs: config.purgeIntervalMs,
      idempotencyKeyTtlSeconds: config.idempotencyKeyTtlSeconds,
      onPurged: (victim) => logger.info({ victim }, 'purged by room timeout'),
      onError: (err) => logger.warn({ err }, 'purge run failed'),
    });
    purge.start();
    stops.push(() => purge.stop());
    await listener.start();
    stops.push(() => listener.stop());
    const lastUsed = new LastUsedTracker({
      write: (entries) => managementTokenStore.recordUse(entries),
      onError: (err) => logger.warn({ err }, 'could not record management token use'),
    });
    stops.push(() => lastUsed.stop());

    const peerTokens = new PeerTokens(keys, clock, {
      issuer: config.issuer,
      clockToleranceSeconds: config.clockToleranceSeconds,
    });
    const tokens = new TokenManager(peerTokens, peerStore, peerLiveness, keys, clock, config.limits);
    const managementTokenManager = new ManagementTokenManager(managementTokenStore, clock, config.limits, invalidate);
    const authenticator = new Authenticator(managementTokens, tokens, lastUsed, clock, config.limits);
    const roomStore = new PgRoomStore(pool);
    // Open WatchEvents streams end (with a cursor to resume from) before the
    // server waits for calls to finish, or they would hold shutdown open.
    const watchStopping = new AbortController();
    const server = createRoomgateServer({
      logger,
      metrics,
      authenticator,
      rooms: new RoomManager(roomStore, config.limits, invalidate),
      peers: new PeerManager(peerStore, peerTokens, config.limits, invalidate, peerLiveness),
      tokens,
      managementTokens: managementTokenManager,
      signingKeys: new SigningKeyManager(keys, keyStore, clock, rotationTiming(config)),
      webhooks: new WebhookManager(new PgWebhookStore(pool), roomStore, guard, encryptor, clock, config.limits, {
        allowHttp: config.webhooks.allowHttp,
      }),
      watchEvents: watchEvents({
        authenticator,
        logger,
        events: new EventStream(new PgEventStore(pool), eventNotifier),
        maxBacklog: config.watchMaxBacklog,
        stopping: watchStopping.signal,
      }),
    }, config.grpc);
    const bootstrapToken = database.embedded ? await managementTokenManager.bootstrap() : undefined;
    let closing = false;
    const probe = new DatabaseProbe(pool, {
      intervalMs: 1_000,
      timeoutMs: 1_000,
      onChange: (reachable) => {
        logger[reachable ? 'info' : 'warn']({ reachable }, reachable ? 'database reachable again' : 'database unreachable');
        if (!closing) server.health.setStatus(reachable ? 'SERVING' : 'NOT_SERVING');
      },
    });
    probe.start();
    stops.push(() => probe.stop());
    if (config.metricsAddress) {
      const served = await serveMetrics(metrics, config.metricsAddress);
      stops.push(() => served.close());
      metricsPort = served.port;
    }
    // Last, so that nothing can fail after the port is open.
    const port = await server.listen(config.grpcAddress, await serverCredentials(config.tls));
    return {
      port,
      metricsPort,
      server,
      database,
      bootstrapToken,
      close: async () => {
        closing = true;
        watchStopping.abort();
        await server.close(config.shutdownGraceSeconds * 1000);
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
