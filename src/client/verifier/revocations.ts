import type { PeerTokenClaims } from '../../domain/peer-token-rules.js';

/** A ban as the feed announced it. */
export interface BanEntry {
  id: string;
  identity: string;
  /** The banned room; undefined for a ban of the whole environment. */
  roomId: string | undefined;
  /** When the ban ends by itself (ms); undefined while it lasts until lifted. */
  expiresAtMs: number | undefined;
}

/** How many entries of each kind are held, for tests and metrics. */
export interface RevocationCounts {
  peers: number;
  generations: number;
  rooms: number;
  bans: number;
}

/**
 * What the revocation feed has said makes tokens invalid, in memory. Every
 * entry but a ban is kept for `retainMs` after it was received: a token it
 * could refuse was issued before the revocation, so it has expired by then
 * (the verifier honours no token longer than maxTokenLifetimeSeconds, and
 * `retainMs` adds the clock tolerance). Entries are received in time order,
 * so the oldest are first in each map and pruning stops at the first one
 * still needed. Bans last until lifted, or until their own expiry.
 */
export class RevocationState {
  /** peerId → when to drop the entry (ms). */
  private readonly peers = new Map<string, number>();
  /** peerId → tokens below this generation are superseded, and when to drop. */
  private readonly generations = new Map<string, { generation: number; dropAtMs: number }>();
  /** roomId → when to drop the entry (ms). */
  private readonly rooms = new Map<string, number>();
  /** identity → its bans by id. */
  private readonly bansByIdentity = new Map<string, Map<string, BanEntry>>();
  private readonly banIdentity = new Map<string, string>();

  constructor(private readonly retainMs: number) {}

  /** Every token of the peer is REVOKED (peer deleted, room deleted, banned). */
  revokePeer(peerId: string, nowMs: number): void {
    this.peers.delete(peerId);
    this.peers.set(peerId, nowMs + this.retainMs);
    this.generations.delete(peerId);
  }

  /** The peer's tokens below `generation` are SUPERSEDED. */
  supersede(peerId: string, generation: number, nowMs: number): void {
    const known = this.generations.get(peerId);
    this.generations.delete(peerId);
    this.generations.set(peerId, { generation: Math.max(generation, known?.generation ?? 0), dropAtMs: nowMs + this.retainMs });
  }

  /** Every token of the room is REVOKED. */
  deleteRoom(roomId: string, nowMs: number): void {
    this.rooms.delete(roomId);
    this.rooms.set(roomId, nowMs + this.retainMs);
  }

  /** Tokens of the banned identity (in the room, or anywhere) are REVOKED while the ban lasts. */
  ban(entry: BanEntry): void {
    this.unban(entry.id);
    let bans = this.bansByIdentity.get(entry.identity);
    if (!bans) this.bansByIdentity.set(entry.identity, (bans = new Map()));
    bans.set(entry.id, entry);
    this.banIdentity.set(entry.id, entry.identity);
  }

  /** The ban was lifted or expired. */
  unban(banId: string): void {
    const identity = this.banIdentity.get(banId);
    if (identity === undefined) return;
    this.banIdentity.delete(banId);
    const bans = this.bansByIdentity.get(identity);
    bans?.delete(banId);
    if (bans?.size === 0) this.bansByIdentity.delete(identity);
  }

  /** Why the feed makes a token with `claims` invalid at `nowMs`, if it does. */
  check(claims: Pick<PeerTokenClaims, 'peerId' | 'roomId' | 'identity' | 'generation'>, nowMs: number): 'REVOKED' | 'SUPERSEDED' | undefined {
    if (this.peers.has(claims.peerId) || this.rooms.has(claims.roomId)) return 'REVOKED';
    const bans = this.bansByIdentity.get(claims.identity);
    if (bans) {
      for (const ban of bans.values()) {
        if ((ban.roomId === undefined || ban.roomId === claims.roomId) && (ban.expiresAtMs === undefined || nowMs < ban.expiresAtMs)) {
          return 'REVOKED';
        }
      }
    }
    const superseded = this.generations.get(claims.peerId);
    if (superseded && claims.generation < superseded.generation) return 'SUPERSEDED';
    return undefined;
  }

  /** Drops the entries no token can need any more. */
  prune(nowMs: number): void {
    dropWhile(this.peers, (dropAt) => dropAt <= nowMs);
    dropWhile(this.rooms, (dropAt) => dropAt <= nowMs);
    dropWhile(this.generations, (g) => g.dropAtMs <= nowMs);
    for (const bans of [...this.bansByIdentity.values()]) {
      for (const ban of [...bans.values()]) if (ban.expiresAtMs !== undefined && ban.expiresAtMs <= nowMs) this.unban(ban.id);
    }
  }

  /** How many entries are held. */
  counts(): RevocationCounts {
    return { peers: this.peers.size, generations: this.generations.size, rooms: this.rooms.size, bans: this.banIdentity.size };
  }
}

/** Deletes leading entries of an insertion-ordered map while `expired` holds. */
function dropWhile<V>(map: Map<string, V>, expired: (value: V) => boolean): void {
  for (const [key, value] of map) {
    if (!expired(value)) return;
    map.delete(key);
  }
}
