import type { PeerTokenClaims as DomainClaims, TokenInvalidReason as DomainReason } from '../domain/peer-token.js';
import type { Environment as DomainEnvironment } from '../domain/principal.js';
import type { PeerRecord, RoomRecord } from '../domain/records.js';
import { Environment, type Peer, type PeerTokenClaims, type Room } from '../gen/roomgate/v1/resources.js';
import { TokenInvalidReason } from '../gen/roomgate/v1/token_service.js';

const ENVIRONMENTS: Record<DomainEnvironment, Environment> = {
  sandbox: Environment.ENVIRONMENT_SANDBOX,
  production: Environment.ENVIRONMENT_PRODUCTION,
};

/** Maps a stored room to the wire message. */
export function toRoom(r: RoomRecord): Room {
  return {
    id: r.id,
    name: r.name ?? '',
    maxPeers: r.maxPeers,
    metadata: r.metadata,
    peerCount: r.peerCount,
    environment: ENVIRONMENTS[r.environment],
    createTime: r.createdAt,
    updateTime: r.updatedAt,
  };
}

/** Maps a stored peer to the wire message. */
export function toPeer(p: PeerRecord): Peer {
  return {
    id: p.id,
    roomId: p.roomId,
    identity: p.identity,
    name: p.name,
    metadata: p.metadata,
    clientMetadata: p.clientMetadata,
    permissions: { ...p.permissions },
    createTime: p.createdAt,
    updateTime: p.updatedAt,
  };
}

/** Maps verified claims to the wire message. */
export function toClaims(c: DomainClaims): PeerTokenClaims {
  return {
    tokenId: c.tokenId,
    issuer: c.issuer,
    environment: ENVIRONMENTS[c.environment],
    peerId: c.peerId,
    roomId: c.roomId,
    identity: c.identity,
    name: c.name,
    metadata: c.metadata,
    permissions: { ...c.permissions },
    issueTime: c.issuedAt,
    notBeforeTime: c.notBefore,
    expireTime: c.expiresAt,
    keyId: c.keyId,
  };
}

/** Maps a domain rejection reason to the wire enum. */
export function toReason(r: DomainReason): TokenInvalidReason {
  return TokenInvalidReason[`TOKEN_INVALID_REASON_${r}`];
}
