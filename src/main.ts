import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { asCliCommand } from './cli/cli-audit.js';
import { buildCoherentCaches } from './coherent-caches.js';
import type { Config } from './config.js';
import { AuditManager } from './domain/audit-manager.js';
import { Authenticator } from './domain/authenticator.js';
import { BanManager } from './domain/ban-manager.js';
import { systemClock, type Clock } from './domain/clock.js';
import { EventCursors } from './domain/event-cursor.js';
import { EventStream } from './domain/event-stream.js';
import { JoinRateLimits } from './domain/join-rate-limits.js';
import { JoinCodeManager } from './domain/join-code-manager.js';
import { JoinCodeHasher } from './domain/join-codes.js';
import { JoinSettingsManager } from './domain/join-settings-manager.js';
import { KeyEncryptor } from './domain/key-encryption.js';
import { LastUsedTracker } from './domain/last-used-tracker.js';
import { ManagementTokenManager } from './domain/management-token-manager.js';
import { PageTokens } from './domain/pagination.js';
import { PeerManager } from './domain/peer-manager.js';
import { PeerTokens } from './domain/peer-token.js';
import { PurgeScheduler } from './domain/purge-scheduler.js';
import { NOTIFY_CHANNELS } from './domain/revocation-notice.js';
import { RoleManager } from './domain/role-manager.js';
import { RoomManager } from './domain/room-manager.js';
import { rotationTiming, SigningKeyManager } from './domain/signing-key-manager.js';
import { SigningKeyRing } from './domain/signing-keys.js';
import { TokenManager } from './domain/token-manager.js';
import { systemResolver, UrlGuard } from './domain/url-guard.js';
import { WatchRegistry } from './domain/watch-registry.js';
import { WebhookManager } from './domain/webhook-manager.js';
import { GrpcWebBridge } from './http/grpc-web-bridge.js';
import { addGrpcWebRoutes, grpcWebCors } from './http/grpc-web-routes.js';
import { bridgeSocket } from './http/grpc-web-socket.js';
import { StreamSlots } from './http/grpc-web-stream-slots.js';
import { consoleDirectory, loadConsoleFiles } from './http/console-files.js';
import { startHttpListener } from './http/http-listener.js';
import { loggablePath } from './http/join-page-routes.js';
import { jwksMaxAgeSeconds } from './http/jwks-cache.js';
import { publicRouter } from './http/public-routes.js';
import { TrustedProxies } from './http/trusted-proxies.js';
import { tlsIdentity } from './http/tls-identity.js';
import { WebhookRelay } from './relay/webhook-relay.js';
import { PgAuditTrail } from './store/audit-trail.js';
import { PgAuditStore } from './store/audit-store.js';
import { PgBanStore } from './store/ban-store.js';
import { openDatabase, type Database } from './store/database.js';
import { DatabaseProbe } from './store/database-probe.js';
import { PgEventStore } from './store/event-store.js';
import { PgJoinRateLimitStore } from './store/join-rate-limits.js';
import { PgJoinCodeStore } from './store/join-code-store.js';
import { PgJoinSettingsStore } from './store/join-settings-store.js';
import { PgManagementTokenStore } from './store/management-token-store.js';
import { PgPeerStore } from './store/peer-store.js';
import { createPool } from './store/pool.js';
import { PgPurgeStore } from './store/purge-store.js';
import { PgRoleStore } from './store/role-store.js';
import { PgRoomStore } from './store/room-store.js';
import { PgSigningKeyStore } from './store/signing-key-store.js';
import { PgWebhookDeliveryQueue } from './store/webhook-delivery-queue.js';
import { PgWebhookStore } from './store/webhook-store.js';
import { RoomgateMetrics, serveMetrics } from './transport/metrics.js';
import { createRoomgateServer, type RoomgateServer } from './transport/server.js';
import { serverCredentials } from './transport/tls.js';
import { watchEvents } from './transport/watch-events.js';
import { webhookBody } from './transport/webhook-body.js';


