// "Concurrent ban and CreatePeer on different instances never let a banned
// identity in." Two roomgates on one database (the second shares the first's,
// see test/support/roomgate.ts); in each round one bans an identity while the
// other creates peers of it in several rooms, all at once, with peers of
// other identities joining the same rooms meanwhile (which moves the rooms'
// event sequences under an environment-wide ban's locks); see
// test/support/ban-race.ts. Afterwards no peer of a banned identity exists in
// the ban's scope, and every CreatePeer that succeeded made a peer the ban
// then deleted. Without the identity lock (src/store/ban-rows.ts) this fails.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bannedPeers, raceBansAndJoins } from '../support/ban-race.js';
import { startTestRoomgate, type TestRoomgate } from '../support/roomgate.js';

let a: TestRoomgate;
let b: TestRoomgate;

beforeAll(async () => {
  a = await startTestRoomgate();
  b = await startTestRoomgate({}, { sharing: a });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

it('never lets a banned identity in, over many rounds of CreateBan racing CreatePeer on another instance', async () => {
  const token = await a.managementToken('sandbox');
  const outcomes = await raceBansAndJoins({ banner: a.client, joiner: b.client, token, rounds: 40, rooms: 3, label: 'direct' });
  expect(await bannedPeers(a.db.pool), 'peers of banned identities in the ban scope').toEqual([]);
  // Both orders happened, or the race was not a race.
  expect(outcomes.refused, JSON.stringify(outcomes)).toBeGreaterThan(0);
  expect(outcomes.joinedThenDeleted, JSON.stringify(outcomes)).toBeGreaterThan(0);
});
