import type { Logger } from 'pino';
import { applyRevocationNotice, type CacheInvalidator } from './domain/cache-invalidator.js';
import { EventNotifier } from './domain/event-notifier.js';
import { ManagementTokenCache } from './domain/management-token-cache.js';
import { PeerLivenessCache } from './domain/peer-liveness-cache.js';
import type { ManagementTokenLookup, PeerLivenessSource } from './domain/ports/index.js';
import { NOTIFY_CHANNELS } from './domain/revocation-notice.js';
import type { SigningKeyRing } from './domain/signing-keys.js';
import { NotificationListener } from './store/notification-listener.js';

/** The in-memory state of an instance that NOTIFY keeps right, and what keeps it right. */
export interface CoherentCaches {
  /** Peer liveness by peer, for VerifyPeerToken. */
  peerLiveness: PeerLivenessCache;
  /** Management tokens by hash, for every authenticated call. */
  managementTokenCache: ManagementTokenCache;
  /** Drops entries after this instance's own writes, and on every notice from the others. */
  invalidate: CacheInvalidator;
  /** Wakes WatchEvents streams when an environment has new events. */
  eventNotifier: EventNotifier;
  /** The LISTEN connection; not yet started, so that more handlers can be added first. */
  listener: NotificationListener;
  /**
   * Adds a handler told, after the cache has dropped it, that a management
   * token changed (its id), or that any may have (undefined): open streams
   * check their credentials again.
   */
  onManagementTokenChange(handler: (tokenId?: string) => void): void;
}

/** What {@link buildCoherentCaches} reads through and reloads. */
export interface CoherentCachesDeps {
  connectionString: string;
  peers: PeerLivenessSource;
  managementTokens: ManagementTokenLookup;
  keys: SigningKeyRing;
  logger: Logger;
}

/**
 * Builds the caches, the notification listener and the invalidator that ties
 * them together. Revocations reach every instance by NOTIFY; while the
 * listener is down the caches step aside and every check reads Postgres, and
 * when it reconnects they are flushed, since notices may have been missed.
 */
export function buildCoherentCaches(deps: CoherentCachesDeps): CoherentCaches {
  const listener = new NotificationListener({
    connectionString: deps.connectionString,
    channels: Object.values(NOTIFY_CHANNELS),
    logger: deps.logger.child({ component: 'notification-listener' }),
    // A listener connection that dies silently is found within about 2 s,
    // and from then on the caches step aside until it is back.
    heartbeatIntervalMs: 1_000,
    heartbeatTimeoutMs: 1_000,
  });
  const isLive = () => listener.connected;
  const peerLiveness = new PeerLivenessCache(deps.peers, { maxEntries: 100_000, isLive });
  const managementTokenCache = new ManagementTokenCache(deps.managementTokens, { maxEntries: 10_000, isLive });
  const tokenChangeHandlers: ((tokenId?: string) => void)[] = [];
  const invalidate: CacheInvalidator = {
    peer: (id) => peerLiveness.invalidatePeer(id),
    room: (id) => peerLiveness.invalidateRoom(id),
    managementToken: (id) => {
      managementTokenCache.invalidateToken(id);
      for (const handler of tokenChangeHandlers) handler(id);
    },
    all: () => {
      peerLiveness.flush();
      managementTokenCache.flush();
      for (const handler of tokenChangeHandlers) handler();
    },
  };
  const reloadKeys = () =>
    void deps.keys.reload().catch((err: unknown) => deps.logger.warn({ err }, 'signing key reload failed'));
  const eventNotifier = new EventNotifier();
  listener.on(NOTIFY_CHANNELS.revocations, (payload) => applyRevocationNotice(payload, invalidate));
  listener.on(NOTIFY_CHANNELS.signingKeys, reloadKeys);
  listener.on(NOTIFY_CHANNELS.events, (environment) => eventNotifier.wake(environment));
  listener.onReconnect(() => {
    invalidate.all();
    reloadKeys();
    eventNotifier.wake();
  });
  return {
    peerLiveness,
    managementTokenCache,
    invalidate,
    eventNotifier,
    listener,
    onManagementTokenChange: (handler) => void tokenChangeHandlers.push(handler),
  };
}
