// An in-memory PeerStore for unit tests, over MemoryTables shared with
// MemoryRoomStore (see memory-tables.ts for how tests are isolated). It
// follows src/store/peer-store.ts step by step in create(): the room's seat,
// then the idempotency key (so a retry of the request that filled a room is
// still answered), then ERR_ROOM_FULL, then an active ban of the identity
// (ERR_IDENTITY_BANNED), then the (room, identity) uniqueness;
// a refused create takes no seat and stores no key. Events are not modelled.
import { identityBanned, type BanTerms } from '../../../src/domain/bans.js';
import { DomainError } from '../../../src/domain/errors.js';
import type { Environment, PeerPermissions } from '../../../src/domain/principal.js';
import type { IdempotencyKey, PeerRecord, TokenStamp } from '../../../src/domain/records.js';
import type { BanOutcome, NewPeer, PeerLiveness, PeerStore } from '../../../src/domain/ports/index.js';
import { memoryBan } from './memory-ban-store.js';
import { compareSeq } from './memory-room-store.js';
import { copyPeer, MemoryTables } from './memory-tables.js';

const roomNotFound = () => new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');

/** {@link PeerStore} in memory. */
export class MemoryPeerStore implements PeerStore {
  /** How many liveness lookups reached the store (to observe a cache in front of it). */
  livenessReads = 0;

  constructor(readonly tables: MemoryTables = new MemoryTables()) {}

  async create(peer: NewPeer, key: IdempotencyKey | null): Promise<{ peer: PeerRecord; stamp: TokenStamp; replayed: boolean }> {
    const t = this.tables;
    const room = t.room(peer.environment, peer.roomId);
    const hasSeat = room !== undefined && (room.maxPeers === 0 || room.peerCount < room.maxPeers);
    if (key) {
      if (!room) throw roomNotFound();
      const replay = t.replayOf<{ peerId: string; stamp: TokenStamp }>(peer.environment, 'CreatePeer', key);
      if (replay) {
        const first = t.peer(peer.environment, peer.roomId, replay.peerId);
        if (!first) throw new DomainError('ERR_IDEMPOTENT_TARGET_GONE', 'the peer this request_id created has since been deleted');
        return { peer: copyPeer(first), stamp: replay.stamp, replayed: true };
      }
    }
    if (!room) throw roomNotFound();
    if (!hasSeat) throw new DomainError('ERR_ROOM_FULL', 'the room is full: it already has max_peers peers');
    const ban = t.activeBanOf(peer.environment, peer.identity, peer.roomId);
    if (ban) throw identityBanned(ban);
    if ([...t.peers.values()].some((p) => p.roomId === peer.roomId && p.identity === peer.identity)) {
      throw new DomainError('ERR_PEER_IDENTITY_TAKEN', 'a peer with this identity already exists in the room');
    }
    const now = t.clock.now();
    const { stamp, ...fields } = peer;
    const created: PeerRecord = {
      ...fields,
      permissions: { ...fields.permissions },
      clientMetadata: '{}',
      generation: 1,
      status: 'new',
      statusChangedAt: now,
      createdAt: now,
      updatedAt: now,
      seq: t.nextSeq(),
    };
    t.peers.set(created.id, created);
    room.peerCount += 1;
    if (key) t.rememberKey(peer.environment, 'CreatePeer', key, { peerId: peer.id, stamp });
    return { peer: copyPeer(created), stamp, replayed: false };
  }

  async get(environment: Environment, roomId: string, peerId: string): Promise<PeerRecord | undefined> {
    const peer = this.tables.peer(environment, roomId, peerId);
    return peer && copyPeer(peer);
  }

  async list(environment: Environment, roomId: string, afterSeq: string | undefined, limit: number): Promise<PeerRecord[] | undefined> {
    if (!this.tables.room(environment, roomId)) return undefined;
    const after = BigInt(afterSeq ?? '0');
    return [...this.tables.peers.values()]
      .filter((p) => p.roomId === roomId && BigInt(p.seq) > after)
      .sort((a, b) => compareSeq(a.seq, b.seq))
      .slice(0, limit)
      .map(copyPeer);
  }

  async delete(environment: Environment, roomId: string, peerId: string): Promise<boolean> {
    const t = this.tables;
    const peer = t.peer(environment, roomId, peerId);
    if (!peer) return false;
    t.peers.delete(peerId);
    t.rooms.get(roomId)!.peerCount -= 1;
    // Removing the last connected peer starts the room's peerless timer.
    if (peer.status === 'connected' && t.connectedCount(roomId) === 0) t.peerlessSince.set(roomId, t.clock.now());
    return true;
  }

  async updateClientMetadata(environment: Environment, roomId: string, peerId: string, clientMetadata: string): Promise<PeerRecord | undefined> {
    const peer = this.tables.peer(environment, roomId, peerId);
    if (!peer) return undefined;
    Object.assign(peer, { clientMetadata, updatedAt: this.tables.clock.now() });
    return copyPeer(peer);
  }

  async reportStatus(
    environment: Environment,
    roomId: string,
    peerId: string,
    status: 'connected' | 'disconnected',
  ): Promise<PeerRecord | undefined> {
    const t = this.tables;
    const peer = t.peer(environment, roomId, peerId);
    if (!peer) return undefined;
    // A repeated report changes nothing: media servers may retry.
    if (peer.status === status) return copyPeer(peer);
    const wasConnected = peer.status === 'connected';
    Object.assign(peer, { status, statusChangedAt: t.clock.now() });
    // The last connected peer leaving starts the room's peerless timer.
    if (wasConnected && t.connectedCount(roomId) === 0) t.peerlessSince.set(roomId, t.clock.now());
    return copyPeer(peer);
  }

  async deleteAndBan(
    environment: Environment,
    roomId: string,
    peerId: string,
    ban: Omit<BanTerms, 'identity'> & { id: string },
    maxActiveBans: number,
  ): Promise<BanOutcome | undefined> {
    const peer = this.tables.peer(environment, roomId, peerId);
    if (!peer) return undefined;
    return memoryBan(
      this.tables,
      { ...ban, environment, identity: peer.identity },
      { maxActiveBans, target: { roomId, peerId }, keepExisting: true },
    );
  }

  async updatePermissions(
    environment: Environment,
    roomId: string,
    peerId: string,
    permissions: PeerPermissions,
  ): Promise<PeerRecord | undefined> {
    const peer = this.tables.peer(environment, roomId, peerId);
    if (!peer) return undefined;
    Object.assign(peer, { permissions: { ...permissions }, generation: peer.generation + 1, updatedAt: this.tables.clock.now() });
    return copyPeer(peer);
  }

  async assignRole(): Promise<PeerRecord | undefined> {
    // Roles live in Postgres only (test/integration/roles*.test.ts); the unit
    // tests' domain is built without them (NO_ROLES), so this is unreachable.
    throw new Error('roles are not modelled in memory');
  }

  async liveness(environment: Environment, roomId: string, peerId: string): Promise<PeerLiveness | undefined> {
    this.livenessReads += 1;
    const peer = this.tables.peer(environment, roomId, peerId);
    return peer && { generation: peer.generation, createdAt: new Date(peer.createdAt) };
  }
}
