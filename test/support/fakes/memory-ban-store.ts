// An in-memory BanStore for unit tests, over MemoryTables shared with the
// room and peer fakes (see memory-tables.ts for how tests are isolated). It
// follows src/store/ban-writes.ts step by step: the room (ERR_ROOM_NOT_FOUND),
// then a same-scope ban past its expiry is swept, then an active one is
// ERR_BAN_EXISTS (or kept, for DeletePeer), then the quota
// (ERR_BAN_QUOTA_EXCEEDED), then the insert and the deletion of the identity's
// peers in scope. The tables' clock plays the database's now(). Events and
// revocation notices are not modelled; a refused call changes nothing.
import { banExists, banQuotaExceeded, type BanRecord } from '../../../src/domain/bans.js';
import { DomainError } from '../../../src/domain/errors.js';
import type { Environment } from '../../../src/domain/principal.js';
import type { BanFilter, BanOutcome, BanStore, NewBan } from '../../../src/domain/ports/index.js';
import { compareSeq } from './memory-room-store.js';
import type { MemoryTables } from './memory-tables.js';

const copyBan = (b: BanRecord): BanRecord => ({ ...b, createdAt: new Date(b.createdAt), expiresAt: b.expiresAt && new Date(b.expiresAt) });

/** What a ban is made with, as in ban-writes.ts. */
export interface MemoryBanOptions {
  maxActiveBans: number;
  target?: { roomId: string; peerId: string };
  keepExisting?: boolean;
}

/** Makes a ban in `t`, as src/store/ban-writes.ts's makeBan; undefined when the target peer is gone. */
export function memoryBan(t: MemoryTables, ban: NewBan, options: MemoryBanOptions): BanOutcome | undefined {
  if (ban.roomId !== null && !t.room(ban.environment, ban.roomId)) {
    if (options.target) return undefined;
    throw new DomainError('ERR_ROOM_NOT_FOUND', 'room not found');
  }
  const target = options.target && t.peer(ban.environment, options.target.roomId, options.target.peerId);
  if (options.target && target?.identity !== ban.identity) return undefined;
  const sameScope = [...t.bans.values()].find(
    (b) => b.environment === ban.environment && b.identity === ban.identity && b.roomId === ban.roomId,
  );
  if (sameScope && !t.banActive(sameScope)) t.bans.delete(sameScope.id);
  else if (sameScope) {
    if (!options.keepExisting || !target) throw banExists(copyBan(sameScope));
    deletePeer(t, target.id);
    return { ban: copyBan(sameScope), created: false, deletedPeerIds: [target.id] };
  }
  const active = [...t.bans.values()].filter((b) => b.environment === ban.environment && t.banActive(b)).length;
  if (active >= options.maxActiveBans) {
    // A refused call changes nothing, the swept ban included.
    if (sameScope) t.bans.set(sameScope.id, sameScope);
    throw banQuotaExceeded(options.maxActiveBans);
  }
  const now = t.clock.now();
  const made: BanRecord = {
    id: ban.id,
    environment: ban.environment,
    identity: ban.identity,
    roomId: ban.roomId,
    reason: ban.reason,
    createdAt: now,
    expiresAt: ban.durationSeconds === 0 ? null : new Date(now.getTime() + ban.durationSeconds * 1000),
    seq: t.nextSeq(),
  };
  t.bans.set(made.id, made);
  const victims = [...t.peers.values()].filter(
    (p) => p.environment === ban.environment && p.identity === ban.identity && (ban.roomId === null || p.roomId === ban.roomId),
  );
  for (const p of victims) deletePeer(t, p.id);
  return { ban: copyBan(made), created: true, deletedPeerIds: victims.map((p) => p.id) };
}

function deletePeer(t: MemoryTables, peerId: string): void {
  const peer = t.peers.get(peerId)!;
  t.peers.delete(peerId);
  t.rooms.get(peer.roomId)!.peerCount -= 1;
}

/** {@link BanStore} in memory. */
export class MemoryBanStore implements BanStore {
  constructor(readonly tables: MemoryTables) {}

  async create(ban: NewBan, maxActiveBans: number): Promise<BanOutcome> {
    return memoryBan(this.tables, ban, { maxActiveBans })!;
  }

  async get(environment: Environment, banId: string): Promise<BanRecord | undefined> {
    const ban = this.tables.bans.get(banId);
    return ban && ban.environment === environment && this.tables.banActive(ban) ? copyBan(ban) : undefined;
  }

  async list(environment: Environment, filter: BanFilter, beforeSeq: string | undefined, limit: number): Promise<BanRecord[]> {
    return [...this.tables.bans.values()]
      .filter(
        (b) =>
          b.environment === environment &&
          this.tables.banActive(b) &&
          (beforeSeq === undefined || BigInt(b.seq) < BigInt(beforeSeq)) &&
          (filter.roomId === undefined || b.roomId === filter.roomId) &&
          (filter.identity === undefined || b.identity === filter.identity),
      )
      .sort((a, b) => compareSeq(b.seq, a.seq))
      .slice(0, limit)
      .map(copyBan);
  }

  async lift(environment: Environment, banId: string): Promise<BanRecord | undefined> {
    const ban = await this.get(environment, banId);
    if (ban) this.tables.bans.delete(banId);
    return ban;
  }
}
