// The soak's traffic: rooms and peers through their whole life, as a backend,
// its media servers and the peers themselves call roomgate. Rooms are created
// and deleted at the same rate, and rooms and peers are capped, so the live
// state stays bounded however long the soak runs; what grows then is the
// server's (or the database's) own doing.
//
// A room or peer with a call in flight is never picked for DeleteRoom or
// DeletePeer, and a peer has one call in flight at most, so every answer can
// be checked strictly: a token of a live peer must verify, a refresh must
// succeed, and so on. A wrong answer is a failed call.
import { randomUUID } from 'node:crypto';
import { bearer, unary } from './grpc-call.js';
import { BENCH_PEER, nextIdentity, type RoomgateTarget } from './roomgate-target.js';

/** The calls of the mix. */
export const SOAK_OPERATIONS = [
  'CreateRoom',
  'CreatePeer',
  'VerifyPeerToken',
  'RefreshPeerToken',
  'GetRoom',
  'ListPeers',
  'DeletePeer',
  'DeleteRoom',
] as const;
/** One of {@link SOAK_OPERATIONS}. */
export type SoakOperation = (typeof SOAK_OPERATIONS)[number];

/** How often each call is chosen, in percent. A call whose subject is missing falls back (see {@link SoakMix.next}). */
export const SOAK_WEIGHTS: Record<SoakOperation, number> = {
  CreateRoom: 3,
  CreatePeer: 18,
  VerifyPeerToken: 28,
  RefreshPeerToken: 10,
  GetRoom: 18,
  ListPeers: 12,
  DeletePeer: 8,
  DeleteRoom: 3,
};

/** Bounds of the live state. */
export const SOAK_LIMITS = { minRooms: 16, maxRooms: 96, peersPerRoom: 10 } as const;

interface Room {
  id: string;
  /** Position in {@link SoakMix.roomList}. */
  index: number;
  /** Calls in flight on the room or on any of its peers. */
  busy: number;
  /** Its peers, created or being created. */
  peerCount: number;
  peers: Set<Peer>;
}

interface Peer {
  id: string;
  room: Room;
  token: string;
  index: number;
  busy: boolean;
}

/** One call of the mix: its name and its pending answer. */
export interface MixCall {
  operation: SoakOperation;
  call: Promise<void>;
}

/** How many random probes look for an idle room or peer before the call falls back. */
const PROBES = 6;

function removeAt<T extends { index: number }>(list: T[], item: T): void {
  const last = list.pop()!;
  if (last !== item) {
    list[item.index] = last;
    last.index = item.index;
  }
}

function pick<T>(list: T[], usable: (item: T) => boolean): T | undefined {
  for (let i = 0; i < Math.min(PROBES, list.length); i++) {
    const item = list[Math.floor(Math.random() * list.length)]!;
    if (usable(item)) return item;
  }
  return undefined;
}

/** The mix's state and its calls against one server. */
export class SoakMix {
  /** Live rooms in creation order: DeleteRoom takes the oldest idle one, so no room (or its tokens) grows old. */
  private readonly rooms = new Map<string, Room>();
  private readonly roomList: Room[] = [];
  private readonly peerList: Peer[] = [];
  private readonly totalWeight = Object.values(SOAK_WEIGHTS).reduce((a, b) => a + b, 0);
  private readonly calls;

  constructor(readonly target: RoomgateTarget) {
    const t = target;
    this.calls = {
      createRoom: unary(t.rooms, t.rooms.createRoom),
      getRoom: unary(t.rooms, t.rooms.getRoom),
      deleteRoom: unary(t.rooms, t.rooms.deleteRoom),
      createPeer: unary(t.peers, t.peers.createPeer),
      listPeers: unary(t.peers, t.peers.listPeers),
      deletePeer: unary(t.peers, t.peers.deletePeer),
      verify: unary(t.tokens, t.tokens.verifyPeerToken),
      refresh: unary(t.tokens, t.tokens.refreshPeerToken),
    };
  }

  /** Live rooms and peers, as the load generator knows them. */
  get size(): { rooms: number; peers: number } {
    return { rooms: this.rooms.size, peers: this.peerList.length };
  }

  /** Starts one call of the mix, chosen by {@link SOAK_WEIGHTS}. */
  next(): MixCall {
    let r = Math.random() * this.totalWeight;
    for (const operation of SOAK_OPERATIONS) {
      r -= SOAK_WEIGHTS[operation];
      if (r < 0) return this.start(operation);
    }
    return this.start('GetRoom');
  }

