import type { Environment, PeerPermissions, Scope } from './principal.js';

/** A room as stored. */
export interface RoomRecord {
  id: string;
  environment: Environment;
  name: string | null;
  maxPeers: number;
  peerCount: number;
  metadata: string;
  /** Delete the room after no peer has been connected for this long; 0 never. */
  peerlessPurgeTimeoutSeconds: number;
  /** Delete a peer after it has been disconnected for this long; 0 never. */
  peerDisconnectedTimeoutSeconds: number;
  createdAt: Date;
  updatedAt: Date;
  /** Insertion sequence, the pagination key. */
  seq: string;
}

/** A peer's connection state, as media servers report it. */
export type PeerStatus = 'new' | 'connected' | 'disconnected';

/** A peer as stored. */
export interface PeerRecord {
  id: string;
  roomId: string;
  environment: Environment;
  identity: string;
  name: string;
  metadata: string;
  clientMetadata: string;
  permissions: PeerPermissions;
  /** Name of the role the peer was made with or last given; '' when none. Kept after the role is deleted. */
  role: string;
  /** Bumped by every permission change; tokens of an older generation are superseded. */
  generation: number;
  status: PeerStatus;
  statusChangedAt: Date;
  createdAt: Date;
  updatedAt: Date;
  /** Insertion sequence, the pagination key. */
  seq: string;
}

/** The registered claims of one peer token, enough to sign it again identically. */
export interface TokenStamp {
  jti: string;
  kid: string;
  issuedAt: number;
  expiresAt: number;
}

/** A management token as stored: never the token, only its hash and a hint. */
export interface ManagementTokenRecord {
  id: string;
  environment: Environment;
  name: string;
  hint: string;
  scopes: Scope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  /** When the token stops (or stopped) working; in the future during a grace period. */
  revokedAt: Date | null;
  /** Insertion sequence, the pagination key. */
  seq: string;
}

/** A signing key as stored: the private half encrypted. */
export interface SigningKeyRecord {
  kid: string;
  algorithm: string;
  publicJwk: Record<string, unknown>;
  privateKeyEncrypted: Buffer;
  createdAt: Date;
  /** When it starts (or started) signing; in the future while it is pre-published. */
  activatedAt: Date;
  /** When it leaves the JWKS and stops verifying; set, possibly in the future, by the rotation that replaces it. */
  retiredAt: Date | null;
}

/** A signing key as listed: public facts and its state at the time of the listing. */
export interface SigningKeyInfo {
  kid: string;
  algorithm: string;
  state: 'next' | 'current' | 'previous';
  createdAt: Date;
  activatedAt: Date;
  retiredAt: Date | null;
}

/** An idempotency key with the hash of the request it was first used with. */
export interface IdempotencyKey {
  requestId: string;
  requestHash: Buffer;
}
