import type { Environment } from './principal.js';
import { ReadThroughCache, type CacheOptions } from './read-through-cache.js';
import type { PeerLiveness, PeerLivenessRecorder, PeerLivenessSource } from './ports/index.js';

/**
 * Peer liveness, the revocation check of every peer token, answered from
 * memory. Only live peers are cached: a peer that is not found is looked up
 * again every time. Deleting a peer or its room must call
 * {@link PeerLivenessCache.invalidatePeer} or {@link PeerLivenessCache.invalidateRoom}
 * after the commit on this instance, and through the notification listener on
 * every other one.
 */
export class PeerLivenessCache implements PeerLivenessSource, PeerLivenessRecorder {
  private readonly cache: ReadThroughCache<PeerLiveness>;

  constructor(
    private readonly source: PeerLivenessSource,
    options: CacheOptions,
  ) {
    this.cache = new ReadThroughCache(options);
  }

  /** The peer's liveness, from memory when this instance has seen it since its last change. */
  liveness(environment: Environment, roomId: string, peerId: string): Promise<PeerLiveness | undefined> {
    return this.cache.get(
      JSON.stringify([environment, roomId, peerId]),
      () => this.source.liveness(environment, roomId, peerId),
      () => [`peer:${peerId}`, `room:${roomId}`],
    );
  }

  /**
   * Runs a write or read that yields the peer's current state, and remembers
   * its liveness as a lookup would: the instance that creates a peer, or
   * issues it a token, then verifies that peer's tokens from memory.
   */
  record<T>(
    environment: Environment,
    roomId: string,
    peerId: string,
    produce: () => Promise<T>,
    livenessOf: (result: T) => PeerLiveness | undefined,
  ): Promise<T> {
    return this.cache.record(JSON.stringify([environment, roomId, peerId]), produce, livenessOf, () => [
      `peer:${peerId}`,
      `room:${roomId}`,
    ]);
  }

  /** Forgets the peer: it was deleted or its tokens' generation changed. */
  invalidatePeer(peerId: string): void {
    this.cache.invalidate(`peer:${peerId}`);
  }

  /** Forgets every peer of the room: it was deleted. */
  invalidateRoom(roomId: string): void {
    this.cache.invalidate(`room:${roomId}`);
  }

  /** Forgets everything: invalidations may have been missed. */
  flush(): void {
    this.cache.flush();
  }
}
