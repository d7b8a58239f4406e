// Rounds of CreateBan racing CreatePeer of the same identity, for the bans
// race tests (bans-race.test.ts, bans-pgbouncer.test.ts). Each round bans an
// identity through one client (room and environment-wide bans alternate)
// while the other creates peers of it in every room, and peers of another
// identity join the same rooms meanwhile. Isolation is the caller's: rooms
// and identities are new per call (`label`), on whatever database the
// clients' servers share.
import { status, type ServiceError } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { expect } from 'vitest';
import type { RoomgateClient } from '../../src/client/index.js';

/** How the rounds came out. */
export interface RaceOutcomes {
  /** In-scope CreatePeer calls that succeeded: each committed before the ban, which deleted the peer. */
  joinedThenDeleted: number;
  /** In-scope CreatePeer calls refused with FAILED_PRECONDITION. */
  refused: number;
  /** CreatePeer calls outside the ban's scope, which all succeeded. */
  outOfScope: number;
}

/** Runs the rounds, checking each; returns how they came out. */
export async function raceBansAndJoins(
  options: { banner: RoomgateClient; joiner: RoomgateClient; token: string; rounds: number; rooms: number; label: string },
): Promise<RaceOutcomes> {
  const { banner, joiner, token, label } = options;
  const rooms = await Promise.all(
    Array.from({ length: options.rooms }, async () => (await banner.rooms.createRoom({}, { token })).room!.id),
  );
  const outcomes: RaceOutcomes = { joinedThenDeleted: 0, refused: 0, outOfScope: 0 };
  for (let round = 0; round < options.rounds; round++) {
    const identity = `${label}-racer-${round}`;
    const environmentWide = round % 2 === 0;
    const banned = environmentWide ? rooms : [rooms[round % rooms.length]!];
    const jitter = () => sleep(Math.floor(Math.random() * 4));
    const ban = jitter().then(() => banner.bans.createBan({ identity, roomId: environmentWide ? '' : banned[0] }, { token }));
    const joins = rooms.map((roomId) => jitter().then(() => joiner.peers.createPeer({ roomId, identity }, { token })));
    const noise = rooms.map((roomId) => joiner.peers.createPeer({ roomId, identity: `${label}-bystander-${round}` }, { token }));
    const [made, ...settled] = await Promise.allSettled([ban, ...joins, ...noise]);
    if (made!.status !== 'fulfilled') throw made!.reason;
    const joined = settled.slice(0, rooms.length);
    let inScopeJoined = 0;
    joined.forEach((j, i) => {
      const inScope = banned.includes(rooms[i]!);
      if (j.status === 'fulfilled') {
        if (inScope) inScopeJoined++;
        else outcomes.outOfScope++;
        return;
      }
      const err = j.reason as ServiceError;
      expect(inScope, `a join outside the ban's scope failed: ${err.details}`).toBe(true);
      expect(err.code, err.details).toBe(status.FAILED_PRECONDITION);
      outcomes.refused++;
    });
    outcomes.joinedThenDeleted += inScopeJoined;
    expect(made!.value.deletedPeerCount, `round ${round}: peers the ban deleted`).toBe(inScopeJoined);
  }
  return outcomes;
}

/** Peers whose identity an active ban keeps out of their room: none may exist. */
export async function bannedPeers(pool: pg.Pool): Promise<unknown[]> {
  const { rows } = await pool.query(
    `SELECT p.id, p.identity, p.room_id FROM peers p JOIN rooms r ON r.id = p.room_id
     JOIN bans b ON b.environment = r.environment AND b.identity = p.identity
       AND (b.room_id IS NULL OR b.room_id = p.room_id) AND (b.expires_at IS NULL OR b.expires_at > now())`,
  );
  return rows;
}

/**
 * Room events that the stream (ordered by transaction id, then position)
 * gives out of their room's sequence order: none may exist. An
 * environment-wide ban writes events in several rooms in one transaction, so
 * it must not wait for a room while holding a transaction id that a later
 * writer of that room could undercut (see lockRooms in src/store/ban-writes.ts).
 */
export async function eventsOutOfRoomOrder(pool: pg.Pool): Promise<unknown[]> {
  const { rows } = await pool.query(
    `SELECT room_id, room_seq, before FROM (
       SELECT room_id, room_seq, lag(room_seq) OVER (PARTITION BY room_id ORDER BY txid, position) AS before
       FROM events WHERE room_id IS NOT NULL) s
     WHERE room_seq <= before`,
  );
  return rows;
}
