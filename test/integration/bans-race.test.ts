// "Concurrent ban and CreatePeer on different instances never let a banned
// identity in." Two roomgates on one database (the second shares the first's,
// see test/support/roomgate.ts); in each round one bans an identity while the
// other creates peers of it in several rooms, all at once, with peers of
// other identities joining the same rooms meanwhile (which moves the rooms'
// event sequences under an environment-wide ban's locks). Afterwards no peer
// of a banned identity exists in the ban's scope, and every CreatePeer that
// succeeded made a peer the ban then deleted.
import { status, type ServiceError } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let a: TestRoomgate;
let b: TestRoomgate;
let token: string;

beforeAll(async () => {
  a = await startTestRoomgate();
  b = await startTestRoomgate({}, { sharing: a });
  token = await a.managementToken('sandbox');
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const ROUNDS = 40;
const ROOMS = 3;

it('never lets a banned identity in, over many rounds of CreateBan racing CreatePeer on another instance', async () => {
  const rooms = await Promise.all(Array.from({ length: ROOMS }, async () => (await a.client.rooms.createRoom({}, { token })).room!.id));
  const outcomes = { joinedThenDeleted: 0, refused: 0, outOfScope: 0, roomBans: 0, environmentBans: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const identity = `racer-${round}`;
    const environmentWide = round % 2 === 0;
    const banned = environmentWide ? rooms : [rooms[round % ROOMS]!];
    const jitter = () => sleep(Math.floor(Math.random() * 4));
    const ban = jitter().then(() =>
      a.client.bans.createBan({ identity, roomId: environmentWide ? '' : banned[0] }, { token }),
    );
    const joins = rooms.map((roomId) =>
      jitter().then(() => b.client.peers.createPeer({ roomId, identity }, { token })),
    );
    const noise = rooms.map((roomId) => b.client.peers.createPeer({ roomId, identity: `bystander-${round}` }, { token }));
    const [made, ...joined] = await Promise.allSettled([ban, ...joins, ...noise]);
    if (made!.status !== 'fulfilled') throw made!.reason;
    const inScope = joined.slice(0, ROOMS).filter((_, i) => banned.includes(rooms[i]!));
    for (const j of inScope) {
      if (j.status === 'fulfilled') outcomes.joinedThenDeleted++;
      else {
        expect((j.reason as ServiceError).code, (j.reason as ServiceError).details).toBe(status.FAILED_PRECONDITION);
        outcomes.refused++;
      }
    }
    for (const j of joined.slice(0, ROOMS).filter((_, i) => !banned.includes(rooms[i]!))) {
      expect(j.status, 'a join outside the ban scope succeeds').toBe('fulfilled');
      outcomes.outOfScope++;
    }
    // Each in-scope peer that was created committed before the ban, which deleted it.
    expect(made!.value.deletedPeerCount).toBe(inScope.filter((j) => j.status === 'fulfilled').length);
    if (environmentWide) outcomes.environmentBans++;
    else outcomes.roomBans++;
  }
  const { rows } = await a.db.pool.query(
    `SELECT p.id, p.identity, p.room_id FROM peers p JOIN rooms r ON r.id = p.room_id
     JOIN bans b ON b.environment = r.environment AND b.identity = p.identity
       AND (b.room_id IS NULL OR b.room_id = p.room_id) AND (b.expires_at IS NULL OR b.expires_at > now())`,
  );
  expect(rows, 'peers of banned identities in the ban scope').toEqual([]);
  // Both orders happened, or the race was not a race.
  expect(outcomes.refused, JSON.stringify(outcomes)).toBeGreaterThan(0);
  expect(outcomes.joinedThenDeleted, JSON.stringify(outcomes)).toBeGreaterThan(0);
  console.log('bans-race outcomes', outcomes);
});
