// The calls each gRPC scenario makes. Every response is checked, so a
// scenario that "succeeds" with wrong answers fails the phase instead.
import { randomUUID } from 'node:crypto';
import type { Operation } from './closed-loop.js';
import { bearer, unary } from './grpc-call.js';
import { BENCH_PEER, nextIdentity, type RoomgateTarget } from './roomgate-target.js';

/** Scenarios served by roomgate over gRPC. */
export const GRPC_SCENARIOS = ['CreatePeer', 'VerifyPeerToken', 'RefreshPeerToken', 'GetRoom', 'ListPeers'] as const;
/** One of {@link GRPC_SCENARIOS}. */
export type GrpcScenario = (typeof GRPC_SCENARIOS)[number];

/**
 * CreatePeer with a request_id (backends send one to retry safely), caller i
 * in room i mod rooms, so callers do not queue on one room's lock. Each new
 * peer's token goes to the supply for VerifyPeerToken.
 */
export function createPeer(target: RoomgateTarget, rooms = target.roomIds): Operation {
  const call = unary(target.peers, target.peers.createPeer);
  return (caller) => {
    const roomId = rooms[caller % rooms.length]!;
    return call({ ...BENCH_PEER, roomId, identity: nextIdentity('peer'), requestId: randomUUID() }, target.auth).then((r) => {
      if (!r.peerToken || r.peer?.roomId !== roomId) throw new Error('CreatePeer answered without the peer or its token');
      target.supply.add(r.peerToken, roomId);
    });
  };
}

/** VerifyPeerToken for a room, each call with a token never verified before. */
function verifyPeerToken(target: RoomgateTarget): Operation {
  const call = unary(target.tokens, target.tokens.verifyPeerToken);
  return () => {
    const next = target.supply.take();
    if (!next) return false;
    return call({ token: next.token, roomId: next.roomId }, target.auth).then((r) => {
      if (!r.valid) throw new Error(`VerifyPeerToken said invalid (reason ${r.reason}) for a live peer's token`);
    });
  };
}

/**
 * RefreshPeerToken as peers call it: authenticated by their current token,
 * which the answer replaces. Each caller is one peer and uses the token it
 * got last, so no call reuses a token.
 */
function refreshPeerToken(target: RoomgateTarget, concurrency: number): Operation {
  const call = unary(target.tokens, target.tokens.refreshPeerToken);
  const current: string[] = [];
  for (let i = 0; i < concurrency; i++) {
    const taken = target.supply.take();
    if (!taken) throw new Error('no peer token left to start RefreshPeerToken callers with');
    current.push(taken.token);
  }
  return (caller) =>
    call({ tokenTtlSeconds: BENCH_PEER.tokenTtlSeconds }, bearer(current[caller]!)).then((r) => {
      if (!r.peerToken) throw new Error('RefreshPeerToken answered without a token');
      current[caller] = r.peerToken;
    });
}

/** GetRoom over the bench rooms in turn. */
function getRoom(target: RoomgateTarget): Operation {
  const call = unary(target.rooms, target.rooms.getRoom);
  const rooms = target.roomIds;
  let n = 0;
  return () => {
    const roomId = rooms[n++ % rooms.length]!;
    return call({ roomId }, target.auth).then((r) => {
      if (r.room?.id !== roomId) throw new Error('GetRoom answered with another room');
    });
  };
}

/** ListPeers of the big room, one full page per call, cycling through all its pages. */
function listPeers(target: RoomgateTarget): Operation {
  const call = unary(target.peers, target.peers.listPeers);
  const list = target.listRoom;
  if (!list) throw new Error('the ListPeers room was not created');
  let n = 0;
  return () => {
    const pageToken = list.pageTokens[n++ % list.pageTokens.length]!;
    return call({ roomId: list.roomId, pageSize: list.pageSize, pageToken }, target.auth).then((r) => {
      if (r.peers.length === 0) throw new Error('ListPeers answered with an empty page');
    });
  };
}

/** The operation of a gRPC scenario against `target`. */
export function grpcOperation(scenario: GrpcScenario, target: RoomgateTarget, concurrency: number): Operation {
  switch (scenario) {
    case 'CreatePeer':
      return createPeer(target);
    case 'VerifyPeerToken':
      return verifyPeerToken(target);
    case 'RefreshPeerToken':
      return refreshPeerToken(target, concurrency);
    case 'GetRoom':
      return getRoom(target);
    case 'ListPeers':
      return listPeers(target);
    default:
      throw new Error(`unknown gRPC scenario ${String(scenario)}`);
  }
}
