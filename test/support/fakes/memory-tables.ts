// The rows the in-memory room and peer stores share, standing in for one
// Postgres database in unit tests. Isolation: every test builds its own
// MemoryTables (nothing here is module-level), so tests never see each
// other's rows. No store method yields between its reads and its writes, so
// the event loop serializes writes the way the real stores' row locks do; a
// method that throws has changed nothing, like a rolled-back transaction.
import { DomainError } from '../../../src/domain/errors.js';
import { systemClock, type Clock } from '../../../src/domain/clock.js';
import type { Environment } from '../../../src/domain/principal.js';
import type { BanRecord } from '../../../src/domain/bans.js';
import type { IdempotencyKey, PeerRecord, RoomRecord } from '../../../src/domain/records.js';

/** One idempotency_keys row: the request's hash and the result it committed. */
interface StoredKey {
  requestHash: Buffer;
  result: unknown;
  createdAt: Date;
}

/** The shared tables, with the database's clock and identity sequence. */
export class MemoryTables {
  readonly rooms = new Map<string, RoomRecord>();
  readonly peers = new Map<string, PeerRecord>();
  /** Bans by id, active or past their expiry and not yet swept, as the bans table holds them. */
  readonly bans = new Map<string, BanRecord>();
  /** Per room, since when no peer has been connected (rooms.peerless_since); not part of RoomRecord. */
  readonly peerlessSince = new Map<string, Date>();
  private readonly keys = new Map<string, StoredKey>();
  private lastSeq = 0n;

  /** `clock` plays the database's now(): created_at, updated_at and status_changed_at come from it. */
  constructor(readonly clock: Clock = systemClock) {}

  /** The next value of a GENERATED ALWAYS AS IDENTITY column, as pg returns a bigint. */
  nextSeq(): string {
    this.lastSeq += 1n;
    return this.lastSeq.toString();
  }

  /** The room if it exists in `environment`; every store read filters this way. */
  room(environment: Environment, roomId: string): RoomRecord | undefined {
    const room = this.rooms.get(roomId);
    return room?.environment === environment ? room : undefined;
  }

  /** The peer if it is in `roomId` and that room is in `environment`. */
  peer(environment: Environment, roomId: string, peerId: string): PeerRecord | undefined {
    if (!this.room(environment, roomId)) return undefined;
    const peer = this.peers.get(peerId);
    return peer?.roomId === roomId ? peer : undefined;
  }

  /**
   * What src/store/idempotency-keys.ts's claim answers: undefined when the key
   * is fresh, the first result when it was used with the same parameters, and
   * ERR_IDEMPOTENCY_MISMATCH when it was used with others. Claiming does not
   * store the key; call {@link rememberKey} once the write has succeeded, as
   * the real claim commits only with its transaction.
   */
  replayOf<T>(environment: Environment, operation: string, key: IdempotencyKey): T | undefined {
    const stored = this.keys.get(keyName(environment, operation, key.requestId));
    if (!stored) return undefined;
    if (!stored.requestHash.equals(key.requestHash)) {
      throw new DomainError(
        'ERR_IDEMPOTENCY_MISMATCH',
        'request_id: was already used with different parameters; use a new request_id for a new request',
      );
    }
    return structuredClone(stored.result) as T;
  }

  /** Stores an idempotency key with the result of the write it guarded. */
  rememberKey(environment: Environment, operation: string, key: IdempotencyKey, result: unknown): void {
    this.keys.set(keyName(environment, operation, key.requestId), {
      requestHash: Buffer.from(key.requestHash),
      result: structuredClone(result),
      createdAt: this.clock.now(),
    });
  }

  /** Deletes up to `limit` keys older than `maxAgeSeconds`, as PurgeStore.expireIdempotencyKeys; returns how many. */
  expireKeys(maxAgeSeconds: number, limit: number): number {
    const cutoff = this.clock.now().getTime() - maxAgeSeconds * 1000;
    let deleted = 0;
    for (const [name, key] of this.keys) {
      if (deleted >= limit) break;
      if (key.createdAt.getTime() < cutoff) {
        this.keys.delete(name);
        deleted += 1;
      }
    }
    return deleted;
  }

  /** Whether the ban applies at the tables' now() (expires_at NULL or after now()). */
  banActive(ban: BanRecord): boolean {
    return ban.expiresAt === null || ban.expiresAt.getTime() > this.clock.now().getTime();
  }

  /** The active ban keeping `identity` out of `roomId` (an environment-wide one first), as CreatePeer's check finds it. */
  activeBanOf(environment: Environment, identity: string, roomId: string): BanRecord | undefined {
    const applying = [...this.bans.values()].filter(
      (b) => b.environment === environment && b.identity === identity && (b.roomId === null || b.roomId === roomId) && this.banActive(b),
    );
    return applying.find((b) => b.roomId === null) ?? applying[0];
  }

  /** How many of the room's peers are connected (rooms.connected_count). */
  connectedCount(roomId: string): number {
    return [...this.peers.values()].filter((p) => p.roomId === roomId && p.status === 'connected').length;
  }

  /** A deep copy of every row, to show that a refused call changed nothing. */
  snapshot(): { rooms: RoomRecord[]; peers: PeerRecord[]; keys: number; peerlessSince: Array<[string, Date]> } {
    return structuredClone({
      rooms: [...this.rooms.values()],
      peers: [...this.peers.values()],
      keys: this.keys.size,
      peerlessSince: [...this.peerlessSince],
    });
  }

  /** How many idempotency keys are stored. */
  get keyCount(): number {
    return this.keys.size;
  }
}

function keyName(environment: Environment, operation: string, requestId: string): string {
  return JSON.stringify([environment, operation, requestId]);
}

/** A copy the caller may change without changing the stored row, as a row read from pg is. */
export function copyRoom(room: RoomRecord): RoomRecord {
  return { ...room, createdAt: new Date(room.createdAt), updatedAt: new Date(room.updatedAt) };
}

/** A copy the caller may change without changing the stored row. */
export function copyPeer(peer: PeerRecord): PeerRecord {
  return {
    ...peer,
    permissions: { ...peer.permissions },
    statusChangedAt: new Date(peer.statusChangedAt),
    createdAt: new Date(peer.createdAt),
    updatedAt: new Date(peer.updatedAt),
  };
}
