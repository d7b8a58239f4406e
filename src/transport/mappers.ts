import type { PeerTokenClaims as DomainClaims, TokenInvalidReason as DomainReason } from '../domain/peer-token.js';
import type { Environment as DomainEnvironment } from '../domain/principal.js';
import type { Scope } from '../domain/principal.js';
import type { ManagementTokenRecord, PeerRecord, RoomRecord, SigningKeyInfo } from '../domain/records.js';
import {
  Environment,
  ManagementScope,
  PeerStatus,
  SigningKeyState,
  type ManagementToken,
  type Peer,
  type PeerTokenClaims,
  type Room,
  type SigningKey,
} from '../gen/roomgate/v1/resources.js';
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
    peerlessPurgeTimeoutSeconds: r.peerlessPurgeTimeoutSeconds,
    peerDisconnectedTimeoutSeconds: r.peerDisconnectedTimeoutSeconds,
  };
}

const PEER_STATUSES: Record<PeerRecord['status'], PeerStatus> = {
  new: PeerStatus.PEER_STATUS_NEW,
  connected: PeerStatus.PEER_STATUS_CONNECTED,
  disconnected: PeerStatus.PEER_STATUS_DISCONNECTED,
};

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
    status: PEER_STATUSES[p.status],
    statusChangeTime: p.statusChangedAt,
    role: p.role,
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

const SCOPE_TO_WIRE: Record<Scope, ManagementScope> = {
  admin: ManagementScope.MANAGEMENT_SCOPE_ADMIN,
  rooms: ManagementScope.MANAGEMENT_SCOPE_ROOMS,
  verify: ManagementScope.MANAGEMENT_SCOPE_VERIFY,
  read: ManagementScope.MANAGEMENT_SCOPE_READ,
  audit: ManagementScope.MANAGEMENT_SCOPE_AUDIT,
};

/** Maps wire scopes to domain scopes; UNSPECIFIED and unknown values become 'invalid' for validation to refuse. */
export function fromScopes(scopes: ManagementScope[]): Scope[] {
  return scopes.map(
    (w) => (Object.entries(SCOPE_TO_WIRE).find(([, v]) => v === w)?.[0] ?? 'invalid') as Scope,
  );
}

/** Maps a stored management token (never the token itself) to the wire message. */
export function toManagementToken(r: ManagementTokenRecord, active: boolean): ManagementToken {
  return {
    id: r.id,
    name: r.name,
    environment: ENVIRONMENTS[r.environment],
    hint: r.hint,
    scopes: r.scopes.map((s) => SCOPE_TO_WIRE[s]),
    createTime: r.createdAt,
    lastUsedTime: r.lastUsedAt ?? undefined,
    expireTime: r.expiresAt ?? undefined,
    revokeTime: r.revokedAt ?? undefined,
    inactive: !active,
  };
}

const KEY_STATES: Record<SigningKeyInfo['state'], SigningKeyState> = {
  next: SigningKeyState.SIGNING_KEY_STATE_NEXT,
  current: SigningKeyState.SIGNING_KEY_STATE_CURRENT,
  previous: SigningKeyState.SIGNING_KEY_STATE_PREVIOUS,
};

/** Maps a signing key's public facts to the wire message. */
export function toSigningKey(k: SigningKeyInfo): SigningKey {
  return {
    kid: k.kid,
    algorithm: k.algorithm,
    state: KEY_STATES[k.state],
    createTime: k.createdAt,
    activateTime: k.activatedAt,
    retireTime: k.retiredAt ?? undefined,
  };
}
