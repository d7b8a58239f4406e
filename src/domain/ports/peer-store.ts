import type { BanTerms } from '../bans.js';
import type { Environment, PeerPermissions } from '../principal.js';
import type { BanOutcome } from './ban-store.js';
import type { IdempotencyKey, PeerRecord, TokenStamp } from '../records.js';

/** Input for PeerStore.create. */
export type NewPeer = Pick<PeerRecord, 'id' | 'roomId' | 'environment' | 'identity' | 'name' | 'metadata' | 'permissions' | 'role'> & {
  /** Internal id of the role named by `role`; null when the permissions were given explicitly. */
  roleId: string | null;
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
   * Inserts a peer if its identity is not banned from the room
   * (ERR_IDENTITY_BANNED, checked serialized with bans of the identity, see
   * BanStore.create), the room has space (ERR_ROOM_FULL otherwise) and the
   * identity is free (ERR_PEER_IDENTITY_TAKEN), or returns what a previous call
   * with the same idempotency key created. With a role (roleId set), the peer
   * takes the role's permissions as they are at the insert, under the role's
   * lock (so UpdateRole's apply_to_existing_peers cannot miss it), rather
   * than `permissions`; ERR_ROLE_NOT_FOUND when the role is gone.
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
  /**
   * DeletePeer with a ban: in one transaction, bans the peer's identity with
   * `ban` (its roomId is this room, or null for the environment) as
   * BanStore.create does, deleting this peer with it; an active ban of the
   * same identity and scope is kept and returned (created false). Undefined
   * when there is no such peer.
   */
  deleteAndBan(
    environment: Environment,
    roomId: string,
    peerId: string,
    ban: Omit<BanTerms, 'identity'> & { id: string },
    maxActiveBans: number,
  ): Promise<BanOutcome | undefined>;
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
  /**
   * IssuePeerToken's role: the peer takes the role's current permissions
   * (read under the role's lock, like CreatePeer's) and records the role;
   * when the permissions differ, as updatePermissions does. Undefined when
   * there is no such peer; ERR_ROLE_NOT_FOUND when the role is gone.
   */
  assignRole(environment: Environment, roomId: string, peerId: string, role: { id: string; name: string }): Promise<PeerRecord | undefined>;
  /** Replaces the permissions and bumps the generation, superseding earlier tokens. */
  updatePermissions(
    environment: Environment,
    roomId: string,
    peerId: string,
    permissions: PeerPermissions,
  ): Promise<PeerRecord | undefined>;
}
