// One roomgate server as the load generator sees it: generated clients on one
// channel, a management token, the rooms made for the bench, and the peer
// tokens it has collected for VerifyPeerToken.
import type { Metadata } from '@grpc/grpc-js';
import { PeerServiceClient } from '../../src/gen/roomgate/v1/peer_service.js';
import { CreateRoomRequest, RoomServiceClient } from '../../src/gen/roomgate/v1/room_service.js';
import { TokenServiceClient } from '../../src/gen/roomgate/v1/token_service.js';
import { runAll } from './closed-loop.js';
import { bearer, insecure, unary } from './grpc-call.js';
import { TokenSupply } from './token-supply.js';

/** A peer by its room, as IssuePeerToken names it. */
export interface PeerRef {
  roomId: string;
  peerId: string;
}

/** What a peer of the bench looks like: a typical participant, with small metadata. */
export const BENCH_PEER = {
  name: 'Bench Participant',
  metadata: '{"role":"speaker","team":"bench"}',
  permissions: { canPublish: true, canSubscribe: true, canUpdateMetadata: true, canUpdateRoom: false, canRemoveParticipants: false },
  tokenTtlSeconds: 3600,
  role: '',
} as const;

let identities = 0;

/** An identity no other peer of this process has. */
export function nextIdentity(prefix: string): string {
  return `${prefix}-${process.pid}-${++identities}`;
}

/** A connected roomgate server. */
export class RoomgateTarget {
  readonly rooms: RoomServiceClient;
  readonly peers: PeerServiceClient;
  readonly tokens: TokenServiceClient;
  readonly auth: Metadata;
  /** Rooms that CreatePeer, GetRoom and the SQL baseline spread their calls over. */
  roomIds: string[] = [];
  /** The room ListPeers reads, and the page tokens of its pages. */
  listRoom: { roomId: string; pageTokens: string[]; pageSize: number } | undefined;
  /** Peer tokens never verified yet, each of a distinct peer. */
  readonly supply = new TokenSupply();

  constructor(address: string, managementToken: string) {
    this.rooms = new RoomServiceClient(address, insecure);
    const channelOverride = { channelOverride: this.rooms.getChannel() };
    this.peers = new PeerServiceClient(address, insecure, channelOverride);
    this.tokens = new TokenServiceClient(address, insecure, channelOverride);
    this.auth = bearer(managementToken);
  }

  /** Creates `count` rooms named `<prefix>-<n>`, without a peer limit, and adds them to {@link roomIds}. */
  async createRooms(prefix: string, count: number): Promise<string[]> {
    const createRoom = unary(this.rooms, this.rooms.createRoom);
    const ids: string[] = [];
    await runAll(count, 16, (i) =>
      createRoom(CreateRoomRequest.fromPartial({ name: `${prefix}-${i}` }), this.auth).then(({ room }) => ids.push(room!.id)),
    );
    this.roomIds.push(...ids);
    return ids;
  }

  /**
   * Makes the ListPeers room: `peerCount` peers created over gRPC, then one
   * walk through its pages to learn each page's token.
   */
  async createListRoom(peerCount: number, pageSize: number): Promise<void> {
    const [roomId] = await this.createRooms('bench-list', 1);
    this.roomIds = this.roomIds.filter((id) => id !== roomId);
    const createPeer = unary(this.peers, this.peers.createPeer);
    await runAll(peerCount, 16, () =>
      createPeer({ ...BENCH_PEER, roomId: roomId!, identity: nextIdentity('list'), requestId: '' }, this.auth),
    );
    const listPeers = unary(this.peers, this.peers.listPeers);
    const pageTokens: string[] = [];
    let pageToken = '';
    do {
      pageTokens.push(pageToken);
      ({ nextPageToken: pageToken } = await listPeers({ roomId: roomId!, pageSize, pageToken }, this.auth));
    } while (pageToken !== '');
    this.listRoom = { roomId: roomId!, pageTokens, pageSize };
  }

  /** Issues one token for each of `peers` with IssuePeerToken, into {@link supply}. */
  async issueTokens(peers: PeerRef[], concurrency: number): Promise<void> {
    const issue = unary(this.tokens, this.tokens.issuePeerToken);
    await runAll(peers.length, concurrency, (i) =>
      issue({ ...peers[i]!, tokenTtlSeconds: BENCH_PEER.tokenTtlSeconds, role: '' }, this.auth).then((r) =>
        this.supply.add(r.peerToken, peers[i]!.roomId),
      ),
    );
  }

  /** Closes the channel. */
  close(): void {
    this.rooms.close();
  }
}
