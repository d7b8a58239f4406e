import type { Environment, PeerPermissions } from './principal.js';
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
export type NewRoom = Pick<
  RoomRecord,
  'id' | 'environment' | 'name' | 'maxPeers' | 'metadata' | 'peerlessPurgeTimeoutSeconds' | 'peerDisconnectedTimeoutSeconds'
>;

/** The fields UpdateRoom may change; unset ones stay. */
export type RoomPatch = Partial<
  Pick<RoomRecord, 'metadata' | 'maxPeers' | 'peerlessPurgeTimeoutSeconds' | 'peerDisconnectedTimeoutSeconds'>
>;

/** Rooms of all environments; every method filters by environment. */
export interface RoomStore {
  /** Inserts a room, or returns the room a previous call with the same idempotency key created. */
  create(
    room: NewRoom,
    key: IdempotencyKey | null,
    quota: number,
  ): Promise<{ room: RoomRecord; replayed: boolean }>;
  get(environment: Environment, roomId: string): Promise<RoomRecord | undefined>;
  /** Rooms after `afterSeq` in insertion order, at most `limit`. */
  list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<RoomRecord[]>;
  update(environment: Environment, roomId: string, patch: RoomPatch): Promise<RoomRecord | undefined>;
  /**
   * Deletes the room and its peers, with a room_deleted (or, for the purge
   * timer, room_purged) event; false when there was no such room.
   */
  delete(environment: Environment, roomId: string, options?: { purged?: boolean }): Promise<boolean>;
}

/** Input for PeerStore.create. */
export type NewPeer = Pick<PeerRecord, 'id' | 'roomId' | 'environment' | 'identity' | 'name' | 'metadata' | 'permissions'> & {
  /** The first token's claims, kept with the idempotency key so a retry gets the same token. */
  stamp: TokenStamp;
};

/** What verification needs to know about a live peer. */
export interface PeerLiveness {
  generation: number;
  createdAt: Date;
}

/** Answers "does this peer still exist, and at which permission generation?" */
export interface PeerLivenessSource {
  liveness(environment: Environment, roomId: string, peerId: string): Promise<PeerLiveness | undefined>;
}

/**
 * Runs a write or read that yields a peer's current state, and may remember
 * the peer's liveness from it (see PeerLivenessCache).
 */
export interface PeerLivenessRecorder {
  record<T>(
    environment: Environment,
    roomId: string,
    peerId: string,
    produce: () => Promise<T>,
    livenessOf: (result: T) => PeerLiveness | undefined,
  ): Promise<T>;
}

/** A {@link PeerLivenessRecorder} that remembers nothing. */
export const NO_LIVENESS_RECORDER: PeerLivenessRecorder = { record: (_e, _r, _p, produce) => produce() };

/** Peers of all environments; every method filters by environment through the room. */
export interface PeerStore extends PeerLivenessSource {
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
  /**
   * Records a connection state reported by a media server, with a
   * peer_connected or peer_disconnected event when it changed.
   */
  reportStatus(
    environment: Environment,
    roomId: string,
    peerId: string,
    status: 'connected' | 'disconnected',
  ): Promise<PeerRecord | undefined>;
  /** Replaces the permissions and bumps the generation, superseding earlier tokens. */
  updatePermissions(
    environment: Environment,
    roomId: string,
    peerId: string,
    permissions: PeerPermissions,
  ): Promise<PeerRecord | undefined>;
}

/** Input for ManagementTokenStore.insert. */
export type NewManagementToken = Pick<ManagementTokenRecord, 'id' | 'environment' | 'name' | 'hint' | 'scopes' | 'expiresAt'> & {
  hash: Buffer;
};

/** Looks a management token up by the SHA-256 of its text. */
export interface ManagementTokenLookup {
  findByHash(hash: Buffer): Promise<ManagementTokenRecord | undefined>;
}

/** Management tokens; only hashes are stored. */
export interface ManagementTokenStore extends ManagementTokenLookup {
  insert(token: NewManagementToken): Promise<ManagementTokenRecord>;
  /** Inserts only if no token exists at all (first start); returns whether it did. */
  insertIfNone(token: NewManagementToken): Promise<boolean>;
  list(environment: Environment, afterSeq: string | undefined, limit: number): Promise<ManagementTokenRecord[]>;
  /** Sets the revocation time (keeping an earlier one); undefined when no such token. */
  revoke(environment: Environment, id: string, at: Date): Promise<ManagementTokenRecord | undefined>;
  /** Records last-use times in one write. */
  recordUse(entries: Map<string, Date>): Promise<void>;
}

/** A freshly generated signing key, before the store schedules it. */
export type NewSigningKey = Pick<SigningKeyRecord, 'kid' | 'algorithm' | 'publicJwk' | 'privateKeyEncrypted'>;

/** The times of one rotation, all from the caller's clock. */
export interface RotationSchedule {
  now: Date;
  /** When the new key starts signing. */
  activateAt: Date;
  /** When the keys it replaces stop verifying. */
  retirePreviousAt: Date;
}

/**
 * Signing keys shared by every instance. Every time is passed in from the
 * domain's clock and stored, so all instances judge a key's state alike.
 */
export interface SigningKeyStore {
  /** Keys not retired at `now`, newest activation first. */
  listUsable(now: Date): Promise<SigningKeyRecord[]>;
  /**
   * Stores `candidate`, active from `now`, unless an unretired key already
   * exists, atomically across instances; returns the usable keys afterwards.
   */
  ensureActive(candidate: NewSigningKey, now: Date): Promise<SigningKeyRecord[]>;
  /**
   * Atomically across instances: refuses with ERR_ROTATION_PENDING while a key
   * activating after `now` exists; otherwise sets every unretired key to retire
   * at `retirePreviousAt`, stores `candidate` active from `activateAt`, and
   * tells the other instances. Returns the usable keys afterwards.
   */
  rotate(candidate: NewSigningKey, schedule: RotationSchedule): Promise<SigningKeyRecord[]>;
}
