// An in-memory PurgeStore for unit tests, over the MemoryTables of the room
// and peer stores it is given (see memory-tables.ts for how tests are
// isolated). It follows src/store/purge-store.ts, with the tables' clock as
// the database's now(): a peer goes once it has been disconnected for its
// room's peer_disconnected_timeout_seconds, a room once no peer has been
// connected for its peerless_purge_timeout_seconds (0 turns either off), a
// ban once past its expiry (without events, which these fakes do not keep), each
// deleted as DeletePeer and DeleteRoom delete them, oldest first. Events are
// pruned from the MemoryOutbox it is given (none without one) by the outbox's
// clock, oldest first, keeping those with a pending delivery, as
// PRUNE_EVENTS does.
import type { EventPosition } from '../../../src/domain/event-cursor.js';
import { comparePositions } from '../../../src/domain/event-stream.js';
import type { EventRetentionStore, PurgeStore, PurgeVictim } from '../../../src/domain/ports/index.js';
import type { Environment } from '../../../src/domain/principal.js';
import type { MemoryOutbox } from './memory-outbox.js';
import type { MemoryPeerStore } from './memory-peer-store.js';
import type { MemoryRoomStore } from './memory-room-store.js';

const expired = (since: Date, timeoutSeconds: number, now: Date) =>
  timeoutSeconds > 0 && since.getTime() + timeoutSeconds * 1000 <= now.getTime();

/** {@link PurgeStore} and {@link EventRetentionStore} in memory. */
export class MemoryPurgeStore implements PurgeStore, EventRetentionStore {
  private readonly pruned = new Map<Environment, EventPosition>();

  constructor(
    private readonly rooms: MemoryRoomStore,
    private readonly peers: MemoryPeerStore,
    private readonly outbox?: MemoryOutbox,
  ) {}

  async pruneEvents(retentionSeconds: number, limit: number): Promise<number> {
    const o = this.outbox;
    if (!o) return 0;
    const cutoff = o.clock.now().getTime() - retentionSeconds * 1000;
    const pending = new Set([...o.deliveries.values()].filter((d) => d.state === 'pending').map((d) => d.eventId));
    const victims = o.events
      .filter((e) => e.createdAt.getTime() < cutoff && BigInt(e.txid) < o.xmin() && !pending.has(e.id))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit);
    const gone = new Set(victims.map((e) => e.id));
    for (let i = o.events.length - 1; i >= 0; i--) if (gone.has(o.events[i]!.id)) o.events.splice(i, 1);
    for (const [key, d] of o.deliveries) if (gone.has(d.eventId)) o.deliveries.delete(key);
    for (const e of victims) {
      const mark = this.pruned.get(e.environment);
      if (!mark || comparePositions(mark, e) < 0) this.pruned.set(e.environment, { txid: e.txid, position: e.position });
    }
    return victims.length;
  }

  async prunedThrough(environment: Environment): Promise<EventPosition | null> {
    return this.pruned.get(environment) ?? null;
  }

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

  async expireBans(limit: number): Promise<number> {
    const t = this.rooms.tables;
    const victims = [...t.bans.values()].filter((b) => !t.banActive(b)).slice(0, limit);
    for (const b of victims) t.bans.delete(b.id);
    return victims.length;
  }

  async expireIdempotencyKeys(maxAgeSeconds: number, limit: number): Promise<number> {
    return this.rooms.tables.expireKeys(maxAgeSeconds, limit);
  }
}
