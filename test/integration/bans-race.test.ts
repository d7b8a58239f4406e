// "Concurrent ban and CreatePeer on different instances never let a banned
// identity in." Two roomgates on one database (the second shares the first's,
// see test/support/roomgate.ts); in each round one bans an identity while the
// other creates peers of it in several rooms, all at once, with peers of
// other identities joining the same rooms meanwhile (which moves the rooms'
// event sequences under an environment-wide ban's locks); see
// test/support/ban-race.ts. Afterwards no peer of a banned identity exists in
// the ban's scope, and every CreatePeer that succeeded made a peer the ban
// then deleted. Without the identity lock (src/store/ban-rows.ts) this fails.
// The second test lines up an environment-wide ban behind a writer queued for
// one of its rooms, and checks that the stream still gives that room's events
// in sequence order; without the event_seq check of lockRooms
// (src/store/ban-writes.ts) it fails.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitUntil } from '../support/wait-until.js';
import { bannedPeers, eventsOutOfRoomOrder, raceBansAndJoins } from '../support/ban-race.js';
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
  expect(await eventsOutOfRoomOrder(a.db.pool), 'room events the stream gives out of sequence order').toEqual([]);
  // Both orders happened, or the race was not a race.
  expect(outcomes.refused, JSON.stringify(outcomes)).toBeGreaterThan(0);
  expect(outcomes.joinedThenDeleted, JSON.stringify(outcomes)).toBeGreaterThan(0);
});

it('keeps each room in sequence order in the stream when an environment-wide ban waits for a room another writer is queued for', async () => {
  const token = await a.managementToken('sandbox');
  const pool = a.db.pool;
  const rooms = await Promise.all([0, 1].map(async () => (await a.client.rooms.createRoom({}, { token })).room!.id));
  // The ban locks its rooms in id order: it takes `first`, then waits for `second`.
  const [first, second] = rooms.sort() as [string, string];
  const identity = 'queued-behind';
  for (const roomId of rooms) await a.client.peers.createPeer({ roomId, identity }, { token });
  const waiting = (count: number) =>
    waitUntil(async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows[0]!.n >= count;
    }, 5_000, 10);
  const holder = await pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [second]);
    // A writer queues for `second` first, then the ban, which by then holds
    // `first` and so has its transaction id: the writer will get a later one.
    const update = b.client.rooms.updateRoom({ roomId: second, metadata: '{"queued":true}' }, { token });
    await waiting(1);
    const ban = a.client.bans.createBan({ identity }, { token });
    await waiting(2);
    await holder.query('COMMIT');
    await update;
    expect((await ban).deletedPeerCount).toBe(2);
  } finally {
    holder.release();
  }
  expect(await eventsOutOfRoomOrder(pool), 'room events the stream gives out of sequence order').toEqual([]);
  const { rows } = await pool.query<{ type: string }>(
    'SELECT type FROM events WHERE room_id = $1 ORDER BY txid, position',
    [second],
  );
  // The writer's event, then the ban's (its BAN_CREATED has no room).
  expect(rows.map((r) => r.type).slice(-3)).toEqual(['room_updated', 'peer_deleted', 'peer_token_revoked']);
});
