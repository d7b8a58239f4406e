import type { Environment } from '../principal.js';
import type { IdempotencyKey, RoomRecord } from '../records.js';

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
  /**
   * Rooms after `afterSeq` in insertion order, at most `limit`; with a
   * non-empty `nameContains`, only rooms whose name contains it, ignoring
   * case and taking every character literally.
   */
  list(environment: Environment, afterSeq: string | undefined, limit: number, nameContains?: string): Promise<RoomRecord[]>;
  update(environment: Environment, roomId: string, patch: RoomPatch): Promise<RoomRecord | undefined>;
  /**
   * Deletes the room and its peers, with a room_deleted (or, for the purge
   * timer, room_purged) event; false when there was no such room.
   */
  delete(environment: Environment, roomId: string, options?: { purged?: boolean }): Promise<boolean>;
}
