import type { Environment, PeerPermissions } from './principal.js';

/** A room as stored. */
export interface RoomRecord {
  id: string;
  environment: Environment;
  name: string | null;
  maxPeers: number;
  peerCount: number;
  metadata: string;
  createdAt: Date;
  updatedAt: Date;
  /** Insertion sequence, the pagination key. */
  seq: string;
}

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
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A signing key as stored: the private half encrypted. */
export interface SigningKeyRecord {
  kid: string;
  algorithm: string;
  publicJwk: Record<string, unknown>;
  privateKeyEncrypted: Buffer;
  createdAt: Date;
  activatedAt: Date | null;
}

/** An idempotency key with the hash of the request it was first used with. */
export interface IdempotencyKey {
  requestId: string;
  requestHash: Buffer;
}
