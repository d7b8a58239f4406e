// An in-memory RoomStore for unit tests, over MemoryTables (see there for how
// tests are isolated). It follows src/store/room-store.ts: the idempotency key
// is looked at first, then the environment's room quota, then the name's
// uniqueness, and a refused create leaves no room, count or key behind.
// Events and revocation notices are not modelled.
import { DomainError } from '../../../src/domain/errors.js';
import type { Environment } from '../../../src/domain/principal.js';
import type { IdempotencyKey, RoomRecord } from '../../../src/domain/records.js';
import type { NewRoom, RoomPatch, RoomStore } from '../../../src/domain/ports/index.js';
import { copyRoom, MemoryTables } from './memory-tables.js';

/** {@link RoomStore} in memory. */
export class MemoryRoomStore implements RoomStore {
  constructor(readonly tables: MemoryTables = new MemoryTables()) {}

  async create(room: NewRoom, key: IdempotencyKey | null, quota: number): Promise<{ room: RoomRecord; replayed: boolean }> {
    const t = this.tables;
    if (key) {
      const replay = t.replayOf<{ roomId: string }>(room.environment, 'CreateRoom', key);
      if (replay) {
        const first = t.rooms.get(replay.roomId);
        if (!first) throw new DomainError('ERR_IDEMPOTENT_TARGET_GONE', 'the room this request_id created has since been deleted');
        return { room: copyRoom(first), replayed: true };
      }
    }
    const count = [...t.rooms.values()].filter((r) => r.environment === room.environment).length;
    if (count >= quota) {
      throw new DomainError(
        'ERR_ROOM_QUOTA_EXCEEDED',
        `the environment already has ${quota} rooms, its limit (ROOMGATE_MAX_ROOMS_PER_ENVIRONMENT); delete rooms first`,
      );
    }
    // UNIQUE (environment, name) treats NULL names as distinct.
    if (room.name !== null && [...t.rooms.values()].some((r) => r.environment === room.environment && r.name === room.name)) {
      throw new DomainError('ERR_ROOM_NAME_TAKEN', 'a room with this name already exists');
    }
    const now = t.clock.now();
    const created: RoomRecord = { ...room, peerCount: 0, createdAt: now, updatedAt: now, seq: t.nextSeq() };
    t.rooms.set(room.id, created);
    t.peerlessSince.set(room.id, now);
    if (key) t.rememberKey(room.environment, 'CreateRoom', key, { roomId: room.id });
    return { room: copyRoom(created), replayed: false };
  }

  async get(environment: Environment, roomId: string): Promise<RoomRecord | undefined> {
    const room = this.tables.room(environment, roomId);
    return room && copyRoom(room);
  }

  async list(environment: Environment, afterSeq: string | undefined, limit: number, nameContains = ''): Promise<RoomRecord[]> {
    const needle = nameContains.toLowerCase();
    const rooms = [...this.tables.rooms.values()].filter((r) => (r.name === null ? needle === '' : r.name.toLowerCase().includes(needle)));
    return pageBySeq(rooms, environment, afterSeq, limit).map(copyRoom);
  }

  async update(environment: Environment, roomId: string, patch: RoomPatch): Promise<RoomRecord | undefined> {
    const room = this.tables.room(environment, roomId);
    if (!room) return undefined;
    // Only the fields set in the patch change (the real UPDATE uses COALESCE).
    const set = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    Object.assign(room, set, { updatedAt: this.tables.clock.now() });
    return copyRoom(room);
  }

  async delete(environment: Environment, roomId: string): Promise<boolean> {
    if (!this.tables.room(environment, roomId)) return false;
    // ON DELETE CASCADE: the room's peers go with it.
    for (const [id, peer] of this.tables.peers) if (peer.roomId === roomId) this.tables.peers.delete(id);
    this.tables.rooms.delete(roomId);
    // bans.room_id ON DELETE CASCADE.
    for (const [id, ban] of this.tables.bans) if (ban.roomId === roomId) this.tables.bans.delete(id);
    this.tables.peerlessSince.delete(roomId);
    return true;
  }
}

/** Orders bigint sequence values given as text. */
export function compareSeq(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The rows of `environment` after `afterSeq` in seq order, at most `limit`: the keyset page every List reads. */
export function pageBySeq<T extends { environment: Environment; seq: string }>(
  rows: Iterable<T>,
  environment: Environment,
  afterSeq: string | undefined,
  limit: number,
): T[] {
  const after = afterSeq ?? '0';
  return [...rows]
    .filter((r) => r.environment === environment && compareSeq(r.seq, after) > 0)
    .sort((a, b) => compareSeq(a.seq, b.seq))
    .slice(0, limit);
}
