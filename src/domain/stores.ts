import type { Environment } from './principal.js';
import type {
  IdempotencyKey,
  ManagementTokenRecord,
  PeerRecord,
  RoomRecord,
  SigningKeyRecord,
  TokenStamp,
} from './records.js';

// The persistence the domain needs, implemented by src/store. Every invariant
// that must hold under concurrency (unique names and identities, max_peers,
// idempotency) is the store's job, enforced inside one database transaction.

/** Input for RoomStore.create. */
export type NewRoom = Pick<RoomRecord, 'id' | 'environment' | 'name' | 'maxPeers' | 'metadata'>;

/** Rooms of all environments; every method filters by environment. */
export interface RoomStore {
  /** Inserts a room, or returns the room a previous call with the same idempotency key created. */
  create(room: NewRoom, key: IdempotencyKey | null): Promise<{ room: RoomRecord; replayed: boolean }>;
  get(environment: Environment, roomId: string): Promise<RoomRecord | undefined>;
  /** Rooms after `afterSeq` in insertion order, at most `limit`. */
  list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<RoomRecord[]>;
  update(
    environment: Environment,
    roomId: string,
    patch: { metadata?: string; maxPeers?: number },
  ): Promise<RoomRecord | undefined>;
  /** Deletes the room and its peers; false when there was no such room. */
  delete(environment: Environment, roomId: string): Promise<boolean>;
}

/** Input for PeerStore.create. */
export type NewPeer = Pick<PeerRecord, 'id' | 'roomId' | 'environment' | 'identity' | 'name' | 'metadata' | 'permissions'> & {
  /** The first token's claims, kept with the idempotency key so a retry gets the same token. */
  stamp: TokenStamp;
};

/** Peers of all environments; every method filters by environment through the room. */
export interface PeerStore {
  /**
   * Inserts a peer if the room has space (ERR_ROOM_FULL otherwise) and the identity
   * is free (ERR_PEER_IDENTITY_TAKEN), or returns what a previous call with the
   * same idempotency key created.
   */
  create(peer: NewPeer, key: IdempotencyKey | null): Promise<{ peer: PeerRecord; stamp: TokenStamp; replayed: boolean }>;
  get(environment: Environment, roomId: string, peerId: string): Promise<PeerRecord | undefined>;
  /** Peers of a room in insertion order; undefined when the room does not exist. */
  list(
    environment: Environment,
    roomId: string,
    afterSeq: string | undefined,
    limit: number,
  ): Promise<PeerRecord[] | undefined>;
  delete(environment: Environment, roomId: string, peerId: string): Promise<boolean>;
  updateClientMetadata(
    environment: Environment,
    roomId: string,
    peerId: string,
    clientMetadata: string,
  ): Promise<PeerRecord | undefined>;
  /** Whether the peer still exists in that room and environment: the revocation check. */
  exists(environment: Environment, roomId: string, peerId: string): Promise<boolean>;
}

/** Management tokens, looked up by hash. */
export interface ManagementTokenStore {
  insert(token: { id: string; environment: Environment; name: string; hash: Buffer; hint: string }): Promise<ManagementTokenRecord>;
  /** Inserts only if no token exists at all (first start); returns whether it did. */
  insertIfNone(token: { id: string; environment: Environment; name: string; hash: Buffer; hint: string }): Promise<boolean>;
  findByHash(hash: Buffer): Promise<ManagementTokenRecord | undefined>;
}

/** Signing keys shared by every instance. */
export interface SigningKeyStore {
  /** Keys that may still verify tokens, newest activation first. */
  listUsable(): Promise<SigningKeyRecord[]>;
  /**
   * Stores `candidate` as the active key unless an active key already exists,
   * atomically across instances; returns the usable keys afterwards.
   */
  ensureActive(candidate: Omit<SigningKeyRecord, 'createdAt' | 'activatedAt'>): Promise<SigningKeyRecord[]>;
}