  /**
   * Starts `wanted`, or the call that makes its subject when there is none:
   * no idle peer gives CreatePeer, no room with space CreateRoom, too many
   * rooms DeleteRoom, and so on.
   */
  start(wanted: SoakOperation): MixCall {
    const { minRooms, maxRooms, peersPerRoom } = SOAK_LIMITS;
    const rooms = this.rooms.size;
    switch (wanted) {
      case 'CreateRoom':
        return rooms >= maxRooms ? this.start('DeleteRoom') : { operation: wanted, call: this.createRoom() };
      case 'DeleteRoom': {
        const room = rooms > minRooms ? this.oldestIdleRoom() : undefined;
        if (room) return { operation: wanted, call: this.deleteRoom(room) };
        return rooms < maxRooms ? this.start('CreateRoom') : this.start('GetRoom');
      }
      case 'CreatePeer': {
        const room = pick(this.roomList, (r) => r.peerCount < peersPerRoom);
        if (room) return { operation: wanted, call: this.createPeer(room) };
        return rooms < maxRooms ? this.start('CreateRoom') : this.start('DeletePeer');
      }
      case 'GetRoom':
      case 'ListPeers': {
        const room = pick(this.roomList, () => true);
        if (!room) return this.start('CreateRoom');
        return { operation: wanted, call: wanted === 'GetRoom' ? this.getRoom(room) : this.listPeers(room) };
      }
      default: {
        const peer = pick(this.peerList, (p) => !p.busy);
        if (!peer) return wanted === 'DeletePeer' ? this.start('GetRoom') : this.start('CreatePeer');
        const call =
          wanted === 'VerifyPeerToken' ? this.verify(peer) : wanted === 'RefreshPeerToken' ? this.refresh(peer) : this.deletePeer(peer);
        return { operation: wanted, call };
      }
    }
  }

  private oldestIdleRoom(): Room | undefined {
    for (const room of this.rooms.values()) if (room.busy === 0) return room;
    return undefined;
  }

  private async createRoom(): Promise<void> {
    const { room } = await this.calls.createRoom(
      { name: '', maxPeers: SOAK_LIMITS.peersPerRoom, metadata: '{"soak":true}', requestId: randomUUID(), peerlessPurgeTimeoutSeconds: 0, peerDisconnectedTimeoutSeconds: 0 },
      this.target.auth,
    );
    if (!room?.id || room.maxPeers !== SOAK_LIMITS.peersPerRoom) throw new Error('CreateRoom answered without the room it made');
    const added: Room = { id: room.id, index: this.roomList.length, busy: 0, peerCount: 0, peers: new Set() };
    this.rooms.set(room.id, added);
    this.roomList.push(added);
  }

  private async deleteRoom(room: Room): Promise<void> {
    // Gone from the mix before the call, so no other call starts on it or its peers.
    this.rooms.delete(room.id);
    removeAt(this.roomList, room);
    for (const peer of room.peers) removeAt(this.peerList, peer);
    await this.calls.deleteRoom({ roomId: room.id }, this.target.auth);
  }

  private async createPeer(room: Room): Promise<void> {
    room.busy++;
    room.peerCount++;
    try {
      const r = await this.calls.createPeer(
        { ...BENCH_PEER, roomId: room.id, identity: nextIdentity('soak'), requestId: randomUUID() },
        this.target.auth,
      );
      if (!r.peerToken || r.peer?.roomId !== room.id) throw new Error('CreatePeer answered without the peer or its token');
      const peer: Peer = { id: r.peer.id, room, token: r.peerToken, index: this.peerList.length, busy: false };
      room.peers.add(peer);
      this.peerList.push(peer);
    } catch (err) {
      room.peerCount--;
      throw err;
    } finally {
      room.busy--;
    }
  }

  private async getRoom(room: Room): Promise<void> {
    room.busy++;
    try {
      const r = await this.calls.getRoom({ roomId: room.id }, this.target.auth);
      if (r.room?.id !== room.id || r.room.peerCount > SOAK_LIMITS.peersPerRoom) throw new Error('GetRoom answered with another room or too many peers');
    } finally {
      room.busy--;
    }
  }

  private async listPeers(room: Room): Promise<void> {
    room.busy++;
    try {
      const r = await this.calls.listPeers({ roomId: room.id, pageSize: 100, pageToken: '' }, this.target.auth);
      if (r.nextPageToken !== '' || r.peers.some((p) => p.roomId !== room.id)) throw new Error('ListPeers answered with peers of another room, or more than a page');
    } finally {
      room.busy--;
    }
  }

  /** Runs `fn` with the peer (and its room) marked busy. */
  private async withPeer(peer: Peer, fn: () => Promise<void>): Promise<void> {
    peer.busy = true;
    peer.room.busy++;
    try {
      await fn();
    } finally {
      peer.busy = false;
      peer.room.busy--;
    }
  }

  private verify(peer: Peer): Promise<void> {
    return this.withPeer(peer, async () => {
      const r = await this.calls.verify({ token: peer.token, roomId: peer.room.id }, this.target.auth);
      if (!r.valid || r.claims?.peerId !== peer.id) throw new Error(`VerifyPeerToken refused a live peer's token (reason ${r.reason})`);
    });
  }

  private refresh(peer: Peer): Promise<void> {
    return this.withPeer(peer, async () => {
      const r = await this.calls.refresh({ tokenTtlSeconds: BENCH_PEER.tokenTtlSeconds }, bearer(peer.token));
      if (!r.peerToken) throw new Error('RefreshPeerToken answered without a token');
      peer.token = r.peerToken;
    });
  }

  private async deletePeer(peer: Peer): Promise<void> {
    removeAt(this.peerList, peer);
    peer.room.peers.delete(peer);
    await this.withPeer(peer, () => this.calls.deletePeer({ roomId: peer.room.id, peerId: peer.id, ban: undefined }, this.target.auth).then(() => undefined));
    // The seat is free only once the server has deleted the peer: a CreatePeer
    // sent while the delete is in flight would find the room still full.
    peer.room.peerCount--;
  }
}