/** A running roomgate. */
export interface Roomgate {
  port: number;
  /** Port of the Prometheus endpoint, when it is on. */
  metricsPort: number | undefined;
  /** Port of the public HTTP listener (JWKS, health), when it is on. */
  httpPort: number | undefined;
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
  let httpPort: number | undefined;
  let grpcPort: number | undefined;
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
    const { peerLiveness, managementTokenCache, invalidate, eventNotifier, listener, onManagementTokenChange } = buildCoherentCaches({
      connectionString: database.connectionString,
      peers: peerStore,
      managementTokens: managementTokenStore,
      keys,
      logger,
    });
    const guard = new UrlGuard(systemResolver, { allowPrivateNetworks: config.webhooks.allowPrivateNetworks });
    const cursors = new EventCursors(database.keyEncryptionKey);
    const deliveryQueue = new PgWebhookDeliveryQueue(pool);
    const metrics = new RoomgateMetrics(pool, deliveryQueue);
    if (config.webhooks.relayEnabled) {
      const relay = new WebhookRelay(
        {
          queue: deliveryQueue,
          guard,
          encryptor,
          clock,
          logger: logger.child({ component: 'webhook-relay' }),
          observer: metrics,
          body: webhookBody(cursors),
        },
        {
          concurrency: config.webhooks.concurrency,
          timeoutMs: config.webhooks.timeoutMs,
          retryHorizonSeconds: config.webhooks.retryHorizonSeconds,
          maxInFlightPerEndpoint: config.webhooks.maxInFlightPerEndpoint,
        },
      );
      listener.on(NOTIFY_CHANNELS.events, () => relay.wake());
      relay.start();
      stops.push(() => relay.stop(config.shutdownGraceSeconds * 1000));
    }
    const auditStore = new PgAuditStore(pool);
    const joinRateLimitStore = new PgJoinRateLimitStore(pool);
    const joinRateLimiter = new JoinRateLimits(joinRateLimitStore, config.joinRateLimits, clock, metrics.joinRateLimits);
    metrics.joinRateLimits.watchMemo(joinRateLimiter);
    const joinCodeStore = new PgJoinCodeStore(pool);
    const purge = new PurgeScheduler(new PgPurgeStore(pool), invalidate, {
      intervalMs: config.purgeIntervalMs,
      idempotencyKeyTtlSeconds: config.idempotencyKeyTtlSeconds,
      eventRetentionSeconds: config.eventRetentionSeconds,
      audit: { store: auditStore, retentionSeconds: config.auditRetentionSeconds },
      joinRateLimits: { store: joinRateLimitStore, windowSeconds: config.joinRateLimits.windowSeconds },
      joinCodes: { store: joinCodeStore, retentionSeconds: config.joinCodes.retentionSeconds },
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
    const auditTrail = new PgAuditTrail(pool);
    const roleStore = new PgRoleStore(pool);
    const tokens = new TokenManager(peerTokens, peerStore, peerLiveness, keys, clock, config.limits, auditTrail, roleStore, invalidate);
    const pages = new PageTokens(database.keyEncryptionKey);
    const managementTokenManager = new ManagementTokenManager(managementTokenStore, clock, config.limits, invalidate, pages);
    const authenticator = new Authenticator(managementTokenCache, tokens, lastUsed, clock, config.limits);
    const roomStore = new PgRoomStore(pool);
    const watchStreams = new WatchRegistry((authorization) => authenticator.authenticate(authorization), {
      maxPerToken: config.watchMaxStreams.perToken,
      maxPerEnvironment: config.watchMaxStreams.perEnvironment,
    });
    onManagementTokenChange((tokenId) => watchStreams.tokenChanged(tokenId));
    stops.push(() => watchStreams.stop());
    // Open WatchEvents streams end (with a cursor to resume from) before the
    // server waits for calls to finish, or they would hold shutdown open.
    const watchStopping = new AbortController();
    // Every open stream listens on it: thousands of listeners are expected, not a leak.
    setMaxListeners(0, watchStopping.signal);
    const trustedProxies = new TrustedProxies(config.trustedProxies);
    // gRPC-Web: each browser call is made again on this server over a
    // plaintext socket only this process can reach (docs/grpc-web.md); the
    // server believes the browser's address from the bridge, by the socket's key.
    const socket = config.http.address ? await bridgeSocket() : undefined;
    if (socket) stops.push(() => socket.remove());
    const peers = new PeerManager(peerStore, peerTokens, config.limits, invalidate, pages, peerLiveness, roleStore);
    const joinCodes = new JoinCodeManager(
      joinCodeStore,
      peers,
      new JoinCodeHasher(database.keyEncryptionKey),
      joinRateLimiter,
      clock,
      config.limits,
      { ...config.joinCodes, publicUrl: config.publicUrl ?? '' },
      pages,
    );
    const server = createRoomgateServer({
      logger,
      metrics,
      authenticator,
      audit: auditTrail,
      rooms: new RoomManager(roomStore, config.limits, invalidate, pages),
      peers,
      roles: new RoleManager(roleStore, config.limits, invalidate, pages),
      joinCodes,
      bans: new BanManager(new PgBanStore(pool), config.limits, invalidate, pages),
      auditLog: new AuditManager(auditStore, config.limits, pages),
      callAddresses: { proxies: trustedProxies, bridgeKey: socket?.key },
      joinSettings: new JoinSettingsManager(new PgJoinSettingsStore(pool)),
      tokens,
      managementTokens: managementTokenManager,
      signingKeys: new SigningKeyManager(keys, keyStore, clock, rotationTiming(config)),
      webhooks: new WebhookManager(new PgWebhookStore(pool), roomStore, guard, encryptor, clock, config.limits, {
        allowHttp: config.webhooks.allowHttp,
        maxEndpointsPerEnvironment: config.webhooks.maxEndpointsPerEnvironment,
      }, pages),
      watchEvents: watchEvents({
        authenticator,
        logger,
        events: new EventStream(new PgEventStore(pool), eventNotifier, cursors, {
          retention: { store: new PgPurgeStore(pool), retentionSeconds: config.eventRetentionSeconds },
        }),
        streams: watchStreams,
        maxBacklog: config.watchMaxBacklog,
        stopping: watchStopping.signal,
        audit: auditTrail,
      }),
    }, config.grpc);
    // The first start's token is the operator's doing: recorded as theirs.
    const bootstrapToken = database.embedded
      ? await asCliCommand('serve', 'sandbox', () => managementTokenManager.bootstrap())
      : undefined;
    let closing = false;
    // The probe has a connection of its own: on the serving pool it would
    // queue behind the load it is meant to judge, and report a busy
    // database as down.
    const probePool = createPool({
      connectionString: database.connectionString,
      max: 1,
      onError: (err) => logger.warn({ err }, 'health probe connection error'),
    });
    stops.push(() => probePool.end());
    const probe = new DatabaseProbe(probePool, {
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
    if (config.http.address && socket) {
      const consoleDir = consoleDirectory();
      const consoleFiles = await loadConsoleFiles(consoleDir);
      if (!consoleFiles) logger.warn({ dir: consoleDir }, 'console not built: /console/ answers 404 (npm run build builds it)');
      const router = publicRouter({
        consoleFiles,
        tokens,
        jwksMaxAgeSeconds: jwksMaxAgeSeconds(config),
        // Not ready before the gRPC port is open, a moment after this one.
        ready: () => grpcPort !== undefined && server.health.status === 'SERVING',
        // The path is logged with a join link's code redacted: the code is a credential.
        onError: (err, req) => logger.error({ err, method: req.method, path: loggablePath(req.url) }, 'http handler failed'),
      });
      await server.listen(socket.address);
      // Listening before the public port: a start that fails after this point must not leave it open (a no-op after close()).
      stops.push(() => server.server.forceShutdown());
      const bridge = new GrpcWebBridge(socket.address, socket.key);
      stops.push(() => bridge.close());
      addGrpcWebRoutes(router, server.methods.values(), {
        bridge,
        cors: grpcWebCors(config.http.corsOrigins),
        maxMessageBytes: config.grpc.maxMessageBytes,
        streams: new StreamSlots(config.http.grpcWebMaxStreamsPerAddress, config.grpc.maxConcurrentStreams),
        logger: logger.child({ component: 'grpc-web' }),
        proxies: trustedProxies,
      });
      const publicHttp = await startHttpListener(router, config.http.address, {
        limits: config.http,
        tls: await tlsIdentity(config.tls),
        onError: (err) => logger.warn({ err }, 'http listener error'),
        trustedProxies,
      });
      // Stopped after the gRPC server has drained, so that a load balancer
      // polling /readyz sees 503 during the drain rather than a refused connection.
      stops.push(() => publicHttp.close(config.shutdownGraceSeconds * 1000));
      httpPort = publicHttp.port;
    }
    // Last, so that nothing can fail after the port is open.
    const port = await server.listen(config.grpcAddress, await serverCredentials(config.tls));
    grpcPort = port;
    return {
      port,
      metricsPort,
      httpPort,
      server,
      database,
      bootstrapToken,
      close: async () => {
        closing = true;
        server.health.shutdown();
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
