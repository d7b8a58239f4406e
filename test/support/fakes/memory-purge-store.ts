// An in-memory PurgeStore for unit tests, over the MemoryTables of the room
// and peer stores it is given (see memory-tables.ts for how tests are
// isolated). It follows src/store/purge-store.ts, with the tables' clock as
// the database's now(): a peer goes once it has been disconnected for its
// room's peer_disconnected_timeout_seconds, a room once no peer has been
// connected for its peerless_purge_timeout_seconds (0 turns either off), each
// deleted as DeletePeer and DeleteRoom delete them, oldest first.
import type { PurgeStore, PurgeVictim } from '../../../src/domain/ports/index.js';
import type { MemoryPeerStore } from './memory-peer-store.js';
import type { MemoryRoomStore } from './memory-room-store.js';

const expired = (since: Date, timeoutSeconds: number, now: Date) =>
  timeoutSeconds > 0 && since.getTime() + timeoutSeconds * 1000 <= now.getTime();

/** {@link PurgeStore} in memory. */
export class MemoryPurgeStore implements PurgeStore {
  constructor(
    private readonly rooms: MemoryRoomStore,
    private readonly peers: MemoryPeerStore,
  ) {}

  async purgeDisconnectedPeer(): Promise<PurgeVictim | undefined> {
    const t = this.peers.tables;
    const now = t.clock.now();
    const victim = [...t.peers.values()]
      .filter((p) => p.status === 'disconnected' && expired(p.statusChangedAt, t.rooms.get(p.roomId)!.peerDisconnectedTimeoutSeconds, now))
      .sort((a, b) => a.statusChangedAt.getTime() - b.statusChangedAt.getTime())[0];
    if (!victim) return undefined;
    await this.peers.delete(victim.environment, victim.roomId, victim.id);
    return { kind: 'peer', environment: victim.environment, roomId: victim.roomId, peerId: victim.id };
  }

  async purgePeerlessRoom(): Promise<PurgeVictim | undefined> {
    const t = this.rooms.tables;
    const now = t.clock.now();
    const since = (id: string) => t.peerlessSince.get(id)!;
    const victim = [...t.rooms.values()]
      .filter((r) => t.connectedCount(r.id) === 0 && expired(since(r.id), r.peerlessPurgeTimeoutSeconds, now))
      .sort((a, b) => since(a.id).getTime() - since(b.id).getTime())[0];
    if (!victim) return undefined;
    await this.rooms.delete(victim.environment, victim.id);
    return { kind: 'room', environment: victim.environment, roomId: victim.id };
  }

  async expireIdempotencyKeys(maxAgeSeconds: number, limit: number): Promise<number> {
    return this.rooms.tables.expireKeys(maxAgeSeconds, limit);
  }
}
